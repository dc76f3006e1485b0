"""``manage.py fal_emulator``: serve the offline ``GET /v1/models`` emulator on loopback."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.emulator import is_loopback, serve, snapshot_emulator


class Command(BaseCommand):
    help = "Serve fal's GET /v1/models from the bundled offline snapshot on a loopback address."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, required=True, help="TCP port (0: any free one)")
        parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        if not is_loopback(host):
            raise CommandError(f"Refusing to serve on {host!r}: use a loopback address")
        app = snapshot_emulator()  # load the snapshot before announcing the URL
        try:
            server = serve(app, host, port)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from exc
        self.stdout.write(f"fal emulator on {server.url}")
        self.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            while server.thread.is_alive():
                server.thread.join(0.5)  # short joins keep Ctrl-C responsive
        # A second Ctrl-C may cut shutdown short: the serving thread is a daemon anyway.
        with contextlib.suppress(KeyboardInterrupt):
            server.shutdown()
