"""Client for fal's Platform API `GET /v1/models`: typed results, typed errors, retries.

No Django here: the client is configured by its caller (see `catalog/services.py`) and
returns frozen dataclasses, never raw dicts. It is the only module that imports
`requests`. `WSGITransport` lets the same code path reach an in-process WSGI app (the
offline emulator) instead of the network, so only the transport differs.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

logger = logging.getLogger(__name__)

MAX_IDS_PER_REQUEST = 50
EXPAND_OPENAPI = "openapi-3.0"
EXPAND_ENTERPRISE_STATUS = "enterprise_status"
EXPAND_VALUES = (EXPAND_OPENAPI, EXPAND_ENTERPRISE_STATUS)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# What fal endpoint ids look like: owner/model[/variant…] (e.g. fal-ai/flux/dev).
ENDPOINT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)+$"
MAX_ENDPOINT_ID_LENGTH = 200
_ENDPOINT_ID = re.compile(ENDPOINT_ID_PATTERN)
# Far beyond any real page (ten models with OpenAPI documents are a few MB).
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_MESSAGE_LENGTH = 300
_READ_CHUNK = 64 * 1024
# Entries whose id cannot even be a URL path at fal (fal.run/<id>) are skipped: whitespace,
# control characters and lone surrogates would break every link built from them. Ids
# that are merely unusual stay (shown as text; is_endpoint_id() decides about links).
MAX_USABLE_ID_LENGTH = 1000
_UNUSABLE_ID = re.compile(r"[\s\x00-\x1f\x7f\ud800-\udfff]")
# JSON may escape half of a UTF-16 surrogate pair; such a str cannot be encoded as UTF-8,
# so no page showing it could be sent. Paired escapes (emoji) decode to one character.
_LONE_SURROGATE_ESCAPE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def is_endpoint_id(value: str) -> bool:
    """Whether `value` is shaped like a fal endpoint id (not whether fal knows it)."""
    return len(value) <= MAX_ENDPOINT_ID_LENGTH and _ENDPOINT_ID.match(value) is not None


# --- Errors ------------------------------------------------------------------------------


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


class FalConnectionError(FalAPIError):
    """The API could not be reached (DNS, refused, reset)."""

    @property
    def transient(self) -> bool:
        return True


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


# --- Results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpansionError:
    """An `expand` value the API could not produce for one model."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    label: str


@dataclass(frozen=True, slots=True)
class ModelMetadata:
    """A model's registry entry. Optional or missing fields are "" / None / ()."""

    display_name: str = ""
    category: str = ""
    description: str = ""
    status: str = ""
    tags: tuple[str, ...] = ()
    updated_at: str = ""
    date: str = ""
    thumbnail_url: str = ""
    thumbnail_animated_url: str = ""
    model_url: str = ""
    github_url: str = ""
    stream_url: str = ""
    license_type: str = ""
    kind: str = ""
    group: Group | None = None
    training_endpoint_ids: tuple[str, ...] = ()
    inference_endpoint_ids: tuple[str, ...] = ()
    duration_estimate: float | None = None
    is_favorited: bool | None = None


@dataclass(frozen=True, slots=True)
class Model:
    """One entry of `models`. `openapi` and `enterprise_status` are set only when expanded."""

    endpoint_id: str
    metadata: ModelMetadata | None = None
    # The OpenAPI document is kept as parsed JSON: treat it as read-only.
    openapi: dict[str, Any] | ExpansionError | None = field(default=None, compare=False)
    enterprise_status: str | ExpansionError | None = None


@dataclass(frozen=True, slots=True)
class Page:
    models: tuple[Model, ...]
    next_cursor: str | None
    has_more: bool


# --- Parsing: tolerate what the spec allows, reject what it does not -----------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def _usable_id(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_USABLE_ID_LENGTH
        and not _UNUSABLE_ID.search(value)
    )


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(item for item in _texts(value) if _usable_id(item))


def _expansion_error(value: Any) -> ExpansionError | None:
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        error = value["error"]
        return ExpansionError(
            code=_text(error.get("code")) or "unknown", message=_text(error.get("message"))
        )
    return None


def parse_metadata(data: Any) -> ModelMetadata | None:
    if not isinstance(data, dict):
        return None
    group = data.get("group")
    duration = data.get("duration_estimate")
    favorited = data.get("is_favorited")
    return ModelMetadata(
        display_name=_text(data.get("display_name")),
        category=_text(data.get("category")),
        description=_text(data.get("description")),
        status=_text(data.get("status")),
        tags=_texts(data.get("tags")),
        updated_at=_text(data.get("updated_at")),
        date=_text(data.get("date")),
        thumbnail_url=_text(data.get("thumbnail_url")),
        thumbnail_animated_url=_text(data.get("thumbnail_animated_url")),
        model_url=_text(data.get("model_url")),
        github_url=_text(data.get("github_url")),
        stream_url=_text(data.get("stream_url")),
        license_type=_text(data.get("license_type")),
        kind=_text(data.get("kind")),
        group=(
            Group(key=_text(group.get("key")), label=_text(group.get("label")))
            if isinstance(group, dict) and (group.get("key") or group.get("label"))
            else None
        ),
        training_endpoint_ids=_ids(data.get("training_endpoint_ids")),
        inference_endpoint_ids=_ids(data.get("inference_endpoint_ids")),
        duration_estimate=(
            float(duration)
            if isinstance(duration, int | float) and not isinstance(duration, bool)
            else None
        ),
        is_favorited=favorited if isinstance(favorited, bool) else None,
    )


def parse_model(data: Any) -> Model | None:
    """One `models` entry, or None when it has no usable `endpoint_id`."""
    if not isinstance(data, dict):
        return None
    endpoint_id = data.get("endpoint_id")
    if not _usable_id(endpoint_id):
        return None
    openapi: dict[str, Any] | ExpansionError | None = None
    if "openapi" in data:
        raw = data["openapi"]
        openapi = _expansion_error(raw) or (
            raw
            if isinstance(raw, dict)
            else ExpansionError("invalid_response", "The API sent no usable OpenAPI document")
        )
    enterprise_status: str | ExpansionError | None = None
    if "enterprise_status" in data:
        raw = data["enterprise_status"]
        enterprise_status = (
            raw
            if isinstance(raw, str)
            else _expansion_error(raw)
            or ExpansionError("invalid_response", "The API sent no usable enterprise status")
        )
    return Model(
        endpoint_id=endpoint_id,
        metadata=parse_metadata(data.get("metadata")),
        openapi=openapi,
        enterprise_status=enterprise_status,
    )


def parse_page(data: Any) -> Page:
    """A whole 200 answer; a body of the wrong shape raises FalInvalidResponseError."""
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise FalInvalidResponseError("The API answered with JSON of an unexpected shape")
    models = []
    for raw in data["models"]:
        model = parse_model(raw)
        if model is None:
            logger.warning("Skipped a model entry without a usable endpoint_id")
            continue
        models.append(model)
    next_cursor = data.get("next_cursor")
    if not isinstance(next_cursor, str) or not next_cursor:
        next_cursor = None
    has_more = data.get("has_more")
    if not isinstance(has_more, bool):
        has_more = next_cursor is not None
    # A page that claims more but gives no cursor cannot be followed: treat it as the end.
    return Page(
        models=tuple(models), next_cursor=next_cursor, has_more=has_more and bool(next_cursor)
    )


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


# --- Query -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelsQuery:
    """The parameters of one `GET /models` request, in a canonical, hashable form."""

    endpoint_ids: tuple[str, ...] = ()
    q: str = ""
    category: str = ""
    status: str = ""
    expand: tuple[str, ...] = ()
    limit: int | None = None

    def params(self, cursor: str | None = None) -> list[tuple[str, str]]:
        """Query string pairs; repeated keys for `endpoint_id` and `expand`, as the API wants."""
        pairs = [("endpoint_id", endpoint_id) for endpoint_id in self.endpoint_ids]
        pairs += [
            (name, value) for name in ("q", "category", "status") if (value := getattr(self, name))
        ]
        pairs += [("expand", value) for value in self.expand]
        if self.limit is not None:
            pairs.append(("limit", str(self.limit)))
        if cursor:
            pairs.append(("cursor", cursor))
        return pairs


def find_queries(
    endpoint_ids: Sequence[str], *, expand: Sequence[str] = (), **search: str
) -> list[ModelsQuery]:
    """Find-mode queries for any number of ids: distinct ids, 50 per request, order kept."""
    wanted = list(dict.fromkeys(endpoint_ids))
    return [
        ModelsQuery(
            endpoint_ids=tuple(wanted[start : start + MAX_IDS_PER_REQUEST]),
            expand=tuple(expand),
            **search,
        )
        for start in range(0, len(wanted), MAX_IDS_PER_REQUEST)
    ]


# --- Transport for in-process WSGI apps -------------------------------------------------------


class WSGITransport(BaseAdapter):
    """A requests adapter that hands each request to a WSGI app in this process."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
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

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
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


# --- The client --------------------------------------------------------------------------------


class FalModelsClient:
    """`GET {base_url}/models` with a timeout on every call and bounded, transient-only retries."""

    def __init__(
        self,
        *,
        base_url: str,
        key: str = "",
        timeout: float = 10.0,
        max_retries: int = 2,
        retry_after_cap: float = 5.0,
        backoff: float = 0.25,
        session_factory: Callable[[], requests.Session] = requests.Session,
        wsgi_app: Callable[..., Iterable[bytes]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`wsgi_app`: answer from this in-process WSGI app instead of the network."""
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.retry_after_cap = retry_after_cap
        self.backoff = backoff
        self._session_factory = session_factory
        self._wsgi_app = wsgi_app
        self._sleep = sleep
        self._local = threading.local()  # requests.Session is not thread-safe: one per thread.

    def __repr__(self) -> str:  # Never show the key.
        return f"FalModelsClient(base_url={self.base_url!r}, key={'set' if self._key else 'unset'})"

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._session_factory()
            if self._wsgi_app is not None:
                session.mount(self.base_url, WSGITransport(self._wsgi_app))
        return session

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "fal-catalog-dashboard/0.1"}
        if self._key:
            headers["Authorization"] = f"Key {self._key}"
        return headers

    def get_page(self, query: ModelsQuery, cursor: str | None = None) -> Page:
        """One page of results for `query`, starting at `cursor`."""
        return parse_page(self.get_page_json(query, cursor))

    def get_page_json(self, query: ModelsQuery, cursor: str | None = None) -> dict[str, Any]:
        """One page as the API sent it (checked for shape), for recording snapshots."""
        response = self._request(query.params(cursor))
        try:
            data = response.json()
        except ValueError:
            raise FalInvalidResponseError(
                "The API answered with something that is not JSON", status=response.status_code
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("models"), list):
            raise FalInvalidResponseError("The API answered with JSON of an unexpected shape")
        if _LONE_SURROGATE_ESCAPE.search(response.content):
            data = _without_lone_surrogates(data)
        return data

    def iter_pages_json(self, query: ModelsQuery) -> Iterator[dict[str, Any]]:
        """Every page of `query` as sent, following `next_cursor` until `has_more` is false."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            data = self.get_page_json(query, cursor)
            yield data
            cursor = data.get("next_cursor")
            # No cursor, or one already followed (which would loop forever): the end.
            if (
                data.get("has_more") is False
                or not isinstance(cursor, str)
                or not cursor
                or cursor in seen
            ):
                return
            seen.add(cursor)

    def iter_pages(self, query: ModelsQuery) -> Iterator[Page]:
        for data in self.iter_pages_json(query):
            yield parse_page(data)

    def iter_models(self, query: ModelsQuery) -> Iterator[Model]:
        for page in self.iter_pages(query):
            yield from page.models

    def list_models(self, **search: Any) -> list[Model]:
        """Every model of list or search mode (`q`, `category`, `status`, `expand`, `limit`)."""
        return list(self.iter_models(ModelsQuery(**search)))

    def find(self, endpoint_ids: Sequence[str], *, expand: Sequence[str] = ()) -> list[Model]:
        """Models by id, in the order asked; unknown ids are left out. Splits into batches of 50."""
        found: dict[str, Model] = {}
        for query in find_queries(endpoint_ids, expand=expand):
            try:
                for model in self.iter_models(query):
                    found.setdefault(model.endpoint_id, model)
            except FalNotFoundError:
                continue  # None of this batch exists.
        return [found[i] for i in dict.fromkeys(endpoint_ids) if i in found]

    def _request(self, params: list[tuple[str, str]]) -> requests.Response:
        url = f"{self.base_url}/models"
        # One budget for the whole call, waits between retries included: a stalled or
        # trickling upstream holds the caller for at most timeout × (retries + 1).
        deadline = time.monotonic() + self.timeout * (self.max_retries + 1)
        attempt = 0
        while True:
            try:
                response = self._session.get(
                    url,
                    params=params,
                    headers=self._headers(),
                    timeout=min(self.timeout, max(0.001, deadline - time.monotonic())),
                    stream=True,
                )
                _read_body(response, deadline)
                if response.status_code < 400:
                    return response
                error = error_from_response(response)
            except FalAPIError as exc:
                error = exc
            except requests.Timeout:
                error = FalTimeoutError(f"The fal API did not answer within {self.timeout:g} s")
            except requests.ConnectionError:
                error = FalConnectionError("The fal API could not be reached")
            except requests.RequestException as exc:
                error = FalInvalidResponseError(
                    f"The fal API answer could not be read ({type(exc).__name__})"
                )
            retryable = isinstance(error, FalConnectionError) or error.status in RETRY_STATUSES
            delay = self.backoff * (2**attempt)
            if isinstance(error, FalRateLimitError) and error.retry_after is not None:
                delay = error.retry_after
            # Waiting longer than the cap, or past the deadline, would hold up the page.
            out_of_time = delay > self.retry_after_cap or time.monotonic() + delay >= deadline
            if not retryable or attempt >= self.max_retries or out_of_time:
                logger.warning(
                    "fal API request failed: %s %s (status=%s, request_id=%s)",
                    type(error).__name__,
                    error.message,
                    error.status,
                    error.request_id,
                )
                raise error
            attempt += 1
            self._sleep(delay)


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def _read_body(response: requests.Response, deadline: float) -> None:
    """Read a streamed body by `deadline`: per-read timeouts alone let a trickle run forever."""
    raw = response.raw
    if response._content is not False or not hasattr(raw, "read1"):
        return  # already in memory (the in-process transport)
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := raw.read1(_READ_CHUNK, decode_content=True):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise FalInvalidResponseError("The fal API answer was too large to read")
            if time.monotonic() > deadline:
                raise FalTimeoutError("The fal API answer did not arrive in time")
            chunks.append(chunk)
    except urllib3.exceptions.ReadTimeoutError:
        response.close()
        raise FalTimeoutError("The fal API answer did not arrive in time") from None
    except urllib3.exceptions.ProtocolError:
        response.close()
        raise FalConnectionError("The connection to the fal API broke mid-answer") from None
    except urllib3.exceptions.HTTPError as exc:
        response.close()
        raise FalInvalidResponseError(
            f"The fal API answer could not be read ({type(exc).__name__})"
        ) from None
    except FalAPIError:
        response.close()  # drops the half-read connection
        raise
    # What `response.content` does; `.json()` later reads these bytes.
    response._content = b"".join(chunks)
    response._content_consumed = True
    response.close()  # the connection goes back to the pool
