"""The catalog cache under load: single flight across threads, processes and Redis; failures
remembered and served stale; the per-process memo; warming and refreshing."""

from __future__ import annotations

import io
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
from django.core.cache import cache
from django.core.management import call_command
from django.template.loader import render_to_string
from django.utils.html import strip_tags
from responses.matchers import query_param_matcher

from catalog import services
from fal.errors import FalServerError
from fal.testing import counting_emulator
from fal.types import ModelsQuery

ROOT = Path(__file__).resolve().parent.parent

CATEGORY = "image-to-video"  # 196 models in the snapshot: two upstream pages of 100


def count_requests(monkeypatch, delay: float) -> list[str]:
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
    """Counts requests that reach the transport; each takes 0.2 s so that callers overlap."""
    return count_requests(monkeypatch, 0.2)


@pytest.fixture
def upstream(monkeypatch):
    """Counts requests that reach the transport."""
    return count_requests(monkeypatch, 0)


def run_concurrently(n: int, target) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target()
        except Exception as exc:  # reported by the assertions below
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


def assert_single_flight(results: list, calls: list[str]) -> None:
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {len(r.models) for r in results} == {196}
    # Exactly one upstream call per page: the two pages of the category, once each.
    assert sorted(Counter(calls).values()) == [1, 1]


# --- Single flight ---------------------------------------------------------------------------


def test_32_threads_asking_for_a_cold_page_cause_one_upstream_call(slow_upstream):
    results = run_concurrently(32, lambda: services.catalog_search(category=CATEGORY))
    assert_single_flight(results, slow_upstream)


def test_single_flight_across_threads_on_the_file_cache(settings, tmp_path, slow_upstream):
    use_file_cache(settings, tmp_path / "cache")
    results = run_concurrently(32, lambda: services.catalog_search(category=CATEGORY))
    assert_single_flight(results, slow_upstream)
    assert (tmp_path / "cache" / "locks").is_dir()


@pytest.mark.redis
def test_single_flight_across_threads_on_redis(settings, redis_url, slow_upstream):
    use_redis_cache(settings, redis_url)
    results = run_concurrently(32, lambda: services.catalog_search(category=CATEGORY))
    assert_single_flight(results, slow_upstream)


# Each process loads Django, says READY, waits for GO on stdin, then asks for the category.
WORKER = """
import json, sys, django
django.setup()
from catalog import services
print("READY", flush=True)
sys.stdin.readline()
result = services.catalog_search(category=sys.argv[1])
print(json.dumps({"models": len(result.models), "stale": result.stale}), flush=True)
"""


def run_processes(n: int, env: dict[str, str]) -> list[dict]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_URL", "FAL_"))}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, CATEGORY],
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
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]


def test_processes_sharing_the_file_cache_make_one_upstream_call_per_page(tmp_path):
    with counting_emulator(delay=0.3) as (server, upstream):
        results = run_processes(
            6, {"DJANGO_CACHE_DIR": str(tmp_path / "cache"), "FAL_API_URL": server.url}
        )
    assert results == [{"models": 196, "stale": False}] * 6
    assert sorted(upstream.per_request().values()) == [1, 1]


@pytest.mark.redis
def test_processes_sharing_redis_make_one_upstream_call_per_page(redis_url):
    with counting_emulator(delay=0.3) as (server, upstream):
        results = run_processes(6, {"REDIS_URL": redis_url, "FAL_API_URL": server.url})
    assert results == [{"models": 196, "stale": False}] * 6
    assert sorted(upstream.per_request().values()) == [1, 1]


# --- Failures --------------------------------------------------------------------------------

API = "https://api.fal.test/v1/models"


@pytest.fixture
def live_api(settings, no_internet):
    settings.FAL_API_URL = "https://api.fal.test/v1"
    settings.FAL_API_MAX_RETRIES = 0
    return no_internet


def two_pages(mock) -> None:
    first = {"models": [{"endpoint_id": "a/one"}], "next_cursor": "Mg", "has_more": True}
    second = {"models": [{"endpoint_id": "a/two"}], "next_cursor": None, "has_more": False}
    mock.get(API, json=first, match=[query_param_matcher({"limit": "100"})])
    mock.get(API, json=second, match=[query_param_matcher({"limit": "100", "cursor": "Mg"})])


def outage(mock) -> int:
    """Every request fails from now on; returns the number of calls made so far."""
    mock.remove("GET", API)
    mock.get(API, status=503, json={"error": {"type": "server_error", "message": "down"}})
    return len(mock.calls)


def test_an_outage_is_served_stale_with_one_upstream_call_per_result(live_api):
    two_pages(live_api)
    assert [m.endpoint_id for m in services.catalog_search().models] == ["a/one", "a/two"]
    services.catalog_refresh()
    before = outage(live_api)
    result = services.catalog_search()
    assert [m.endpoint_id for m in result.models] == ["a/one", "a/two"]
    assert result.stale and isinstance(result.error, FalServerError)
    # The first page failed; the second came from the stale copy without asking again.
    assert len(live_api.calls) - before == 1


def test_a_failure_is_remembered_so_waiting_callers_do_not_retry_it(live_api):
    two_pages(live_api)
    services.catalog_search()
    services.catalog_refresh()
    before = outage(live_api)
    results = run_concurrently(16, services.catalog_search)
    assert all(r.stale for r in results)
    assert len(live_api.calls) - before == 1
    assert services.catalog_search().stale and len(live_api.calls) - before == 1


def test_after_the_failure_is_forgotten_the_api_is_asked_again(live_api, monkeypatch):
    monkeypatch.setattr(services, "ERROR_TTL", 1)
    two_pages(live_api)
    services.catalog_search()
    services.catalog_refresh()
    outage(live_api)
    assert services.catalog_search().stale
    time.sleep(1.1)
    live_api.remove("GET", API)
    two_pages(live_api)
    before = len(live_api.calls)
    result = services.catalog_search()
    assert not result.stale and len(live_api.calls) - before == 2


# --- The per-process memo ----------------------------------------------------------------------


def test_a_warm_result_is_the_same_object_until_a_refresh(upstream):
    first = services.catalog_search(category=CATEGORY)
    assert services.catalog_search(category=CATEGORY) is first
    services.catalog_refresh()
    again = services.catalog_search(category=CATEGORY)
    assert again is not first and again.models == first.models
    assert len(upstream) == 4


def test_the_memo_follows_pages_refetched_by_another_process(upstream):
    first = services.catalog_search(category=CATEGORY)
    # Another process found the pages expired and fetched them again: a new manifest token.
    query = ModelsQuery(category=CATEGORY, limit=services.SEARCH_PAGE_SIZE)
    for cursor in (None, "Mg"):
        cache.delete(services.page_cache_key(query, cursor))
    cache.delete(services.page_cache_key(query, None, kind="list"))
    services.catalog_search(category="training")  # unrelated; memo untouched
    second = services.catalog_search(category=CATEGORY)
    assert second is not first and second.fetched_at > first.fetched_at
    assert len(upstream) == 2 + 1 + 2


def test_the_memo_expires_with_the_pages(settings, upstream):
    settings.CATALOG_CACHE_TTL = 1
    first = services.catalog_search(category=CATEGORY)
    time.sleep(1.2)
    second = services.catalog_search(category=CATEGORY)
    assert second is not first and len(upstream) == 4


# --- Warm, refresh, freshness ------------------------------------------------------------------


def test_catalog_warm_fetches_every_page_once(upstream):
    out, err = io.StringIO(), io.StringIO()
    call_command("catalog_warm", stdout=out, stderr=err)
    assert len(upstream) == 15  # 1,434 models, 100 a page
    assert "1434 models" in out.getvalue()
    assert "models" in err.getvalue()  # tqdm draws its bar on stderr
    call_command("catalog_warm", stdout=out, stderr=err)
    assert len(upstream) == 15
    assert services.catalog_search() is services.catalog_search()


def test_catalog_warm_refresh_fetches_again(upstream):
    call_command("catalog_warm", stdout=io.StringIO(), stderr=io.StringIO())
    call_command("catalog_warm", "--refresh", stdout=io.StringIO(), stderr=io.StringIO())
    assert len(upstream) == 30


def visible_text(html: str) -> str:
    return " ".join(strip_tags(html).split())


def test_freshness_note_says_when_the_data_is_from():
    result = services.catalog_search(category="llm")
    text = visible_text(render_to_string("catalog/_freshness.html", {"result": result}))
    assert text == f"Data as of {result.fetched_at:%H:%M} UTC"


def test_freshness_note_says_the_live_api_is_unavailable(live_api):
    two_pages(live_api)
    services.catalog_search()
    services.catalog_refresh()
    outage(live_api)
    result = services.catalog_search()
    text = visible_text(render_to_string("catalog/_freshness.html", {"result": result}))
    assert text.startswith(f"Catalog as of {result.fetched_at:%H:%M} UTC, live API unavailable")
