"""Talking to servers on 127.0.0.1 only: a free port, and one GET on a new connection."""

from __future__ import annotations

import http.client
import socket

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]  # (host, port) for an AF_INET socket
        return port


def request(
    base_url: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """One GET to a loopback server on a new connection: (status, headers, body)."""
    if not base_url.startswith(f"http://{HOST}:"):
        raise ValueError(f"loopback only: {base_url}")
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()
