"""`cache.add` and a windowed counter that are atomic on every cache backend the site runs on.

Redis (SET NX) and the local-memory cache add atomically; Django's file cache checks for
the file, then writes it, so two threads or processes can both "add" the same key. Here
an add on the file cache holds an exclusive `flock` on a lock file next to the cache (one
of 64 stripes by key), which makes its check-then-write one step for every process that
shares the directory. The kernel frees the lock if its holder dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache

STRIPES = 64


@contextmanager
def _flock(directory: str, key: str):
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
        with _flock(cache._dir, key):
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
        with _flock(cache._dir, key):
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
