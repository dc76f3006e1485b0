"""core.locks on each kind of cache the site runs on: the file cache (one server), an atomic
cache (Redis in production; Django's local-memory cache takes the same path without a
server), and Redis itself."""

from __future__ import annotations

import time

import pytest
from django.core.cache import caches

from core import locks
from core.locks import atomic_add, atomic_count, cache_lock

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(params=["file", "locmem", pytest.param("redis", marks=pytest.mark.redis)])
def cache(request, settings, tmp_path):
    if request.param == "file":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": str(tmp_path / "cache"),
            }
        }
    elif request.param == "locmem":
        settings.CACHES = LOCMEM
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": request.getfixturevalue("redis_url"),
            }
        }
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


class Clock:
    """time.time() for core.locks and the cache backends, moved on by hand (Redis keeps
    its own clock: its tests wait instead)."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    for module in (
        "core.locks",
        "django.core.cache.backends.filebased",
        "django.core.cache.backends.locmem",
    ):
        monkeypatch.setattr(f"{module}.time", clock)  # each backend reads time.time()
    return clock


def wait(clock: Clock, cache, seconds: float) -> None:
    if "redis" in type(cache).__module__:
        time.sleep(seconds)
    else:
        clock.now += seconds


def test_a_count_goes_up_by_one_per_event_and_per_key(cache, clock):
    assert [atomic_count("resets:a", window=60) for _ in range(3)] == [1, 2, 3]
    assert atomic_count("resets:b", window=60) == 1


def test_a_count_starts_again_once_its_window_has_passed_since_its_first_event(cache, clock):
    window = 1.5 if "redis" in type(cache).__module__ else 60
    atomic_count("resets:a", window=window)
    wait(clock, cache, window * 0.6)
    assert atomic_count("resets:a", window=window) == 2  # a later event does not extend it
    wait(clock, cache, window * 0.6)
    assert atomic_count("resets:a", window=window) == 1


def test_a_count_whose_key_expired_between_its_add_and_its_increment_starts_at_one(
    settings, clock, monkeypatch
):
    settings.CACHES = LOCMEM  # the race forced on the atomic path
    cache = caches["default"]
    monkeypatch.setattr(cache, "add", lambda *args, **kwargs: True)  # added, then gone
    assert atomic_count("resets:a", window=60) == 1
    assert cache.get("resets:a") == 1
    wait(clock, cache, 61)
    assert cache.get("resets:a") is None  # the new window's own expiry


def test_an_add_succeeds_once_until_its_timeout(cache, clock):
    timeout = 1.5 if "redis" in type(cache).__module__ else 30
    assert atomic_add("lock:a", "first", timeout=timeout) is True
    assert atomic_add("lock:a", "second", timeout=timeout) is False
    assert cache.get("lock:a") == "first"
    wait(clock, cache, timeout + 0.5)
    assert atomic_add("lock:a", "third", timeout=timeout) is True


def test_a_lock_is_held_by_one_and_freed_for_the_next(cache, monkeypatch):
    monkeypatch.setattr(locks, "POLL_SECONDS", 0.001)
    with (
        cache_lock("lock:sync", ttl=30, wait=0) as first,
        cache_lock("lock:sync", ttl=30, wait=0.01) as second,
    ):
        assert (first, second) == (True, False)
    with cache_lock("lock:sync", ttl=30, wait=0) as again:
        assert again is True
