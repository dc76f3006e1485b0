"""Serving an emulator over real HTTP on loopback: `serve()`, `with_latency()` and the CLI.

`python -m fal.emulator --port N [--host 127.0.0.1] [--latency SECONDS] [--fault MODE]`
serves the bundled snapshot at `http://HOST:N/v1` until interrupted; `--latency` delays
every answer, `--fault` answers through `fal.testing.FaultUpstream` in that mode.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import math
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from fal.emulator.snapshot import dated_emulator, history_dates, snapshot_emulator


def is_loopback(host: str) -> bool:
    """True for "localhost" and loopback IP literals; names are never resolved."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class EmulatorServer(socketserver.ThreadingMixIn, WSGIServer):
    """A threaded wsgiref server; ``url`` is its ``/v1`` base, ``shutdown()`` stops and closes."""

    daemon_threads = True
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        host = self.server_address[0]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/v1"

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-response is not worth a traceback

    def shutdown(self) -> None:
        super().shutdown()
        self.server_close()


class _EmulatorServer6(EmulatorServer):
    address_family = socket.AF_INET6


def serve(app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
    """Serve ``app`` on a loopback address from a daemon thread; port 0 picks a free one."""
    if not is_loopback(host):
        raise ValueError(f"Refusing to serve on {host!r}: loopback addresses only")
    server_class = _EmulatorServer6 if ":" in host else EmulatorServer
    server = server_class((host, port), _QuietHandler)
    server.set_app(app)
    server.thread = threading.Thread(
        target=server.serve_forever, name=f"fal-emulator-{server.port}", daemon=True
    )
    server.thread.start()
    return server


def with_latency(app: Callable[..., Iterable[bytes]], seconds: float) -> Callable[..., Any]:
    """`app`, answering every request `seconds` later (WSGI middleware); 0 returns `app`."""
    if seconds <= 0:
        return app

    def delayed(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        time.sleep(seconds)
        return app(environ, start_response)

    return delayed


def start(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency: float = 0.0,
    fault: str | None = None,
    as_of: str | None = None,
) -> tuple[str, Callable[[], None]]:
    """Serve the bundled snapshot, or the bundled crawl of date `as_of` (slowed by `latency`,
    or in fault mode `fault`): (url, stop).

    Raises ValueError for a host that is not loopback or options that do not go together,
    OSError when the port cannot be bound.
    """
    if not is_loopback(host):
        raise ValueError(f"Refusing to serve on {host!r}: loopback addresses only")
    if not math.isfinite(latency) or latency < 0:
        raise ValueError(f"--latency must be a number of seconds >= 0, not {latency:g}")
    # Load the data before announcing the URL.
    app = dated_emulator(as_of) if as_of else snapshot_emulator()
    if fault is None:
        server = serve(with_latency(app, latency), host, port)
        return server.url, server.shutdown
    if latency:
        raise ValueError("--latency and --fault do not combine: the fault server has no WSGI")
    from fal.testing.faults import FaultUpstream  # it imports this package

    upstream = FaultUpstream(app, host=host, port=port)
    upstream.set_mode(fault)
    upstream.start()
    return upstream.url, upstream.stop


def wait_until_interrupted() -> None:
    """Sleep in short steps until Ctrl-C (short steps keep it responsive)."""
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(0.5)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fal.emulator",
        description="Serve fal's GET /v1/models from the bundled offline snapshot on loopback.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The CLI's options, shared with `manage.py fal_emulator`."""
    from fal.testing.faults import MODES  # it imports this package

    parser.add_argument("--port", type=int, required=True, help="TCP port (0: any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="delay every answer by this many seconds"
    )
    parser.add_argument("--fault", choices=MODES, help="answer in this failure mode")
    parser.add_argument(
        "--as-of",
        choices=history_dates(),
        help="serve the catalog as the bundled crawl of this date recorded it",
    )


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """The `python -m fal.emulator` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    try:
        url, stop = start(
            host=args.host, port=args.port, latency=args.latency, fault=args.fault, as_of=args.as_of
        )
    except ValueError as exc:
        parser.error(str(exc))
    except OSError as exc:
        parser.exit(1, f"Cannot listen on {args.host}:{args.port}: {exc}\n")
    mode = f" ({args.fault})" if args.fault else ""
    print(f"fal emulator on {url}{mode}", file=out, flush=True)
    wait_until_interrupted()
    # A second Ctrl-C may cut shutdown short: the serving thread is a daemon anyway.
    with contextlib.suppress(KeyboardInterrupt):
        stop()
    return 0
