"""`FalModelsClient`: `/v1/models`, its pricing and the team's usage and analytics, with
timeouts, transient-only retries and a time budget for every call.

No Django here: the client is configured by its caller (see `catalog/services.py`) and
returns frozen dataclasses (`fal.types`, `fal.usage`), never raw dicts; it raises `fal.errors`. A
`transport` (e.g. `fal_emulator.WSGITransport`) lets the same code path reach an
in-process WSGI app (the offline emulator) instead of the network.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import BaseAdapter

from fal.errors import (
    FalAPIError,
    FalConnectionError,
    FalInvalidResponseError,
    FalNotFoundError,
    FalRateLimitError,
    FalTimeoutError,
    error_from_response,
)
from fal.types import (
    ESTIMATE_QUANTITY_FIELDS,
    PUBLIC_SCHEMA_URL,
    SCHEMA_PATH,
    Estimate,
    Model,
    ModelsQuery,
    Page,
    Price,
    find_queries,
    follow_cursors,
    id_batches,
    next_cursor,
    parse_estimate,
    parse_page,
    parse_prices,
)
from fal.usage import (
    AnalyticsQuery,
    AnalyticsReport,
    UsageQuery,
    UsageReport,
    merge_analytics,
    merge_usage,
)

logger = logging.getLogger(__name__)

MODELS_PATH = "/models"
PRICING_PATH = "/models/pricing"
ESTIMATE_PATH = "/models/pricing/estimate"
USAGE_PATH = "/models/usage"
ANALYTICS_PATH = "/models/analytics"
# Far beyond any real page (ten models with OpenAPI documents are a few MB).
MAX_BODY_BYTES = 64 * 1024 * 1024
_READ_CHUNK = 64 * 1024
# JSON may escape half of a UTF-16 surrogate pair; such a str cannot be encoded as UTF-8,
# so no page showing it could be sent. Paired escapes (emoji) decode to one character.
_LONE_SURROGATE_ESCAPE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


# --- The client --------------------------------------------------------------------------------


def schema_url_for(base_url: str) -> str:
    """Where the per-endpoint document of the API at `base_url` is: fal.ai's for fal's own
    API, else the same origin's (an emulator answers it there)."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").casefold()
    if host == "fal.ai" or host.endswith(".fal.ai"):
        return PUBLIC_SCHEMA_URL
    return f"{parts.scheme}://{parts.netloc}{SCHEMA_PATH}"


class FalModelsClient:
    """`{base_url}/models`, `/models/pricing[/estimate]` and `/models/usage|analytics`: a
    timeout on every call and bounded, transient-only retries (the estimate is a POST, but it
    changes nothing: safe to retry).
    """

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
        transport: BaseAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        schema_url: str | None = None,
    ) -> None:
        """`transport`: mounted on `base_url` and `schema_url` in each thread's session (e.g.
        an in-process app). `schema_url`: fal's public per-endpoint document (see
        `schema_url_for`)."""
        self.base_url = base_url.rstrip("/")
        self.schema_url = schema_url or schema_url_for(self.base_url)
        self._key = key
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        self.retry_after_cap = retry_after_cap
        self.backoff = backoff
        self._session_factory = session_factory
        self._transport = transport
        self._sleep = sleep
        self._local = threading.local()  # requests.Session is not thread-safe: one per thread.

    def __repr__(self) -> str:  # Never show the key.
        return f"FalModelsClient(base_url={self.base_url!r}, key={'set' if self._key else 'unset'})"

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._session_factory()
            if self._transport is not None:
                session.mount(self.base_url, self._transport)
                session.mount(self.schema_url, self._transport)
        return session

    def _headers(self, url: str) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "fal-catalog-dashboard/0.1"}
        # The key is for the API; the public document is asked for without it (even when
        # the API's address is a prefix of the document's).
        if self._key and url != self.schema_url and url.startswith(self.base_url + "/"):
            headers["Authorization"] = f"Key {self._key}"
        return headers

    def get_page(self, query: ModelsQuery, cursor: str | None = None) -> Page:
        """One page of results for `query`, starting at `cursor`."""
        return parse_page(self.get_page_json(query, cursor))

    def get_page_json(self, query: ModelsQuery, cursor: str | None = None) -> dict[str, Any]:
        """One page as the API sent it (checked for shape), for recording snapshots."""
        data = self._json("GET", self.base_url + MODELS_PATH, params=query.params(cursor))
        if not isinstance(data.get("models"), list):
            raise FalInvalidResponseError("The API answered with JSON of an unexpected shape")
        return data

    def iter_pages_json(self, query: ModelsQuery) -> Iterator[dict[str, Any]]:
        """Every page of `query` as sent, following `next_cursor` until `has_more` is false."""
        yield from follow_cursors(lambda cursor: self.get_page_json(query, cursor))

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

    def prices(self, endpoint_ids: Sequence[str]) -> list[Price]:
        """Prices by id, in the order asked; unknown ids are left out. Batches of 50.

        The contract's answer carries `next_cursor`/`has_more` but names no cursor
        parameter; should fal page a batch, its cursor is followed as on `/models`.
        """
        found: dict[str, Price] = {}
        for batch in id_batches(endpoint_ids):
            params = [("endpoint_id", endpoint_id) for endpoint_id in batch]
            cursor: str | None = None
            seen: set[str] = set()
            while True:
                try:
                    data = self._json(
                        "GET",
                        self.base_url + PRICING_PATH,
                        params=params + ([("cursor", cursor)] if cursor else []),
                    )
                except FalNotFoundError:
                    break  # None of this batch has a price.
                for price in parse_prices(data):
                    found.setdefault(price.endpoint_id, price)
                cursor = next_cursor(data, seen)
                if cursor is None:
                    break
        return [found[i] for i in dict.fromkeys(endpoint_ids) if i in found]

    def estimate(self, *, estimate_type: str, endpoints: Mapping[str, float]) -> Estimate:
        """The total cost of `endpoints` ({endpoint id: quantity}): units for `unit_price`,
        calls (whole numbers) for `historical_api_price`. Unknown ids are fal's 404."""
        field = ESTIMATE_QUANTITY_FIELDS.get(estimate_type)
        if field is None:
            raise ValueError(f"estimate_type must be one of {sorted(ESTIMATE_QUANTITY_FIELDS)}")
        for endpoint_id, quantity in endpoints.items():
            number = isinstance(quantity, int | float) and not isinstance(quantity, bool)
            if not number or not math.isfinite(quantity) or quantity <= 0:
                raise ValueError(f"The quantity for {endpoint_id!r} must be a number > 0")
        body = {
            "estimate_type": estimate_type,
            "endpoints": {endpoint_id: {field: q} for endpoint_id, q in endpoints.items()},
        }
        return parse_estimate(self._json("POST", self.base_url + ESTIMATE_PATH, json=body))

    def endpoint_document(self, endpoint_id: str) -> dict[str, Any] | None:
        """fal's public OpenAPI document of one endpoint (what fal's model pages link as
        "Schema"), or None when fal has none (a 404, or an error object). For when the
        `openapi-3.0` expansion failed; a 200 that is no OpenAPI document is an invalid
        response."""
        try:
            data = self._json("GET", self.schema_url, params=[("endpoint_id", endpoint_id)])
        except FalNotFoundError:
            return None
        if isinstance(data.get("error"), dict):
            return None
        if not isinstance(data.get("openapi"), str):
            raise FalInvalidResponseError("The API answered with no OpenAPI document")
        return data

    def usage(self, query: UsageQuery) -> UsageReport:
        """The team's usage lines for `query`, every page merged. Needs an admin key: fal
        answers 401 without a key and 403 with another (FalPermissionDeniedError)."""
        return merge_usage(
            follow_cursors(
                lambda cursor: self._json(
                    "GET", self.base_url + USAGE_PATH, params=query.params(cursor)
                )
            )
        )

    def analytics(self, query: AnalyticsQuery) -> AnalyticsReport:
        """Counts and latencies of the team's own requests to `query`'s 1-50 endpoints, every
        page merged (any key)."""
        return merge_analytics(
            follow_cursors(
                lambda cursor: self._json(
                    "GET", self.base_url + ANALYTICS_PATH, params=query.params(cursor)
                )
            )
        )

    def _json(
        self,
        method: str,
        url: str,
        *,
        params: list[tuple[str, str]] | None = None,
        json: Any = None,
    ) -> dict[str, Any]:
        """A 2xx answer's JSON object (checked to be one), lone surrogates replaced."""
        response = self._request(method, url, params=params, json=json)
        try:
            decoded = response.json()
        except ValueError:
            raise FalInvalidResponseError(
                "The API answered with something that is not JSON", status=response.status_code
            ) from None
        if not isinstance(decoded, dict):
            raise FalInvalidResponseError("The API answered with JSON of an unexpected shape")
        data: dict[str, Any] = decoded  # a JSON object: its keys are strings
        if _LONE_SURROGATE_ESCAPE.search(response.content):
            data = _without_lone_surrogates(data)
        return data

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: list[tuple[str, str]] | None = None,
        json: Any = None,
    ) -> requests.Response:
        # One budget for the whole call, waits between retries included: a stalled or
        # trickling upstream holds the caller for at most timeout × (retries + 1).
        deadline = time.monotonic() + self.timeout * (self.max_retries + 1)
        attempt = 0
        error: FalAPIError
        while True:
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    headers=self._headers(url),
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
            delay = self.backoff * (2**attempt)
            if isinstance(error, FalRateLimitError) and error.retry_after is not None:
                delay = error.retry_after
            # Waiting longer than the cap, or past the deadline, would hold up the page.
            out_of_time = delay > self.retry_after_cap or time.monotonic() + delay >= deadline
            if not error.retryable or attempt >= self.max_retries or out_of_time:
                # A 404 is an answer ("no such model", "no pricing for these ids") that
                # callers handle; other failures are worth a warning.
                logger.log(
                    logging.DEBUG if error.status == 404 else logging.WARNING,
                    "fal API request failed: %s %s: %s %s (status=%s, request_id=%s)",
                    method,
                    url.removeprefix(self.base_url),
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
    # requests keeps `_content = False` until the body is read; its stubs type the attribute
    # as `bytes | None` only, so the check looks impossible to mypy.
    if response._content is not False or not hasattr(raw, "read1"):  # type: ignore[comparison-overlap]
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
