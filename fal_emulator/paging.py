"""The emulator's query parameters and paging, on every path: parameters by name (some once
only), fal's cursors (a page number in base64) and `limit`."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from fal_emulator.envelope import ApiError

_DIGITS = re.compile(r"[0-9]+")
_BASE64 = re.compile(r"[A-Za-z0-9_\-+/]+={0,2}")
_MAX_DIGITS: Final = 18  # any longer number is past every answer; avoids int() on huge strings


def query_params(
    query: list[tuple[str, str]], single_valued: tuple[str, ...]
) -> dict[str, list[str]]:
    """The query's values by name, in order; a 400 when one of `single_valued` repeats."""
    params: dict[str, list[str]] = {}
    for key, value in query:
        params.setdefault(key, []).append(value)
    for key in single_valued:
        if len(params.get(key, ())) > 1:
            raise ApiError(f"Parameter {key!r} takes a single value")
    return params


def encode_cursor(page: int) -> str:
    """The cursor for a 1-based page: unpadded URL-safe base64 of the decimal number."""
    return base64.urlsafe_b64encode(str(page).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The page a cursor names; padding and the standard alphabet are accepted, else 400."""
    if not _BASE64.fullmatch(cursor):
        raise ApiError(f"Invalid cursor {cursor!r}: not a cursor returned by this API")
    core = cursor.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        raw = base64.urlsafe_b64decode(core + "=" * (-len(core) % 4))
    except (binascii.Error, ValueError):
        raise ApiError(f"Invalid cursor {cursor!r}: not a cursor returned by this API") from None
    text = raw.decode("ascii", "replace")
    number = text.lstrip("0")
    if not _DIGITS.fullmatch(text) or not number:
        raise ApiError(f"Invalid cursor {cursor!r}: not a cursor returned by this API")
    if len(number) > _MAX_DIGITS:
        return 10**_MAX_DIGITS  # far past the end of any answer
    return int(number)


def parse_limit(value: str, maximum: int) -> int:
    """ASCII digits >= 1 (else 400), clamped to `maximum`."""
    if not _DIGITS.fullmatch(value):
        raise ApiError(f"Invalid limit {value!r}: must be an integer >= 1")
    stripped = value.lstrip("0")
    if not stripped:
        raise ApiError(f"Invalid limit {value!r}: must be an integer >= 1")
    if len(stripped) > _MAX_DIGITS:
        return maximum
    return min(int(stripped), maximum)
