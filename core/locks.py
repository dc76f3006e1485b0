"""The one lock helper: an atomic `cache.add`, a windowed counter, and a lock held with them.

Redis (SET NX) and the local-memory cache add atomically; Django's file cache checks for
the file, then writes it, so two threads or processes can both "add" the same key. Here
an add on the file cache holds an exclusive `flock` on a lock file next to the cache (one
of 64 stripes by key), which makes its check-then-write one step for every process that
shares the directory. The kernel frees that flock if its holder dies. `cache_lock` builds
every longer-held lock of the site (a sign-in's turn, one fetch of a page from fal) on
that add, so each backend's rule is written once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache

STRIPES = 64
POLL_SECONDS = 0.01


@contextmanager
def _flock(directory: str, key: str) -> Iterator[None]:
    stripe = int(hashlib.blake2b(key.encode(), digest_size=2).hexdigest(), 16) % STRIPES
    lock_dir = Path(directory) / "locks"
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(lock_dir / f"add-{stripe:02d}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # held only for one add: a file check and a write
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def atomic_add(key: str, value: Any, timeout: float | None) -> bool:
    """`cache.add(key, value, timeout)`, atomic on the default cache whatever its backend."""
    cache = caches["default"]
    if isinstance(cache, FileBasedCache):
        # `_dir` is the file cache's directory: Django's private attribute, not in its stubs.
        with _flock(cache._dir, key):  # type: ignore[attr-defined]
            return cache.add(key, value, timeout=timeout)
    return cache.add(key, value, timeout=timeout)


def atomic_count(key: str, window: float) -> int:
    """Counts one more event under `key`; the count lives `window` seconds from its first.

    Redis and the local-memory cache increment atomically and keep the expiry. The file
    cache's `incr` is a read then a write, and the write resets the expiry to the cache's
    default timeout: here the count and its end are kept together, under the add lock.
    """
    cache = caches["default"]
    if isinstance(cache, FileBasedCache):
        with _flock(cache._dir, key):  # type: ignore[attr-defined]  # as in atomic_add
            now = time.time()
            count, ends = cache.get(key, (0, now + window))
            cache.set(key, (count + 1, ends), timeout=max(ends - now, 1))
            return count + 1
    cache.add(key, 0, timeout=window)  # the window starts at the first event
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this event starts a new window
        cache.set(key, 1, timeout=window)
        return 1


@contextmanager
def cache_lock(
    key: str, *, ttl: float, wait: float, done: Callable[[], bool] = lambda: False
) -> Iterator[bool]:
    """Hold `key` across threads, processes and (on Redis) machines; yields whether it is held.

    Polls until the lock is taken, `done()` says waiting is pointless, or `wait` seconds
    pass. `ttl` frees the lock of a holder that died; it must outlast the work it guards.
    """
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    held = False
    while True:
        if atomic_add(key, token, timeout=ttl):
            held = True
            break
        if done() or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    try:
        yield held
    finally:
        # Django's cache has no compare-and-delete; the lock outlives the work (ttl), so
        # it is ours unless it expired, and then this check spares the new owner.
        cache = caches["default"]
        if held and cache.get(key) == token:
            cache.delete(key)
