"""Fixtures for every package's tests: no internet, a fresh cache, the synced index, people,
Redis, Chromium and axe-core for the browser tests; and the collection order (sweeps first,
browser tests last, bin/mutation's order).

Fixtures that one package's tests use live in that package's conftest.py (tests/catalog/);
helpers that test modules and bench/ import live in tests/helpers.py."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
import requests
import responses

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, dump_index, load_index, restore_index, save_index

LOOPBACK = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/")
UNMATCHED = "Connection refused by Responses"


@pytest.fixture(autouse=True)
def no_internet():
    """Every `requests` call is mocked; loopback servers pass; anything else fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(LOOPBACK)
        yield mock
        leaked = [c.request.url for c in mock.calls if UNMATCHED in str(c.response)]
        assert not leaked, f"unexpected network calls: {leaked}"


@pytest.fixture(autouse=True)
def offline_settings(settings, tmp_path):
    """The offline snapshot, no key, and a cache of this test's own: the file cache, as in
    production by default (its flock single flight, its pickling, its expiry on disk);
    tests marked `redis` or asking for `redis_cache` run on Redis instead."""
    settings.FAL_API_URL = ""
    settings.FAL_KEY = ""
    settings.FAL_ADMIN_KEY = ""
    settings.FAL_API_TIMEOUT = 5
    settings.FAL_API_MAX_RETRIES = 2
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    # Real hashing costs ~0.4 s per user; tests need passwords to work, not to be strong.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


# --- The catalog index: synced once per session from the offline snapshot --------------------

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database with the index synced from the bundled snapshot, as bin/serve does."""
    from django.test import override_settings

    from catalog.sync import sync_catalog

    # bin/mutation runs a test session per mutant: the first, unmutated sessions keep the
    # synced tables in this file and the rest load them (7 s a mutant, most of its time).
    saved = os.environ.get("MUTATION_INDEX_TABLES")
    if saved:
        import catalog.index

        # Each mutant's session is forked from mutmut's process, which has run the tests
        # unmutated: its loaded index (rendered cards, grids) would hide the mutant's code.
        catalog.index._current = None
    with django_db_blocker.unblock(), override_settings(FAL_API_URL="", CACHES=LOCMEM):
        if saved and os.path.exists(saved):
            load_index(saved)
            restore_index()
            return
        run = sync_catalog(trigger="tests")
        assert run.state == "succeeded", run.error
        save_index()
    if saved and os.environ.get("MUTANT_UNDER_TEST") in ("stats", ""):  # unmutated code only
        dump_index(saved)


@pytest.fixture(autouse=True)
def filled_index(request, django_db_blocker):
    """Every test that uses the database finds the index filled, even after a transactional
    test flushed it: restored outside the test's own transaction, so it stays."""
    uses_db = request.node.get_closest_marker("django_db") or {
        "db", "transactional_db", "live_server", "django_user_model"
    } & set(request.fixturenames)  # fmt: skip
    if uses_db:
        from catalog.models import CatalogEntry

        request.getfixturevalue("django_db_setup")
        with django_db_blocker.unblock():
            if not CatalogEntry.objects.exists():
                restore_index()


@pytest.fixture
def count_upstream(monkeypatch):
    """URLs of the requests that reach a transport (cache misses), live or in process."""
    calls: list[str] = []
    original = requests.Session.send

    def counting_send(self, request, **kwargs):
        calls.append(request.url)
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", counting_send)
    return calls


# --- People: a member and a curator, used by the tests of several packages ------------------


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user(username="mia", password="member-pass-1234")


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def curator(django_user_model):
    """A member of the "curator" group (made by a migration): may change shortlists."""
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username="cora", password="curator-pass-1234")
    user.groups.add(Group.objects.get(name="curator"))
    return user


# --- Browser tests: Debian's Chromium driven by Playwright against live_server, and axe-core ---


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Chromium as bin/test installs it, for every package's browser tests."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run bin/test, which installs it", pytrace=False
        )
    # pytest-django's live_server + Playwright's sync API run in one thread with an event
    # loop: the test's own database calls would otherwise be refused as async-unsafe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def axe_path() -> Path:
    """axe.min.js from npm's axe-core tarball, which bin/test fetches (pinned, checked)."""
    path = os.environ.get("AXE_CORE_JS", "")
    if not path or not Path(path).is_file():
        pytest.fail(
            f"axe-core not found (AXE_CORE_JS={path!r}): run bin/test, which fetches it",
            pytrace=False,
        )
    return Path(path)


# --- Collection order: global, so that xdist and bin/mutation see every package's tests -----


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Sweeps run first and browser tests last (after pytest-django's own ordering).

    The sweeps are the longest tests: started first, bin/test's pytest workers (xdist
    hands out tests in this order) share them out instead of one waiting for the last.
    Browser tests last: Playwright's sync API leaves its event loop as the main thread's
    running loop, and after that the test client cannot call an async view (/health/):
    asgiref refuses AsyncToSync there. xdist keeps each worker's tests in this order."""

    def order(item) -> int:
        if item.get_closest_marker("browser"):
            return 2
        return 0 if item.get_closest_marker("sweep") else 1

    if os.environ.get("MUTATION_INDEX_TABLES"):
        quickest_first(items, Path(os.environ["MUTATION_INDEX_TABLES"]).parent)
    else:
        items.sort(key=order)


def quickest_first(items, mutants_dir: Path) -> None:
    """bin/mutation's order: tests without the database first, then database tests, then
    transactional ones (Django's rule among those two), each part's quickest files first
    with a file's tests kept together (module fixtures set up once). A mutant's session
    stops at its first failure (-x), so a mutant that a unit test of fal/ kills no longer
    waits for every catalog-wide test first (pytest-django puts database-free tests last)."""
    stats = mutants_dir / "mutmut-stats.json"
    seconds = json.loads(stats.read_text())["duration_by_test"] if stats.exists() else {}

    def database_use(item) -> int:
        marker = item.get_closest_marker("django_db")
        names = item.fixturenames
        transactional = marker and (
            marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")
        )
        if transactional or "transactional_db" in names or "live_server" in names:
            return 2
        return 1 if marker or "db" in names else 0

    part = {item.nodeid: (database_use(item), item.nodeid.split("::")[0]) for item in items}
    seconds_per_part = Counter()
    for nodeid, key in part.items():
        seconds_per_part[key] += seconds.get(nodeid, 0)
    items.sort(
        key=lambda item: (
            part[item.nodeid][0],
            seconds_per_part[part[item.nodeid]],
            part[item.nodeid][1],
        )
    )


# --- Redis: tests marked `redis` need a real server (bin/test starts one) -----------------------


def pytest_runtest_setup(item):
    """A `redis` test without REDIS_TEST_URL fails under CI and is skipped, loudly, elsewhere."""
    if item.get_closest_marker("redis") and not os.environ.get("REDIS_TEST_URL"):
        message = "REDIS_TEST_URL is not set: run bin/test, which starts a redis-server on loopback"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(f"NOT RUN, Redis tests skipped: {message}")


@pytest.fixture
def redis_url():
    """REDIS_TEST_URL pointed at an empty database of that server, emptied again afterwards."""
    import redis

    url = os.environ["REDIS_TEST_URL"]
    base = re.sub(r"/\d*$", "", url)
    for db in range(1, 16):
        client = redis.Redis.from_url(f"{base}/{db}")
        claimed = client.set("catalog-test:claimed", 1, nx=True)
        empty = claimed and client.dbsize() == 1
        if claimed:
            client.delete("catalog-test:claimed")
        if empty:
            try:
                yield f"{base}/{db}"
            finally:
                client.flushdb()
                client.close()
            return
        client.close()
    pytest.fail(f"no empty database on {base} (1-15)")


@pytest.fixture(params=["file", pytest.param("redis", marks=pytest.mark.redis)])
def cache_backend(request, settings):
    """Runs a test on each production cache: the file cache (the default), then Redis."""
    if request.param == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": request.getfixturevalue("redis_url"),
            }
        }
    return request.param
