"""Offline emulator of fal's Platform API ``GET /v1/models`` over the bundled snapshot (WSGI).

Pure Python: no Django and no ``requests``, so tests, the benchmark, ``python -m
fal_emulator`` and the ``fal_emulator`` management command can all use it. The data is
the real recorded catalog in ``fal_emulator/data/`` (see the README there; loaded by
``fal_emulator.snapshot``); behaviour follows ``fal_emulator/data/models-openapi.yaml``
and the facts recorded in that README.
Where the real API's behaviour is not known, these are the choices made:

Paths and methods
  Any path ending in ``/models`` is the endpoint (so ``/v1/models`` and, under
  schemathesis's ``--url``, ``/models``). Paths ending in ``/models/pricing`` and
  ``/models/pricing/estimate`` are the pricing endpoints, whose choices are listed in
  ``fal_emulator.pricing``. A path ending in ``/api/openapi/queue/openapi.json`` is fal's
  public per-endpoint document (see Expansion). ``/models/`` and anything else is 404
  ``not_found``. GET is
  served; HEAD is GET without the body. Any other method is 405 with ``Allow: GET, HEAD``
  and type ``validation_error``: a wrong method is the caller's mistake (a 4xx the caller
  fixes by changing the request), whereas ``not_implemented`` is the 501 family, which a
  server must not answer for a known resource with a wrong method. Paths ending in
  ``/models/usage`` and ``/models/analytics`` serve a made-up demo team, whose choices are
  listed in ``fal_emulator.usage``.

Errors
  ``{"error": {"type", "message", "docs_url", "request_id"}}`` with a fresh uuid4 hex
  request id. ``docs_url`` is the one page the spec links (https://docs.fal.ai/model-apis);
  the real per-error URLs are not recorded. handle() never raises: anything unexpected
  is a 500 ``server_error`` whose message carries no traceback.

Query parameters
  Unknown parameters are ignored (upstream silently ignores ``expand[]=``). ``limit``,
  ``cursor``, ``q``, ``category`` and ``status`` take one value: repeating one is 400,
  because the real answer is not recorded and stacks that emit the spec's
  ``string | array`` shape reject an array where a string is expected; it also surfaces
  client bugs. Empty ``q``, ``category`` and ``cursor`` count as absent (what an HTML
  form sends); a ``q`` of only whitespace has no tokens and counts as absent too. An
  empty ``status`` is not in the enum and is 400, like any other value but
  ``active``/``deprecated``.

Modes
  List (no filters) pages through the snapshot in its own order. Find: ``endpoint_id``
  repeated, 1-50 distinct non-empty ids (more than 50 or an empty id is 400); results in
  the order asked, duplicates once, unknown ids dropped. If not one asked id exists and
  no search parameter was given, 404 ``not_found`` naming the ids; with a search
  parameter the answer is 200 with no models (the search narrowed to nothing). Search:
  ``q`` (case-insensitive; every whitespace-separated token a substring of the
  endpoint id, display name, description, category or tags), ``category`` (exact,
  case-insensitive), ``status``. With ``endpoint_id`` the search narrows those ids.
  Models without ``metadata`` match list and find, never a search filter.

Pagination
  ``limit`` is ASCII digits >= 1; anything else (empty, 0, negative, ``5.0``) is 400.
  Maximum 100, or 10 when ``expand=openapi-3.0`` (the page sizes the README reports);
  a larger limit is clamped to the maximum, not rejected. Default: the maximum.
  ``cursor`` is the 1-based page number as unpadded URL-safe base64 of its decimal
  string (page 2 is ``"Mg"``, as recorded); padding and the standard alphabet are
  accepted. Anything that is not base64 of a positive integer is 400. The page is
  ``offset = (page - 1) * limit`` with the current request's limit, so changing
  ``limit`` between pages moves the window. A page past the end is 200 with no models.
  ``has_more`` is exact (one match of look-ahead), so a last full page says false.

Expansion
  ``expand`` is repeated; values ``openapi-3.0`` and ``enterprise_status``, anything
  else 400 naming it. ``openapi`` is what the recorded crawl had: the recorded document
  (920 endpoints) or the error object
  ``{"error": {"code": "expansion_failed", "message": "OpenAPI schema not available for
  this endpoint"}}`` (the 514 others), as a client of the real API counts them. A document
  marked reconstructed (``info["x-catalog-reconstructed"]``, see the snapshot README) was
  never sent by fal, so it is never an expansion, whatever the emulator was built with.
  The snapshot has no enterprise data, so ``enterprise_status`` is always the spec's
  error form. Entries are otherwise returned verbatim; expanded ones are new dicts, the
  shared snapshot dicts are never mutated.

Per-endpoint documents
  ``GET <origin>/api/openapi/queue/openapi.json?endpoint_id=<id>`` stands in for fal's
  public document of one endpoint (on ``https://fal.ai``; fal's model pages link it as
  "Schema"), which the app reads when an expansion failed. It serves every document the
  emulator has: recorded ones as recorded, and for 369 endpoints the reconstructed ones
  with their mark, so whoever stores one can say it is reconstructed. No key is needed
  (fal's is public). ``endpoint_id`` is required, once (else 400); an endpoint without
  any document is 404 ``not_found`` (fal's answer there is not recorded). GET and HEAD;
  other methods 405.

Output
  ``Content-Type: application/json``; compact JSON with non-ASCII escaped, so the
  values are the recorded ones though the bytes may differ from fal's. No auth on
  ``/models``: a key is neither needed nor checked (the pricing paths need one), and
  there is no rate limiting.

Performance
  Built once (``snapshot_emulator()``), then read-only: an id index and a casefolded
  search text, category and status per model. Search is one lazy pass that stops after
  the page plus one look-ahead match; list pages slice without copying the catalog.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fal.openapi import JSONObject, reconstructed_source
from fal.types import SCHEMA_PATH
from fal_emulator import usage
from fal_emulator.envelope import (
    ApiError,
    Response,
    error_response,
    json_bytes,
    json_headers,
    json_response,
    method_not_allowed,
)
from fal_emulator.paging import decode_cursor, encode_cursor, parse_limit, query_params
from fal_emulator.pricing import MAX_ESTIMATE_BODY_BYTES, PriceBook, require_key
from fal_emulator.snapshot import (
    DEFAULT_MODELS_PATH,
    DEFAULT_OPENAPI_PATH,
    DEFAULT_PRICING_PATH,
    SNAPSHOT_DATE,
    load_prices,
    load_snapshot,
    load_state,
)

PRICING_SUFFIX = "/models/pricing"
ESTIMATE_SUFFIX = "/models/pricing/estimate"
MAX_LIMIT = 100
MAX_LIMIT_WITH_OPENAPI = 10
MAX_FIND_IDS = 50
EXPAND_OPENAPI = "openapi-3.0"
EXPAND_ENTERPRISE = "enterprise_status"
STATUSES = ("active", "deprecated")
SINGLE_VALUED = ("limit", "cursor", "q", "category", "status")

OPENAPI_UNAVAILABLE = {
    "error": {
        "code": "expansion_failed",
        "message": "OpenAPI schema not available for this endpoint",
    }
}
ENTERPRISE_UNAVAILABLE = {
    "error": {
        "code": "expansion_failed",
        "message": "Enterprise status not available in the offline snapshot",
    }
}


def _search_fields(model: JSONObject) -> tuple[str, str, str | None]:
    """(casefolded search text, casefolded category, status) of one model.

    Without metadata all three are empty, and a search filter is never empty (tokens,
    a category and a status all have at least one character), so such a model matches
    list and find but no search.
    """
    metadata = model.get("metadata")
    if not isinstance(metadata, dict):
        return "", "", None
    tags = metadata.get("tags")
    parts = [
        model.get("endpoint_id"),
        metadata.get("display_name"),
        metadata.get("description"),
        metadata.get("category"),
    ]
    if isinstance(tags, list):
        parts.extend(tags)
    text = "\n".join(p for p in parts if isinstance(p, str)).casefold()
    category = metadata.get("category")
    category = category.casefold() if isinstance(category, str) else ""
    status = metadata.get("status")
    return text, category, status if isinstance(status, str) else None


def _read_body(environ: dict[str, Any]) -> bytes:
    """At most one byte past the estimate's limit, so an oversized body is seen and refused."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    body: bytes = environ["wsgi.input"].read(min(length, MAX_ESTIMATE_BODY_BYTES + 1))
    return body


class Emulator:
    """``GET /v1/models`` (and pricing) over a fixed catalog; immutable, so thread-safe."""

    def __init__(
        self,
        models: list[JSONObject],
        openapi_docs: dict[str, JSONObject],
        prices: list[JSONObject] | None = None,
    ) -> None:
        self._models = models
        # What fal sent, for `expand`; and every document, for the per-endpoint path.
        self._openapi = {i: d for i, d in openapi_docs.items() if not reconstructed_source(d)}
        self._documents = {
            i: d for i, d in openapi_docs.items() if isinstance(d, dict) and "error" not in d
        }
        # By the entries' own `endpoint_id`, whatever it holds (a hostile entry's may be None).
        self._index: dict[object, int] = {}
        for position, model in enumerate(models):
            self._index.setdefault(model.get("endpoint_id"), position)
        # Parallel lists rather than tuples: each filter pass reads one list, quickly.
        fields = [_search_fields(model) for model in models]
        self._texts = [text for text, _, _ in fields]
        self._categories = [category for _, category, _ in fields]
        self._statuses = [status for _, _, status in fields]
        self._pricing = PriceBook(prices or (), self._index)

    @classmethod
    def from_snapshot(
        cls,
        models_path: Path = DEFAULT_MODELS_PATH,
        openapi_path: Path = DEFAULT_OPENAPI_PATH,
        pricing_path: Path | None = DEFAULT_PRICING_PATH,
    ) -> Emulator:
        prices = load_prices(pricing_path) if pricing_path is not None else None
        return cls(*load_snapshot(models_path, openapi_path), prices)

    # --- HTTP -------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        *,
        authorization: str | None = None,
        body: bytes = b"",
    ) -> Response:
        """Answer one request: (status, headers, JSON body). Never raises."""
        try:
            if path.endswith((PRICING_SUFFIX, ESTIMATE_SUFFIX)):
                status, headers, body = self._pricing_dispatch(
                    method, path, query, authorization, body
                )
            elif path.endswith(SCHEMA_PATH):
                status, headers, body = self._schema_dispatch(method, path, query)
            elif usage.handles(path):
                status, headers, body = usage.dispatch(method, path, query, authorization)
            else:
                status, headers, body = self._dispatch(method, path, query)
        except Exception:
            status, headers, body = error_response(
                500, "server_error", "An unexpected error occurred"
            )
        # HEAD is GET without the body; Content-Length still describes the GET body.
        return status, headers, b"" if method == "HEAD" else body

    def _dispatch(self, method: str, path: str, query: list[tuple[str, str]]) -> Response:
        if not path.endswith("/models"):
            return error_response(404, "not_found", f"No route for {path}")
        if method not in ("GET", "HEAD"):
            return method_not_allowed(method, path, ("GET", "HEAD"))
        try:
            payload = self._models_page(query)
        except ApiError as exc:
            return error_response(exc.status, exc.kind, exc.message)
        body = json_bytes(payload)
        return 200, json_headers(body), body

    def _schema_dispatch(self, method: str, path: str, query: list[tuple[str, str]]) -> Response:
        if method not in ("GET", "HEAD"):
            return method_not_allowed(method, path, ("GET", "HEAD"))
        ids = [value for key, value in query if key == "endpoint_id"]
        if len(ids) != 1 or not ids[0]:
            return error_response(400, "validation_error", "endpoint_id is required, once")
        document = self._documents.get(ids[0])
        if document is None:
            return error_response(404, "not_found", f"No OpenAPI document for {ids[0]!r}")
        return json_response(document)

    def _pricing_dispatch(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        authorization: str | None,
        body: bytes,
    ) -> Response:
        estimate = path.endswith(ESTIMATE_SUFFIX)
        allowed = ("POST",) if estimate else ("GET", "HEAD")
        if method not in allowed:
            return method_not_allowed(method, path, allowed)
        try:
            require_key(authorization)
            if estimate:
                return json_response(self._pricing.estimate(body))
            return json_response(self._pricing.pricing(query))
        except ApiError as exc:
            return error_response(exc.status, exc.kind, exc.message, **exc.headers)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            method = environ.get("REQUEST_METHOD", "GET")
            status, headers, body = self.handle(
                method,
                environ.get("PATH_INFO", "") or "/",
                query,
                authorization=environ.get("HTTP_AUTHORIZATION"),
                body=_read_body(environ) if method == "POST" else b"",
            )
        except Exception:
            status, headers, body = error_response(
                500, "server_error", "An unexpected error occurred"
            )
        reason = _REASONS.get(status, "Error")
        start_response(f"{status} {reason}", headers)
        return [body]

    # --- the endpoint -----------------------------------------------------------------

    def _models_page(self, query: list[tuple[str, str]]) -> dict[str, Any]:
        params = query_params(query, SINGLE_VALUED)
        single = {key: values[0] for key, values in params.items() if key in SINGLE_VALUED}

        expand = list(dict.fromkeys(params.get("expand", ())))
        for value in expand:
            if value not in (EXPAND_OPENAPI, EXPAND_ENTERPRISE):
                raise ApiError(
                    f"Unsupported expand value {value!r}; "
                    f"supported: {EXPAND_OPENAPI!r}, {EXPAND_ENTERPRISE!r}"
                )
        maximum = MAX_LIMIT_WITH_OPENAPI if EXPAND_OPENAPI in expand else MAX_LIMIT
        limit = parse_limit(single["limit"], maximum) if "limit" in single else maximum
        page = decode_cursor(single["cursor"]) if single.get("cursor") else 1

        status = single.get("status")
        if status is not None and status not in STATUSES:
            raise ApiError(f"Invalid status {status!r}: must be 'active' or 'deprecated'")
        tokens = single.get("q", "").casefold().split()
        category = single.get("category", "").casefold()
        searching = bool(tokens or category or status)

        ids = list(dict.fromkeys(params.get("endpoint_id", ())))
        if "" in ids:
            raise ApiError("endpoint_id must not be empty")
        if len(ids) > MAX_FIND_IDS:
            raise ApiError(
                f"Too many endpoint_id values ({len(ids)}); at most {MAX_FIND_IDS} per request"
            )

        candidates: Sequence[int]
        if ids:
            candidates = [self._index[i] for i in ids if i in self._index]
            if not candidates and not searching:
                raise ApiError(
                    "No model found for endpoint_id: " + ", ".join(ids), 404, "not_found"
                )
        else:
            candidates = range(len(self._models))

        offset = (page - 1) * limit
        if offset >= len(candidates):
            # Past the end; also keeps islice() from an offset beyond sys.maxsize.
            positions, has_more = [], False
        elif searching:
            matches = self._filter(candidates, tokens, category, status)
            positions = list(islice(matches, offset, offset + limit))
            has_more = next(matches, None) is not None
        else:
            # Slicing a range or a short list copies only the page.
            positions = list(candidates[offset : offset + limit])
            has_more = offset + limit < len(candidates)

        models = [self._render(self._models[p], expand) for p in positions]
        return {
            "models": models,
            "next_cursor": encode_cursor(page + 1) if has_more else None,
            "has_more": has_more,
        }

    def _filter(
        self, candidates: Iterable[int], tokens: list[str], category: str, status: str | None
    ) -> Iterator[int]:
        """Lazily chained filters: one pass, cheapest test first, only survivors go on."""
        matches = iter(candidates)
        if category:
            matches = _equal(matches, self._categories, category)
        for token in tokens:
            matches = _containing(matches, self._texts, token)
        if status:
            matches = _equal(matches, self._statuses, status)
        return matches

    def _render(self, model: JSONObject, expand: list[str]) -> JSONObject:
        if not expand:
            return model
        rendered = dict(model)
        if EXPAND_OPENAPI in expand:
            endpoint_id = model.get("endpoint_id")
            document = self._openapi.get(endpoint_id) if isinstance(endpoint_id, str) else None
            rendered["openapi"] = OPENAPI_UNAVAILABLE if document is None else document
        if EXPAND_ENTERPRISE in expand:
            rendered["enterprise_status"] = ENTERPRISE_UNAVAILABLE
        return rendered


# Each helper binds its value now; a generator expression in a loop would see only the last.
def _equal(positions: Iterator[int], column: Sequence[str | None], value: str) -> Iterator[int]:
    return (p for p in positions if column[p] == value)


def _containing(positions: Iterator[int], column: list[str], token: str) -> Iterator[int]:
    return (p for p in positions if token in column[p])


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}


_singleton: Emulator | None = None
_singleton_lock = threading.Lock()


def dated_emulator(date: str) -> Emulator:
    """An emulator serving the catalog of one bundled date (`--as-of DATE`)."""
    if date == SNAPSHOT_DATE:
        return snapshot_emulator()
    state = load_state(date)
    return Emulator(state.models, state.openapi)


def snapshot_emulator() -> Emulator:
    """The process-wide emulator over the bundled snapshot, built on first use."""
    global _singleton
    if _singleton is None:
        with _singleton_lock:
            if _singleton is None:
                _singleton = Emulator.from_snapshot()
    return _singleton
