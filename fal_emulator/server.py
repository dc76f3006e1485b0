"""Serving an emulator over real HTTP on loopback: `serve()` and `with_latency()`.

The command line that serves the bundled snapshot is fal_emulator.cli.
"""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer


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
    def _host(self) -> str:
        # An AF_INET/AF_INET6 server's host is a str; typeshed's address type allows bytes too.
        host = self.server_address[0]
        return host if isinstance(host, str) else host.decode()

    @property
    def url(self) -> str:
        host = self._host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/v1"

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self._host, self.port
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
