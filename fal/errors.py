"""The client's error hierarchy, and the one rule for which failures are transient or retried."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

MAX_MESSAGE_LENGTH = 300
# The statuses a call retries at once. A 500 is transient (try again later) but is usually
# a bug that answers the same way again, so it is not retried within one call.
RETRIED_STATUSES = frozenset({429, 502, 503, 504})


class FalAPIError(Exception):
    """Base of every error this client raises; views catch this one class."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,  # noqa: A002 - the envelope's own field name
        docs_url: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.docs_url = docs_url
        self.request_id = request_id

    @property
    def transient(self) -> bool:
        """Whether trying again later may succeed (rate limits, outages, network)."""
        return False

    @property
    def retryable(self) -> bool:
        """Whether the client tries again within the same call: transient, and not a 500."""
        return self.transient and self.status in RETRIED_STATUSES


class FalConnectionError(FalAPIError):
    """The API could not be reached (DNS, refused, reset)."""

    @property
    def transient(self) -> bool:
        return True

    @property
    def retryable(self) -> bool:
        return self.transient  # no status: every connection failure is retried


class FalTimeoutError(FalConnectionError):
    """The API did not answer within the timeout."""


class FalInvalidResponseError(FalAPIError):
    """The API answered with something that is not the documented JSON."""


class FalHTTPError(FalAPIError):
    """The API answered with an error status and (usually) its error envelope."""


class FalBadRequestError(FalHTTPError):
    """400: the parameters were rejected (`validation_error`)."""


class FalAuthenticationError(FalHTTPError):
    """401: the key is missing or wrong."""


class FalPermissionDeniedError(FalHTTPError):
    """403: the key may not do this (or a proxy blocked the request)."""


class FalNotFoundError(FalHTTPError):
    """404: nothing matched (for example, unknown endpoint ids in find mode)."""


class FalRateLimitError(FalHTTPError):
    """429: too many requests; `retry_after` is in seconds when the API said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return True


class FalServerError(FalHTTPError):
    """5xx: the API failed."""

    @property
    def transient(self) -> bool:
        return True


_ERROR_CLASS_BY_STATUS: dict[int, type[FalHTTPError]] = {
    400: FalBadRequestError,
    401: FalAuthenticationError,
    403: FalPermissionDeniedError,
    404: FalNotFoundError,
    429: FalRateLimitError,
}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def error_from_response(response: requests.Response) -> FalHTTPError:
    """Build the typed error for a non-2xx answer, from the error envelope when there is one."""
    status = response.status_code
    envelope: dict[str, Any] = {}
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            envelope = body["error"]
    except ValueError:
        pass  # An HTML page from a proxy or challenge: never echo its body.
    message = _text(envelope.get("message")).strip() or f"The fal API answered HTTP {status}"
    if len(message) > MAX_MESSAGE_LENGTH:  # shown to users: keep it a message, not a page
        message = message[: MAX_MESSAGE_LENGTH - 1] + "…"
    kwargs: dict[str, Any] = {
        "status": status,
        "type": _text(envelope.get("type")) or None,
        "docs_url": _text(envelope.get("docs_url")) or None,
        "request_id": _text(envelope.get("request_id")) or response.headers.get("x-request-id"),
    }
    if status == 429:
        return FalRateLimitError(
            message, retry_after=_retry_after_seconds(response.headers.get("Retry-After")), **kwargs
        )
    if status >= 500:
        return FalServerError(message, **kwargs)
    return _ERROR_CLASS_BY_STATUS.get(status, FalHTTPError)(message, **kwargs)
