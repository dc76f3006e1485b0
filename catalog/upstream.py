"""fal as the app reaches it: client set-up and the page cache, the one cache module.

Pages read the catalog index (catalog.index); fal is asked only by the sync
(catalog.sync, through `sync_client()`, uncached), by a model page for one endpoint the
index lacks (`fetch_page_json`), and by the price calculator (`fetch_estimate`). Those
two are cached: a page under a key made of the API base URL, the query, the cursor and a
time generation; an estimate also under the key's fingerprint (prices depend on the key),
never the key.

**Single flight.** One caller per cold page asks fal; the others wait for its answer on
a lock key (core.locks: atomic on the file cache and on Redis, where it spans machines).
A failure is remembered for `ERROR_TTL` seconds so that waiters do not all retry it at
once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from core.locks import cache_lock
from fal.client import FalModelsClient
from fal.errors import FalAPIError
from fal.types import Estimate, ModelsQuery
from fal_emulator import OFFLINE_KEY, WSGITransport, snapshot_emulator

# The in-process emulator answers at this address; `.invalid` can never reach a network.
OFFLINE_BASE_URL = "http://fal-emulator.invalid/v1"
# Bump when the shape of cached values changes: old entries are then never read.
CACHE_VERSION = 3
ERROR_TTL = 5
_KEY_PREFIX = "catalog"


@dataclass(frozen=True)
class DataSource:
    live: bool
    base_url: str
    label: str


def data_source() -> DataSource:
    if settings.FAL_API_URL:
        return DataSource(live=True, base_url=settings.FAL_API_URL, label="Live · fal API")
    return DataSource(
        live=False,
        base_url=OFFLINE_BASE_URL,
        label=f"Offline snapshot · {settings.CATALOG_SNAPSHOT_DATE}",
    )


# --- Clients ----------------------------------------------------------------------------------


_offline_override: list = []


def offline_app():
    """The WSGI app that stands in for fal offline: the emulator over the bundled snapshot
    (or, while `offline_source` is in force, the app it was given)."""
    return _offline_override[-1] if _offline_override else snapshot_emulator()


@contextlib.contextmanager
def offline_source(app) -> Iterator[None]:
    """Stand `app` in for fal offline for a while (the history replay's dated crawls)."""
    _offline_override.append(app)
    try:
        yield
    finally:
        _offline_override.remove(app)


_clients: dict[tuple, FalModelsClient] = {}
_clients_lock = threading.Lock()


def _client(*, max_retries: int, retry_after_cap: float) -> FalModelsClient:
    source = data_source()
    config = (source.base_url, settings.FAL_KEY, settings.FAL_API_TIMEOUT, max_retries,
              retry_after_cap, None if source.live else offline_app())  # fmt: skip
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = FalModelsClient(
                base_url=source.base_url,
                # Offline, the emulator's own key: the team's FAL_KEY is for fal alone.
                key=settings.FAL_KEY if source.live else OFFLINE_KEY,
                timeout=settings.FAL_API_TIMEOUT,
                max_retries=max_retries,
                retry_after_cap=retry_after_cap,
                transport=None if source.live else WSGITransport(offline_app()),
            )
        return client


def get_client() -> FalModelsClient:
    """The client for requests a person waits on: short waits, few retries."""
    return _client(max_retries=settings.FAL_API_MAX_RETRIES, retry_after_cap=5.0)


def sync_client() -> FalModelsClient:
    """The client for the sync, which nobody waits on: it honours long `Retry-After`s."""
    return _client(
        max_retries=settings.CATALOG_SYNC_MAX_RETRIES,
        retry_after_cap=settings.CATALOG_SYNC_RETRY_AFTER_CAP,
    )


def price_key_fingerprint() -> str | None:
    """Whose prices pages show: the fingerprint of the key the client sends ("" offline),
    or None when live without FAL_KEY (fal prices nothing for a keyless caller)."""
    from catalog.prices import key_fingerprint

    if not data_source().live:
        return ""
    return key_fingerprint(settings.FAL_KEY) if settings.FAL_KEY else None


# --- Keys ---------------------------------------------------------------------------------------


def page_cache_key(
    query: ModelsQuery, cursor: str | None, *, generation: str, kind: str = "page"
) -> str:
    """`catalog:v<version>:<kind>:g<generation>:<sha256 of base URL, query and cursor>`."""
    normalised = json.dumps(
        {"base_url": data_source().base_url, "params": query.params(cursor)}, sort_keys=True
    )
    digest = hashlib.sha256(normalised.encode()).hexdigest()
    return f"{_KEY_PREFIX}:v{CACHE_VERSION}:{kind}:g{generation}:{digest}"


def prices_cache_key(
    endpoint_ids: list[str], *, generation: str, fingerprint: str, kind: str = "prices"
) -> str:
    """Like `page_cache_key`, and per key: prices can differ between accounts, so the key's
    fingerprint (never the key) is part of it."""
    normalised = json.dumps(
        {"base_url": data_source().base_url, "ids": endpoint_ids, "key": fingerprint},
        sort_keys=True,
    )
    digest = hashlib.sha256(normalised.encode()).hexdigest()
    return f"{_KEY_PREFIX}:v{CACHE_VERSION}:{kind}:g{generation}:{digest}"


def _time_generation() -> str:
    """Pages asked for outside a sync are fresh for CATALOG_CACHE_TTL seconds."""
    return f"t{int(time.time() // max(1, settings.CATALOG_CACHE_TTL))}"


# --- Single flight ---------------------------------------------------------------------------


def _wait_seconds() -> float:
    """Longest a fetch can take (timeouts and retries), so the longest worth waiting for one."""
    return settings.FAL_API_TIMEOUT * (settings.CATALOG_SYNC_MAX_RETRIES + 1) + 5


@contextlib.contextmanager
def single_flight(key: str, done: Callable[[], bool]) -> Iterator[bool]:
    """Hold the fetch lock for `key` across threads and processes (and machines on Redis).

    Yields whether the lock is held; False means the wait ran out (or `done()` became
    true), and the caller should check the cache before fetching.
    """
    wait = _wait_seconds()
    with cache_lock(f"{key}:lock", ttl=int(wait) + 1, wait=wait, done=done) as held:
        yield held


# --- Pages ------------------------------------------------------------------------------------


def fetch_page_json(
    query: ModelsQuery, cursor: str | None = None, *, generation: str | None = None
) -> tuple[dict[str, Any], bool]:
    """(page as sent, whether fal was asked) for one page a person waits on (a model page
    asking fal for an id the index lacks), through the page cache.

    Raises the client's FalAPIError; a failure is remembered for ERROR_TTL seconds, so
    callers waiting on the same page get it too instead of asking again. The sync does
    not come here: it asks fal itself, one run at a time (catalog.sync).
    """
    generation = generation or _time_generation()
    key = page_cache_key(query, cursor, generation=generation)
    error_key = page_cache_key(query, cursor, generation=generation, kind="error")
    return _cached(key, error_key, lambda: get_client().get_page_json(query, cursor))


def fetch_estimate(endpoint_id: str, unit_quantity: float) -> tuple[Estimate, bool]:
    """fal's `unit_price` estimate for one endpoint, cached like a page (per key fingerprint:
    typing the same quantity twice asks fal once). Raises FalAPIError, and ValueError when
    live without FAL_KEY or for a quantity fal would refuse."""
    fingerprint = price_key_fingerprint()
    if fingerprint is None:
        raise ValueError("Prices need an API key (FAL_KEY)")
    ids = [f"estimate:{endpoint_id}:{unit_quantity!r}"]
    generation = _time_generation()
    key = prices_cache_key(ids, generation=generation, fingerprint=fingerprint, kind="estimate")
    error_key = prices_cache_key(ids, generation=generation, fingerprint=fingerprint, kind="eerr")
    return _cached(
        key,
        error_key,
        lambda: get_client().estimate(
            estimate_type="unit_price", endpoints={endpoint_id: unit_quantity}
        ),
    )


def _cached(key: str, error_key: str, fetch: Callable[[], Any]) -> tuple[Any, bool]:
    """(value, whether `fetch` ran): single flight, the answer kept for CATALOG_CACHE_TTL
    and a failure for ERROR_TTL."""
    hit = cache.get(key)
    if hit is not None:
        return hit, False

    def done() -> bool:
        return cache.get(key) is not None or cache.get(error_key) is not None

    with single_flight(key, done):
        hit = cache.get(key)
        if hit is not None:
            return hit, False
        recent_failure = cache.get(error_key)
        if recent_failure is not None:
            raise recent_failure
        try:
            data = fetch()
        except FalAPIError as error:
            cache.set(error_key, error, timeout=ERROR_TTL)
            raise
        cache.set(key, data, timeout=settings.CATALOG_CACHE_TTL)
        return data, True
