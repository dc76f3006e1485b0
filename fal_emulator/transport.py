"""`WSGITransport`: a requests adapter that answers from a WSGI app in this process."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


class WSGITransport(BaseAdapter):
    """A requests adapter that hands each request to a WSGI app in this process."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """`BaseAdapter.send`'s signature; the options are for the network and unused here."""
        url = urlsplit(request.url or "")
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        environ = {
            "REQUEST_METHOD": request.method or "GET",
            "SCRIPT_NAME": "",
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "SERVER_NAME": url.hostname or "localhost",
            "SERVER_PORT": str(url.port or (443 if url.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url.scheme or "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in request.headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        started: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> None:
            started["status"], started["headers"] = status, headers

        chunks = self.app(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        response = requests.Response()
        response.status_code = int(started["status"].split(" ", 1)[0])
        response.reason = started["status"].split(" ", 1)[-1]
        response.headers = CaseInsensitiveDict(started["headers"])
        response._content = content
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass
