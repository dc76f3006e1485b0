"""What every emulated answer is made of: JSON bytes, headers and fal's error envelope."""

from __future__ import annotations

import json
import uuid
from typing import Any

DOCS_URL = "https://docs.fal.ai/model-apis"

Response = tuple[int, list[tuple[str, str]], bytes]


class ApiError(Exception):
    """A request answered with an error envelope (400 validation_error unless told otherwise)."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        kind: str = "validation_error",
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind
        self.headers = headers or {}


def json_bytes(payload: Any) -> bytes:
    # ASCII-escaped, so any str (even a lone surrogate from a direct caller) encodes.
    return json.dumps(payload, separators=(",", ":")).encode("ascii")


def json_headers(body: bytes) -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]


def json_response(payload: Any) -> Response:
    body = json_bytes(payload)
    return 200, json_headers(body), body


def error_response(status: int, kind: str, message: str, **extra_headers: str) -> Response:
    """An error envelope as fal's Platform API sends it."""
    body = json_bytes(
        {
            "error": {
                "type": kind,
                "message": message,
                "docs_url": DOCS_URL,
                "request_id": uuid.uuid4().hex,
            }
        }
    )
    return status, json_headers(body) + list(extra_headers.items()), body


def method_not_allowed(method: str, path: str, allowed: tuple[str, ...]) -> Response:
    """fal's 405 on every path: a validation_error naming the method to use, with `Allow`."""
    return error_response(
        405,
        "validation_error",
        f"Method {method} is not allowed on {path}; use {allowed[0]}",
        Allow=", ".join(allowed),
    )
