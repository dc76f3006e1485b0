"""A fault-injecting fal upstream over real HTTP on loopback: the emulator, or one failure mode.

`FaultUpstream` is a small threaded HTTP/1.1 server (raw sockets, so it can stall, trickle,
truncate and reset) in front of `fal_emulator.Emulator`. A test flips `mode` at any
time; every later request gets that behaviour. Every failing body carries `MARKER`, which
must never reach a page, and a fake traceback, which must never reach one either. Used by
tests/catalog/test_faults.py, tests/catalog/test_key_never_leaks.py, bench/soak.py and
`python -m fal_emulator --fault MODE`; pure Python, no Django.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fal_emulator.app import Emulator, snapshot_emulator
from fal_emulator.envelope import Response
from fal_emulator.server import is_loopback

MARKER = "UPSTREAM-BODY-MARKER-7f3c"
TRACEBACK = 'Traceback (most recent call last):\n  File "/srv/fal/api.py", line 42, in models'

# Each failure mode, and what a user of the dashboard should see instead of it.
FAILURE_MODES = {
    "timeout": "no answer at all (the connection stays open)",
    "slow": "200 whose body trickles in, each byte within the read timeout, never finishing",
    "429": "429 rate limited with Retry-After: 1",
    "500": "500 with a plain-text traceback",
    "502": "502 HTML page from a proxy",
    "503": "503 with fal's JSON error envelope",
    "html403": "403 HTML challenge page with a script",
    "not_json": "200 with an HTML body",
    "wrong_shape": "200 with JSON of the wrong shape",
    "truncated": "200 whose body stops halfway (Content-Length not reached)",
    "reset": "TCP reset after the request is read",
    "find404": "404 not_found for every find-mode request (list and search stay healthy)",
}
MODES = ("healthy", *FAILURE_MODES)
# The modes that never finish answering: the client waits for its timeout. The rest answer
# at once, so a test can give the client a long timeout for them without slowing down.
WAITING_MODES = frozenset({"timeout", "slow"})

_HTML_403 = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title>"
    "<script>window.__xss = 1; alert('challenge')</script></head>"
    f"<body><h1>Checking your browser</h1><p>{MARKER}</p><pre>{TRACEBACK}</pre></body></html>"
)
_HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    f"</h1></center><hr><center>nginx</center><!-- {MARKER} --></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real API: the client reuses connections
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        upstream = self.server.upstream
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        mode = upstream.mode
        upstream.record(mode, self.command, url.path, query, dict(self.headers.items()))
        if mode == "timeout":
            upstream.stopping.wait(upstream.stall_seconds)
            self.close_connection = True
            return
        if mode == "reset":
            # SO_LINGER 0: close() sends RST instead of FIN, a "connection reset by peer".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if mode == "find404" and any(key == "endpoint_id" for key, _ in query):
            status, headers, body = _envelope(404, "not_found", "No model found", MARKER)
        elif mode == "429":
            status, headers, body = _envelope(429, "rate_limited", "Too many requests", MARKER)
            headers.append(("Retry-After", "1"))
        elif mode == "500":
            status, headers, body = 500, [("Content-Type", "text/plain")], _text(TRACEBACK, MARKER)
        elif mode == "502":
            status, headers, body = 502, [("Content-Type", "text/html")], _HTML_502.encode()
        elif mode == "503":
            status, headers, body = _envelope(
                503, "service_unavailable", "Service temporarily unavailable", MARKER
            )
        elif mode == "html403":
            status, headers, body = 403, [("Content-Type", "text/html")], _HTML_403.encode()
        elif mode == "not_json":
            status, headers = 200, [("Content-Type", "text/html")]
            body = f"<html><body>{MARKER}<pre>{TRACEBACK}</pre></body></html>".encode()
        elif mode == "wrong_shape":
            status, headers = 200, [("Content-Type", "application/json")]
            body = json.dumps({"data": [], "note": MARKER, "trace": TRACEBACK}).encode()
        else:  # healthy, find404 in list mode, and the real bodies that slow/truncated spoil
            status, headers, body = upstream.emulator.handle(
                self.command, url.path, query, authorization=self.headers.get("Authorization")
            )
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if mode in ("slow", "truncated"):
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if mode == "truncated":
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        elif mode == "slow":
            self._trickle(body)
        else:
            self.wfile.write(body)

    def _trickle(self, body: bytes) -> None:
        """A few bytes at a time, each gap shorter than any read timeout, for a bounded time."""
        upstream = self.server.upstream
        stop_at = time.monotonic() + upstream.stall_seconds
        for start in range(0, len(body), 16):
            if upstream.stopping.wait(upstream.trickle_interval) or time.monotonic() > stop_at:
                break
            try:
                self.wfile.write(body[start : start + 16])
            except OSError:
                break  # the client gave up: good
        self.close_connection = True


def _envelope(status: int, kind: str, message: str, extra: str) -> Response:
    payload: dict[str, object] = {
        "error": {"type": kind, "message": message, "request_id": "req-fault"}
    }
    payload["debug"] = f"{extra}\n{TRACEBACK}"  # not part of fal's envelope: never shown
    return status, [("Content-Type", "application/json")], json.dumps(payload).encode()


def _text(*parts: str) -> bytes:
    return "\n".join(parts).encode()


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    upstream: FaultUpstream

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on stalled answers is the point of this server


class FaultUpstream:
    """`GET /v1/models` on loopback (port 0: any free one) with a switchable `mode` (see MODES)."""

    def __init__(
        self,
        emulator: Emulator | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stall_seconds: float = 8.0,
        trickle_interval: float = 0.1,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"Refusing to serve on {host!r}: loopback addresses only")
        self.emulator = emulator or snapshot_emulator()
        self.host = host
        self.port = port
        self.stall_seconds = stall_seconds
        self.trickle_interval = trickle_interval
        self.mode = "healthy"
        self.stopping = threading.Event()
        self.requests: deque[dict[str, Any]] = deque(maxlen=5000)
        self._lock = threading.Lock()
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://{self.host}:{self._server.server_address[1]}/v1"

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode

    def record(
        self,
        mode: str,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
    ) -> None:
        with self._lock:
            self.requests.append(
                {"mode": mode, "method": method, "path": path, "query": query, "headers": headers}
            )

    def start(self) -> FaultUpstream:
        self.stopping.clear()
        self._server = _Server((self.host, self.port), _Handler)
        self._server.upstream = self
        threading.Thread(
            target=self._server.serve_forever, name="fault-upstream", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes stalled and trickling handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
