"""``manage.py fal_emulator``: serve the offline ``GET /v1/models`` emulator on loopback."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fal_emulator.cli import add_arguments, start, wait_until_interrupted


class Command(BaseCommand):
    help = "Serve fal's GET /v1/models from the bundled offline snapshot on a loopback address."

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)  # the options of `python -m fal_emulator`

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        latency: float,
        fault: str | None,
        as_of: str | None = None,
        **options: Any,
    ) -> None:
        try:
            url, stop = start(host=host, port=port, latency=latency, fault=fault, as_of=as_of)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from exc
        self.stdout.write(f"fal emulator on {url}" + (f" ({fault})" if fault else ""))
        self.stdout.flush()
        wait_until_interrupted()
        # A second Ctrl-C may cut shutdown short: the serving thread is a daemon anyway.
        with contextlib.suppress(KeyboardInterrupt):
            stop()
