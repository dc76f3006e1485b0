"""The one door from views to fal's catalog: client set-up, the page cache, stale fallback.

Views call the `catalog_*` functions here; nothing else builds a client. Every upstream
page is cached under a key made of the API base URL, the normalised query and the cursor,
versioned by `CACHE_VERSION` (the shape of what is stored) and by a generation number so
that `catalog_refresh()` drops every page at once.

Three layers keep fal's API calm and the pages fast:

- **Single flight.** One caller per cold page asks fal; the others wait for its answer.
  Threads of a process wait on a lock; processes of a machine on an `flock` lock file
  next to the file cache (its `add` is not atomic); with Redis (or any cache whose `add`
  is atomic) on a lock key set with `add`, which spans machines.
- **Failures.** A failed fetch is remembered for `ERROR_TTL` seconds so that waiters and
  the next requests do not retry it at once; meanwhile, and whenever fal fails, the last
  good copy of the page (kept for `STALE_TTL`, across refreshes) is served and marked
  stale. Once one page of a result has failed, the rest come from cache only; and a
  failure of fal itself (not a 400/404 about one query) holds for every query meanwhile.
- **Per-process memo.** An assembled result (every page of a query) is kept in process
  memory, valid while a small shared "manifest" entry for the query names the same pages;
  a warm request reads two small keys instead of unpickling every page, and returns the
  very same `CatalogResult` object, so callers can memoise work on it by identity.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.filebased import FileBasedCache

from fal.client import FalModelsClient
from fal.emulator import WSGITransport, snapshot_emulator
from fal.errors import FalAPIError, FalBadRequestError, FalConnectionError, FalNotFoundError
from fal.types import Model, ModelsQuery, Page, find_queries, next_cursor

logger = logging.getLogger(__name__)

# The in-process emulator answers at this address; `.invalid` can never reach a network.
OFFLINE_BASE_URL = "http://fal-emulator.invalid/v1"
SEARCH_PAGE_SIZE = 100
# Bump when the shape of cached values changes: old entries are then never read.
CACHE_VERSION = 2
STALE_TTL = 7 * 24 * 3600
ERROR_TTL = 5
MEMO_SIZE = 32
LOCK_STRIPES = 256
POLL_SECONDS = 0.01
_KEY_PREFIX = "catalog"


@dataclass(frozen=True)
class DataSource:
    live: bool
    base_url: str
    label: str


@dataclass(frozen=True)
class CatalogResult:
    """Models plus how fresh they are; `error` is set when stale data stood in for a failure.

    Results are shared between requests (see the memo above): treat `models` as read-only.
    """

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
                transport=None if source.live else WSGITransport(snapshot_emulator()),
            )
        return client


# --- Keys ------------------------------------------------------------------------------------

_GENERATION_KEY = f"{_KEY_PREFIX}:v{CACHE_VERSION}:generation"


def _generation() -> int:
    generation = cache.get(_GENERATION_KEY)
    if generation is None:
        # One caller starts the count (the file cache's `add` is not atomic), from the
        # clock rather than 1: if the key is ever evicted, the new generation is still
        # newer than every one before it, so dropped pages cannot come back.
        with single_flight(_GENERATION_KEY, lambda: cache.get(_GENERATION_KEY) is not None):
            cache.add(_GENERATION_KEY, int(time.time() * 1000), timeout=None)
        generation = cache.get(_GENERATION_KEY, 0)
    return generation


def _digest(query: ModelsQuery, cursor: str | None) -> str:
    normalised = json.dumps(
        {"base_url": data_source().base_url, "params": query.params(cursor)}, sort_keys=True
    )
    return hashlib.sha256(normalised.encode()).hexdigest()


def page_cache_key(
    query: ModelsQuery, cursor: str | None, *, kind: str = "page", generation: int | None = None
) -> str:
    """`catalog:v<version>:<kind>:g<generation>:<sha256 of base URL, query and cursor>`.

    Kinds: "page" (fresh, per generation), "stale" (the last good copy, kept across
    generations), "list" (the manifest of an assembled result), "error" (a recent failure).
    """
    if kind == "stale":
        return f"{_KEY_PREFIX}:v{CACHE_VERSION}:stale:{_digest(query, cursor)}"
    if generation is None:
        generation = _generation()
    return f"{_KEY_PREFIX}:v{CACHE_VERSION}:{kind}:g{generation}:{_digest(query, cursor)}"


# --- Single flight -------------------------------------------------------------------------

_thread_stripes = [threading.Lock() for _ in range(LOCK_STRIPES)]


def _stripe(key: str) -> int:
    return int(hashlib.blake2b(key.encode(), digest_size=4).hexdigest(), 16) % LOCK_STRIPES


def _wait_seconds() -> float:
    """Longest a fetch can take (timeouts and retries), so the longest worth waiting for one."""
    return settings.FAL_API_TIMEOUT * (settings.FAL_API_MAX_RETRIES + 1) + 5


@contextlib.contextmanager
def _file_lock(directory: str, stripe: int, deadline: float) -> Iterator[bool]:
    """An exclusive `flock` on one of the lock files next to the file cache."""
    lock_dir = Path(directory) / "locks"
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(lock_dir / f"{stripe:03d}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    held = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(POLL_SECONDS)
        yield held
    finally:
        if held:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextlib.contextmanager
def _shared_lock(key: str, done: Callable[[], bool], deadline: float) -> Iterator[bool]:
    """A lock key set with `add` (atomic in Redis: SET NX). Yields False once `done()`."""
    lock_key = f"{key}:lock"
    token = uuid.uuid4().hex
    ttl = int(_wait_seconds()) + 1
    held = False
    while True:
        if cache.add(lock_key, token, timeout=ttl):
            held = True
            break
        if done() or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    try:
        yield held
    finally:
        # Django's cache has no compare-and-delete; the lock outlives any fetch (ttl), so
        # it is ours unless it expired, and then the check below spares the new owner.
        if held and cache.get(lock_key) == token:
            cache.delete(lock_key)


@contextlib.contextmanager
def single_flight(key: str, done: Callable[[], bool]) -> Iterator[bool]:
    """Hold the fetch lock for `key` across threads and processes (and machines on Redis).

    Yields whether the lock is held; False means the wait ran out (or, with a lock key,
    that `done()` became true), and the caller should check the cache before fetching.
    """
    deadline = time.monotonic() + _wait_seconds()
    stripe = _stripe(key)
    backend = caches["default"]
    with _thread_stripes[stripe]:
        if isinstance(backend, FileBasedCache):
            with _file_lock(backend._dir, stripe, deadline) as held:
                yield held
        else:
            with _shared_lock(key, done, deadline) as held:
                yield held


# --- Pages -------------------------------------------------------------------------------------


class _Skipped(FalConnectionError):
    """Not asked: an earlier page of the same result failed (see `cached_page(fetch=False)`)."""


def _stale_or_raise(
    query: ModelsQuery, cursor: str | None, error: FalAPIError
) -> tuple[Page, float, FalAPIError]:
    stale = None
    if not isinstance(error, FalNotFoundError):  # "not found" is an answer, not an outage
        stale = cache.get(page_cache_key(query, cursor, kind="stale"))
    if stale is None:
        raise error
    if not isinstance(error, _Skipped):
        logger.warning("Serving stale catalog page after %s", type(error).__name__)
    return stale[1], stale[0], error


# Answers about one query; any other failure (network, 5xx, 429, 401/403, garbage) is
# fal's, and is remembered for every query: while fal is down, a page that needs several
# queries waits for one failed fetch, not one per query.
_QUERY_ERRORS = (FalBadRequestError, FalNotFoundError)


def _outage_key() -> str:
    base_url = hashlib.sha256(data_source().base_url.encode()).hexdigest()[:16]
    return f"{_KEY_PREFIX}:v{CACHE_VERSION}:outage:{base_url}"


def cached_page(
    query: ModelsQuery,
    cursor: str | None = None,
    *,
    generation: int | None = None,
    fetch: bool = True,
) -> tuple[Page, float, FalAPIError | None]:
    """(page, fetched_at timestamp, error) for one upstream page; see CatalogResult for error.

    With `fetch=False` fal is not asked: a page missing from the cache is served stale or
    raises a FalConnectionError.
    """
    if generation is None:
        generation = _generation()
    key = page_cache_key(query, cursor, generation=generation)
    error_key = page_cache_key(query, cursor, kind="error", generation=generation)
    hit = cache.get(key)
    if hit is not None:
        return hit[1], hit[0], None
    if not fetch:
        return _stale_or_raise(
            query, cursor, _Skipped("Not asked: an earlier page of this result failed")
        )
    outage = cache.get(_outage_key())
    if outage is not None:
        return _stale_or_raise(query, cursor, outage)

    def done() -> bool:
        return cache.get(key) is not None or cache.get(error_key) is not None

    with single_flight(key, done):
        hit = cache.get(key)
        if hit is not None:
            return hit[1], hit[0], None
        recent_failure = cache.get(error_key)
        if recent_failure is not None:
            return _stale_or_raise(query, cursor, recent_failure)
        try:
            page = get_client().get_page(query, cursor)
        except FalAPIError as error:
            cache.set(error_key, error, timeout=ERROR_TTL)
            if not isinstance(error, _QUERY_ERRORS):
                cache.set(_outage_key(), error, timeout=ERROR_TTL)
            return _stale_or_raise(query, cursor, error)
        entry = (time.time(), page)
        cache.set(key, entry, timeout=settings.CATALOG_CACHE_TTL)
        cache.set(page_cache_key(query, cursor, kind="stale"), entry, timeout=STALE_TTL)
        return page, entry[0], None


def _iter_pages(
    query: ModelsQuery, generation: int
) -> Iterator[tuple[str | None, Page, float, FalAPIError | None]]:
    """Every page of `query` through the cache: (cursor, page, fetched_at, error)."""
    cursor: str | None = None
    seen: set[str] = set()
    failed = False
    while True:
        page, fetched_at, error = cached_page(
            query, cursor, generation=generation, fetch=not failed
        )
        failed = failed or error is not None
        yield cursor, page, fetched_at, error
        cursor = next_cursor(page, seen)
        if cursor is None:
            return


# --- Assembled results and the per-process memo ------------------------------------------------

_memo: OrderedDict[str, tuple[str, CatalogResult]] = OrderedDict()
_memo_lock = threading.Lock()
_assemble_stripes = [threading.Lock() for _ in range(LOCK_STRIPES)]


def _memo_get(list_key: str, token: str | None) -> CatalogResult | None:
    if token is None:
        return None
    with _memo_lock:
        hit = _memo.get(list_key)
        if hit is None or hit[0] != token:
            return None
        _memo.move_to_end(list_key)
        return hit[1]


def _collect(query: ModelsQuery) -> CatalogResult:
    generation = _generation()
    list_key = page_cache_key(query, None, kind="list", generation=generation)
    token = cache.get(list_key)
    result = _memo_get(list_key, token)
    if result is not None:
        return result
    with _assemble_stripes[_stripe(list_key)]:
        # Another thread may have assembled it while this one waited.
        token = cache.get(list_key)
        result = _memo_get(list_key, token)
        if result is not None:
            return result
        models: list[Model] = []
        stamps: list[str] = []
        oldest = time.time()
        error: FalAPIError | None = None
        for cursor, page, fetched_at, page_error in _iter_pages(query, generation):
            models.extend(page.models)
            stamps.append(f"{cursor} {fetched_at!r}")
            oldest = min(oldest, fetched_at)
            error = error or page_error
        result = CatalogResult(
            models=models, fetched_at=datetime.fromtimestamp(oldest, UTC), error=error
        )
        if error is not None:
            return result  # not memoised: the next request looks again (ERROR_TTL apart)
        # The token names the exact pages, so every process computes the same one.
        new_token = hashlib.sha256("\n".join(stamps).encode()).hexdigest()
        if new_token != token:
            remaining = oldest + settings.CATALOG_CACHE_TTL - time.time()
            cache.set(list_key, new_token, timeout=max(1, int(remaining)))
        with _memo_lock:
            _memo[list_key] = (new_token, result)
            _memo.move_to_end(list_key)
            while len(_memo) > MEMO_SIZE:
                _memo.popitem(last=False)
        return result


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


def catalog_warm(*, on_page: Callable[[int], None] | None = None) -> CatalogResult:
    """Fetch the whole catalog (list mode, every page) into the cache; `on_page(n_models)`."""
    query = ModelsQuery(limit=SEARCH_PAGE_SIZE)
    generation = _generation()
    for _cursor, page, _fetched_at, _error in _iter_pages(query, generation):
        if on_page is not None:
            on_page(len(page.models))
    return _collect(query)


def catalog_refresh() -> None:
    """Drop every cached page (stale copies stay, as the fallback for failures)."""
    # Not atomic, and need not be: two refreshes at once both drop the old generation.
    generation = max(_generation() + 1, int(time.time() * 1000))
    cache.set(_GENERATION_KEY, generation, timeout=None)
    with _memo_lock:
        _memo.clear()
