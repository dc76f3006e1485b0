"""The page cache of catalog.upstream: keys, generations, single flight across threads,
processes and Redis, the short memory of failures, and what each mode sends fal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from catalog import upstream
from fal.errors import FalServerError
from fal.types import ModelsQuery
from fal_emulator import OFFLINE_KEY, encode_cursor
from fal_emulator.testing import counting_emulator

ROOT = Path(__file__).resolve().parent.parent.parent
LIST = ModelsQuery(limit=100)
CATEGORY = ModelsQuery(category="image-to-video", limit=100)  # 196 models: two pages
API = "https://api.fal.test/v1/models"


# --- Helpers ---------------------------------------------------------------------------------


def count_requests(monkeypatch, delay: float) -> list[str]:
    """URLs of the requests that reach a transport; each takes `delay` s so callers overlap."""
    calls: list[str] = []
    lock = threading.Lock()
    original = requests.Session.send

    def send(self, request, **kwargs):
        with lock:
            calls.append(request.url)
        time.sleep(delay)
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return calls


@pytest.fixture
def slow_upstream(monkeypatch):
    return count_requests(monkeypatch, 0.2)


def run_concurrently(n: int, target) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target()
        except Exception as exc:  # reported by the assertions
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def use_file_cache(settings, directory: Path) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(directory),
        }
    }


def use_redis_cache(settings, url: str) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }


def fetch_both_category_pages(generation: str = "test") -> int:
    """Both pages of CATEGORY through the page cache; the number of models they hold."""
    first, _ = upstream.fetch_page_json(CATEGORY, None, generation=generation)
    second, _ = upstream.fetch_page_json(CATEGORY, first["next_cursor"], generation=generation)
    return len(first["models"]) + len(second["models"])


def assert_one_call_per_page(results: list, calls: list[str]) -> None:
    assert not [r for r in results if isinstance(r, Exception)], results
    assert set(results) == {196}
    # Exactly one upstream call per page: the category's two pages, once each.
    assert sorted(Counter(calls).values()) == [1, 1]


@pytest.fixture
def live_api(settings, no_internet):
    """Live mode against a mocked fal that never retries, so each call is one request."""
    settings.FAL_API_URL = "https://api.fal.test/v1"
    settings.FAL_API_MAX_RETRIES = 0
    return no_internet


def outage(mock) -> None:
    mock.get(API, status=503, json={"error": {"type": "server_error", "message": "down"}})


def healthy(mock) -> None:
    mock.replace("GET", API, json={"models": [{"endpoint_id": "a/one"}], "has_more": False})


# --- Where the data comes from -----------------------------------------------------------------


def test_offline_by_default_with_the_snapshot_date_as_label(settings):
    source = upstream.data_source()
    assert not source.live and source.base_url == upstream.OFFLINE_BASE_URL
    assert source.label == f"Offline snapshot · {settings.CATALOG_SNAPSHOT_DATE}"


def test_fal_api_url_turns_on_live_mode(settings):
    settings.FAL_API_URL = "https://api.fal.test/v1"
    assert upstream.data_source() == upstream.DataSource(
        live=True, base_url="https://api.fal.test/v1", label="Live · fal API"
    )


# --- Keys and generations ----------------------------------------------------------------------


def test_cache_key_names_base_url_query_cursor_and_generation(settings):
    query = ModelsQuery(q="flux")
    key = upstream.page_cache_key(query, None, generation="a")
    assert key.startswith(f"catalog:v{upstream.CACHE_VERSION}:page:ga:")
    assert upstream.page_cache_key(query, None, generation="a") == key
    assert upstream.page_cache_key(query, "Mg", generation="a") != key
    assert upstream.page_cache_key(ModelsQuery(q="flu"), None, generation="a") != key
    assert upstream.page_cache_key(query, None, generation="b") != key
    assert upstream.page_cache_key(query, None, generation="a", kind="error") != key
    settings.FAL_API_URL = "https://api.fal.test/v1"
    assert upstream.page_cache_key(query, None, generation="a") != key


def test_a_page_is_fetched_once_per_generation(count_upstream, snapshot_ids):
    data, asked = upstream.fetch_page_json(LIST, None, generation="one")
    assert asked and [m["endpoint_id"] for m in data["models"]] == snapshot_ids[:100]
    again, asked = upstream.fetch_page_json(LIST, None, generation="one")
    assert again == data and not asked
    assert len(count_upstream) == 1
    _, asked = upstream.fetch_page_json(LIST, None, generation="two")
    assert asked and len(count_upstream) == 2
    # Another cursor is another page.
    _, asked = upstream.fetch_page_json(LIST, encode_cursor(2), generation="two")
    assert asked and len(count_upstream) == 3


def test_outside_a_sync_pages_are_kept_for_the_cache_ttl(settings, count_upstream):
    settings.CATALOG_CACHE_TTL = 1
    time.sleep(1.01 - time.time() % 1)  # start just after the generation turns
    upstream.fetch_page_json(LIST)
    assert upstream.fetch_page_json(LIST)[1] is False and len(count_upstream) == 1
    time.sleep(1.1)  # the time generation (and the cached page) moved on
    assert upstream.fetch_page_json(LIST)[1] is True and len(count_upstream) == 2


# --- Single flight ---------------------------------------------------------------------------


def test_32_threads_asking_for_a_cold_page_cause_one_upstream_call(slow_upstream):
    results = run_concurrently(32, lambda: upstream.fetch_page_json(LIST, generation="cold"))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(slow_upstream) == 1
    assert sum(asked for _, asked in results) == 1
    assert len({json.dumps(data) for data, _ in results}) == 1


def test_single_flight_across_threads_on_the_file_cache(settings, tmp_path, slow_upstream):
    use_file_cache(settings, tmp_path / "cache")
    results = run_concurrently(32, fetch_both_category_pages)
    assert_one_call_per_page(results, slow_upstream)
    assert (tmp_path / "cache" / "locks").is_dir()


@pytest.mark.redis
def test_single_flight_across_threads_on_redis(settings, redis_url, slow_upstream):
    use_redis_cache(settings, redis_url)
    results = run_concurrently(32, fetch_both_category_pages)
    assert_one_call_per_page(results, slow_upstream)


# Each process loads Django, says READY, waits for GO on stdin, then asks for both pages.
WORKER = """
import sys, django
django.setup()
from catalog import upstream
from fal.types import ModelsQuery
query = ModelsQuery(category="image-to-video", limit=100)
print("READY", flush=True)
sys.stdin.readline()
first, _ = upstream.fetch_page_json(query, None, generation="shared")
second, _ = upstream.fetch_page_json(query, first["next_cursor"], generation="shared")
print(len(first["models"]) + len(second["models"]), flush=True)
"""


def run_processes(n: int, env: dict[str, str]) -> list[int]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "FAL_"))}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER],
            cwd=ROOT,
            env={**base_env, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "READY", proc.stderr.read()
        for proc in procs:  # all are loaded and waiting: release them together
            proc.stdin.write("GO\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in outputs]
    return [int(out.strip().splitlines()[-1]) for out, _ in outputs]


def test_processes_sharing_the_file_cache_make_one_upstream_call_per_page(tmp_path):
    with counting_emulator(delay=0.3) as (server, counter):
        results = run_processes(
            6, {"DJANGO_CACHE_DIR": str(tmp_path / "cache"), "FAL_API_URL": server.url}
        )
    assert results == [196] * 6
    assert sorted(counter.per_request().values()) == [1, 1]


@pytest.mark.redis
def test_processes_sharing_redis_make_one_upstream_call_per_page(redis_url):
    with counting_emulator(delay=0.3) as (server, counter):
        results = run_processes(6, {"REDIS_URL": redis_url, "FAL_API_URL": server.url})
    assert results == [196] * 6
    assert sorted(counter.per_request().values()) == [1, 1]


# --- Failures --------------------------------------------------------------------------------


def test_a_failure_is_remembered_so_waiting_callers_do_not_retry_it(live_api):
    outage(live_api)
    results = run_concurrently(16, lambda: upstream.fetch_page_json(LIST, generation="down"))
    assert all(isinstance(r, FalServerError) for r in results), results
    assert len(live_api.calls) == 1
    with pytest.raises(FalServerError):
        upstream.fetch_page_json(LIST, generation="down")
    assert len(live_api.calls) == 1
    # The memory is per page: another generation asks fal.
    with pytest.raises(FalServerError):
        upstream.fetch_page_json(LIST, generation="other")
    assert len(live_api.calls) == 2


def test_a_failure_is_remembered_on_the_file_cache_too(settings, tmp_path, live_api):
    use_file_cache(settings, tmp_path / "cache")
    outage(live_api)
    results = run_concurrently(16, lambda: upstream.fetch_page_json(LIST, generation="down"))
    assert all(isinstance(r, FalServerError) for r in results), results
    assert len(live_api.calls) == 1


def test_after_error_ttl_fal_is_asked_again(live_api, monkeypatch):
    monkeypatch.setattr(upstream, "ERROR_TTL", 1)
    outage(live_api)
    with pytest.raises(FalServerError):
        upstream.fetch_page_json(LIST, generation="g")
    healthy(live_api)
    with pytest.raises(FalServerError):  # still remembered
        upstream.fetch_page_json(LIST, generation="g")
    assert len(live_api.calls) == 1
    time.sleep(1.1)
    data, asked = upstream.fetch_page_json(LIST, generation="g")
    assert asked and data["models"] == [{"endpoint_id": "a/one"}]
    assert len(live_api.calls) == 2


# --- What each mode sends --------------------------------------------------------------------


def test_live_mode_sends_the_key(settings, live_api):
    settings.FAL_KEY = "team-key-1"
    healthy_body = {"models": [], "has_more": False}
    live_api.get(API, json=healthy_body)
    upstream.fetch_page_json(LIST, generation="key")
    assert live_api.calls[0].request.headers["Authorization"] == "Key team-key-1"
    upstream.sync_client().get_page_json(LIST)
    assert live_api.calls[1].request.headers["Authorization"] == "Key team-key-1"


def test_offline_mode_never_sends_the_teams_key(settings, monkeypatch):
    settings.FAL_KEY = "team-key-1"
    seen: list[dict] = []
    original = requests.Session.send

    def send(self, request, **kwargs):
        seen.append(dict(request.headers))
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    upstream.fetch_page_json(LIST, generation="offline")
    upstream.sync_client().get_page_json(CATEGORY)
    # Only the emulator's own key, which the offline pricing paths ask for; never FAL_KEY.
    assert len(seen) == 2 and all(h["Authorization"] == f"Key {OFFLINE_KEY}" for h in seen)
    assert not any("team-key-1" in value for h in seen for value in h.values())
