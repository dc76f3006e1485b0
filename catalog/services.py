"""The one door from views to fal's catalog: client set-up, the page cache, stale fallback.

Views call the `catalog_*` functions here; nothing else builds a client. Every upstream
page is cached under a key made of the API base URL, the normalised query and the cursor,
namespaced by a generation number so that `catalog_refresh()` drops them all at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.core.cache import cache

from catalog.emulator import snapshot_emulator
from catalog.fal_api import (
    FalAPIError,
    FalModelsClient,
    FalNotFoundError,
    Model,
    ModelsQuery,
    Page,
    WSGITransport,
    find_queries,
)

logger = logging.getLogger(__name__)

# The in-process emulator answers at this address; `.invalid` can never reach a network.
OFFLINE_BASE_URL = "http://fal-emulator.invalid/v1"
SEARCH_PAGE_SIZE = 100
STALE_TTL = 7 * 24 * 3600
LOCK_TTL = 30
_KEY_PREFIX = "catalog"


@dataclass(frozen=True)
class DataSource:
    live: bool
    base_url: str
    label: str


@dataclass(frozen=True)
class CatalogResult:
    """Models plus how fresh they are; `error` is set when stale data stood in for a failure."""

    models: list[Model]
    fetched_at: datetime
    error: FalAPIError | None = None

    @property
    def stale(self) -> bool:
        return self.error is not None


# --- Client ------------------------------------------------------------------------------


def data_source() -> DataSource:
    if settings.FAL_API_URL:
        return DataSource(live=True, base_url=settings.FAL_API_URL, label="Live · fal API")
    return DataSource(
        live=False,
        base_url=OFFLINE_BASE_URL,
        label=f"Offline snapshot · {settings.CATALOG_SNAPSHOT_DATE}",
    )


def _offline_session() -> requests.Session:
    session = requests.Session()
    session.mount(OFFLINE_BASE_URL, WSGITransport(snapshot_emulator()))
    return session


_clients: dict[tuple, FalModelsClient] = {}
_clients_lock = threading.Lock()


def get_client() -> FalModelsClient:
    """The client for the current settings (one per configuration, shared by threads)."""
    source = data_source()
    config = (
        source.base_url,
        settings.FAL_KEY,
        settings.FAL_API_TIMEOUT,
        settings.FAL_API_MAX_RETRIES,
    )
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = FalModelsClient(
                base_url=source.base_url,
                key=settings.FAL_KEY if source.live else "",
                timeout=settings.FAL_API_TIMEOUT,
                max_retries=settings.FAL_API_MAX_RETRIES,
                session_factory=requests.Session if source.live else _offline_session,
            )
        return client


# --- Page cache ------------------------------------------------------------------------------


def _generation() -> int:
    generation = cache.get(f"{_KEY_PREFIX}:generation")
    if generation is None:
        cache.add(f"{_KEY_PREFIX}:generation", 1, timeout=None)
        generation = cache.get(f"{_KEY_PREFIX}:generation", 1)
    return generation


def page_cache_key(query: ModelsQuery, cursor: str | None, *, kind: str = "page") -> str:
    """`catalog:<kind>:g<generation>:<sha256 of base URL, query and cursor>`."""
    normalised = json.dumps(
        {"base_url": data_source().base_url, "params": query.params(cursor)}, sort_keys=True
    )
    digest = hashlib.sha256(normalised.encode()).hexdigest()
    generation = "" if kind == "stale" else f"g{_generation()}:"
    return f"{_KEY_PREFIX}:{kind}:{generation}{digest}"


_flight_locks: dict[str, threading.Lock] = {}
_flight_guard = threading.Lock()


def _local_lock(key: str) -> threading.Lock:
    with _flight_guard:
        return _flight_locks.setdefault(key, threading.Lock())


def cached_page(
    query: ModelsQuery, cursor: str | None = None
) -> tuple[Page, float, FalAPIError | None]:
    """(page, fetched_at timestamp, error) for one upstream page; see CatalogResult for error."""
    key = page_cache_key(query, cursor)
    hit = cache.get(key)
    if hit is not None:
        return hit[1], hit[0], None
    # Single flight: one caller per key fetches, the others wait for its result.
    with _local_lock(key):
        hit = cache.get(key)
        if hit is not None:
            return hit[1], hit[0], None
        lock_key = f"{key}:lock"
        owner = cache.add(lock_key, 1, timeout=LOCK_TTL)
        if not owner:
            deadline = time.monotonic() + settings.FAL_API_TIMEOUT * (
                settings.FAL_API_MAX_RETRIES + 1
            )
            while time.monotonic() < deadline:
                time.sleep(0.05)
                hit = cache.get(key)
                if hit is not None:
                    return hit[1], hit[0], None
        try:
            page = get_client().get_page(query, cursor)
        except FalAPIError as error:
            stale = cache.get(page_cache_key(query, cursor, kind="stale"))
            if stale is None or isinstance(error, FalNotFoundError):
                raise
            logger.warning("Serving stale catalog page after %s", type(error).__name__)
            return stale[1], stale[0], error
        finally:
            if owner:
                cache.delete(lock_key)
        entry = (time.time(), page)
        cache.set(key, entry, timeout=settings.CATALOG_CACHE_TTL)
        cache.set(page_cache_key(query, cursor, kind="stale"), entry, timeout=STALE_TTL)
        return page, entry[0], None


def _collect(query: ModelsQuery) -> CatalogResult:
    models: list[Model] = []
    oldest = time.time()
    error: FalAPIError | None = None
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page, fetched_at, page_error = cached_page(query, cursor)
        models.extend(page.models)
        oldest = min(oldest, fetched_at)
        error = error or page_error
        if not page.has_more or page.next_cursor in seen:
            break
        cursor = page.next_cursor
        seen.add(cursor)
    return CatalogResult(models=models, fetched_at=datetime.fromtimestamp(oldest, UTC), error=error)


def catalog_search(*, q: str = "", category: str = "", status: str = "") -> CatalogResult:
    """Every model matching fal's own search semantics for q/category/status (all pages)."""
    return _collect(ModelsQuery(q=q, category=category, status=status, limit=SEARCH_PAGE_SIZE))


def catalog_find(endpoint_ids: Sequence[str], *, expand: Sequence[str] = ()) -> CatalogResult:
    """Models by id in the order asked (unknown ids left out), 50 ids per request."""
    found: dict[str, Model] = {}
    oldest = time.time()
    error: FalAPIError | None = None
    for query in find_queries(endpoint_ids, expand=expand):
        try:
            result = _collect(query)
        except FalNotFoundError:
            continue
        for model in result.models:
            found.setdefault(model.endpoint_id, model)
        oldest = min(oldest, result.fetched_at.timestamp())
        error = error or result.error
    return CatalogResult(
        models=[found[i] for i in dict.fromkeys(endpoint_ids) if i in found],
        fetched_at=datetime.fromtimestamp(oldest, UTC),
        error=error,
    )


def catalog_refresh() -> None:
    """Drop every cached page (stale copies stay, as the fallback for failures)."""
    try:
        cache.incr(f"{_KEY_PREFIX}:generation")
    except ValueError:
        cache.set(f"{_KEY_PREFIX}:generation", 2, timeout=None)
