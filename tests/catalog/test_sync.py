"""The sync (catalog.sync): filling the index, re-syncs that cost only the list pages, all or
nothing under failure, gone and back, documents only for what changed, one sync at a time,
patience with 429s, pacing, every fault mode of fal, and `manage.py catalog_sync`."""

from __future__ import annotations

import io
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import pytest
import responses
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from catalog import sync as sync_module
from catalog import upstream
from catalog.index import catalog_index
from catalog.models import CatalogEntry, IndexState, SyncRun
from catalog.sync import LEASE_SECONDS, LIST_PAGE_SIZE, SyncBusy, sync_catalog
from fal.openapi import fallback_url, reconstructed_source, with_fallback_mark
from fal.types import PUBLIC_SCHEMA_URL, find_queries
from fal_emulator import Emulator, encode_cursor, error_response, serve, snapshot_emulator
from fal_emulator.app import MAX_LIMIT_WITH_OPENAPI, OPENAPI_UNAVAILABLE
from fal_emulator.testing import FAILURE_MODES, MARKER, TRACEBACK, FaultUpstream, load_snapshot

ROOT = Path(__file__).resolve().parent.parent.parent
# Where the offline client asks for fal's public per-endpoint document (the emulator answers).
FALLBACK_URL = "http://fal-emulator.invalid/api/openapi/queue/openapi.json"
SUCCEEDED, FAILED, RUNNING = SyncRun.State.SUCCEEDED, SyncRun.State.FAILED, SyncRun.State.RUNNING


# --- Helpers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snapshot() -> tuple[list[dict], dict[str, dict]]:
    """(models, documents) of the bundled snapshot; copy before changing."""
    return load_snapshot()


def is_find(query_string: str) -> bool:
    """A find-mode request of /models (pricing requests name endpoint ids too)."""
    return "endpoint_id=" in query_string and "/pricing" not in query_string


def found_ids(urls: list[str]) -> list[str]:
    """The endpoint ids asked for, with their documents, by find-mode requests."""
    ids = []
    for url in urls:
        query = parse_qs(urlsplit(url).query)
        if "openapi-3.0" in query.get("expand", ()):
            ids += query["endpoint_id"]
    return ids


def index_version() -> int:
    return IndexState.objects.get(pk=1).version


def gone_ids() -> set[str]:
    return set(
        CatalogEntry.objects.filter(gone_at__isnull=False).values_list("endpoint_id", flat=True)
    )


def count_of(html: str) -> int:
    return int(re.search(r'<p id="result-count"[^>]*><strong>(\d+)</strong>', html).group(1))


def answer(start_response, status: int, kind: str, message: str, **headers: str):
    status, header_list, body = error_response(status, kind, message, **headers)
    start_response(f"{status} Error", header_list)
    return [body]


class FailingListRequest:
    """A WSGI wrapper whose `fail_on`-th list-mode request answers 503."""

    def __init__(self, app, fail_on: int) -> None:
        self.app, self.fail_on, self.list_requests = app, fail_on, 0

    def __call__(self, environ, start_response):
        if not is_find(environ["QUERY_STRING"]):
            self.list_requests += 1
            if self.list_requests == self.fail_on:
                return answer(start_response, 503, "service_unavailable", "down for a moment")
        return self.app(environ, start_response)


class RateLimitedOnce:
    """A WSGI wrapper answering its first request 429 with `Retry-After: 1`."""

    def __init__(self, app) -> None:
        self.app, self.calls = app, []

    def __call__(self, environ, start_response):
        self.calls.append(environ["QUERY_STRING"])
        if len(self.calls) == 1:
            return answer(start_response, 429, "rate_limited", "slow down", **{"Retry-After": "1"})
        return self.app(environ, start_response)


class Timed:
    """A WSGI wrapper recording when each request arrived."""

    def __init__(self, app) -> None:
        self.app, self.times = app, []

    def __call__(self, environ, start_response):
        self.times.append(time.monotonic())
        return self.app(environ, start_response)


@pytest.fixture
def live(settings):
    """Live mode against `serve(app)` on loopback: `live(app)` starts it; unpaced, patient."""
    servers = []

    def start(app):
        server = serve(app)
        servers.append(server)
        settings.FAL_API_URL = server.url
        settings.CATALOG_SYNC_MAX_RPS = 0
        return server

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def fault(settings):
    """Live mode against a FaultUpstream over the snapshot, with short timeouts."""
    with FaultUpstream(stall_seconds=2, trickle_interval=0.05) as server:
        settings.FAL_API_URL = server.url
        settings.FAL_API_TIMEOUT = 0.3
        settings.CATALOG_SYNC_MAX_RETRIES = 1
        settings.CATALOG_SYNC_MAX_RPS = 0
        yield server


# --- Filling and re-syncing ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_sync_of_the_snapshot_fills_the_index(snapshot, snapshot_ids, count_upstream):
    models, docs = snapshot
    CatalogEntry.objects.all().delete()
    SyncRun.objects.all().delete()
    IndexState.objects.all().delete()
    assert catalog_index().empty

    run = sync_catalog(trigger="test")

    assert run.state == SUCCEEDED, run.error
    entries = list(CatalogEntry.objects.order_by("position"))
    assert [e.endpoint_id for e in entries] == snapshot_ids
    assert [e.entry for e in entries] == models  # as returned by list mode
    # fal's document where the expansion worked; where it failed, the fallback (offline the
    # reconstructed document, labelled with where it came from), else fal's error object.
    recorded = {i: d for i, d in docs.items() if not reconstructed_source(d)}
    reconstructed = {i: d for i, d in docs.items() if reconstructed_source(d)}
    for e in entries:
        if e.endpoint_id in recorded:
            assert e.openapi == recorded[e.endpoint_id]
        elif e.endpoint_id in reconstructed:
            url = f"{FALLBACK_URL}?endpoint_id={quote(e.endpoint_id, safe='')}"
            failed = OPENAPI_UNAVAILABLE["error"]["message"]
            assert e.openapi == with_fallback_mark(reconstructed[e.endpoint_id], url, failed)
        else:
            assert e.openapi == OPENAPI_UNAVAILABLE
    assert (len(recorded), len(reconstructed)) == (920, 369)
    list_pages = math.ceil(len(snapshot_ids) / LIST_PAGE_SIZE)
    document_pages = sum(
        math.ceil(len(q.endpoint_ids) / MAX_LIMIT_WITH_OPENAPI) for q in find_queries(snapshot_ids)
    )
    fallbacks = [url for url in count_upstream if url.startswith(FALLBACK_URL)]
    assert len(fallbacks) == len(snapshot_ids) - len(recorded)  # one per failed expansion
    price_calls = math.ceil(len(snapshot_ids) / 50)  # every listed id, 50 per pricing call
    assert len(count_upstream) == list_pages + document_pages + len(fallbacks) + price_calls
    assert len(count_upstream) == 15 + 144 + 514 + 29
    assert run.pages == list_pages + document_pages
    assert (run.upstream_calls, run.price_calls) == (len(count_upstream), 29)
    assert len([url for url in count_upstream if "/models/pricing?" in url]) == 29
    assert (run.models_seen, run.added, run.documents_fetched) == (1434, 1434, 1434)
    assert (run.changed, run.gone, run.back) == (0, 0, 0)
    assert list(SyncRun.objects.values_list("pk", flat=True)) == [run.pk]
    assert [m.endpoint_id for m in catalog_index().models] == snapshot_ids


@pytest.mark.django_db
def test_a_resync_of_an_unchanged_catalog_costs_only_its_list_pages_and_prices(count_upstream):
    version = index_version()
    index = catalog_index()
    before = list(CatalogEntry.objects.values_list("endpoint_id", "entry", "position", "openapi"))

    run = sync_catalog()

    assert run.state == SUCCEEDED, run.error
    assert len(count_upstream) == run.upstream_calls == run.pages + run.price_calls == 15 + 29
    assert not [url for url in count_upstream if is_find(url)]
    assert run.prices_changed == 0 and run.prices_seen == 1433
    assert run.documents_fetched == 0
    assert (run.added, run.changed, run.gone, run.back) == (0, 0, 0, 0)
    after = list(CatalogEntry.objects.values_list("endpoint_id", "entry", "position", "openapi"))
    assert after == before
    assert index_version() == version and catalog_index() is index
    assert set(CatalogEntry.objects.values_list("last_seen_sync", flat=True)) == {run.pk}


@pytest.mark.django_db
def test_a_crawl_failing_midway_keeps_every_model(settings, snapshot, sync_from, member_client):
    models, docs = snapshot
    settings.CATALOG_SYNC_MAX_RETRIES = 0
    assert sync_from(Emulator(models[:350], docs)).state == SUCCEEDED  # four list pages
    version, gone = index_version(), gone_ids()
    first = models[0]["endpoint_id"]
    changed = [dict(models[0], metadata={"display_name": "Changed"}), *models[1:350]]
    failing = FailingListRequest(Emulator(changed, docs), fail_on=3)

    run = sync_from(failing)

    assert run.state == FAILED and "down for a moment" in run.error
    assert failing.list_requests == 3  # it stopped at the failed page
    assert (run.added, run.changed, run.gone, run.back) == (0, 0, 0, 0)
    assert SyncRun.objects.get(pk=run.pk).state == FAILED
    # Nothing was written: not the pages it saw, nor "gone" for the pages it did not see.
    assert index_version() == version and gone_ids() == gone
    assert CatalogEntry.objects.get(endpoint_id=first).entry == models[0]
    assert len(catalog_index().models) == 350
    assert count_of(member_client.get("/").content.decode()) == 350


@pytest.mark.django_db
def test_a_model_missing_from_a_complete_crawl_is_gone_and_back_when_it_returns(
    snapshot, snapshot_ids, sync_from
):
    models, docs = snapshot
    missing = snapshot_ids[7]

    run = sync_from(Emulator([m for m in models if m["endpoint_id"] != missing], docs))

    assert run.state == SUCCEEDED and (run.gone, run.back) == (1, 0)
    assert gone_ids() == {missing}
    assert CatalogEntry.objects.get(endpoint_id=missing).gone_at is not None
    index = catalog_index()
    assert index.is_gone(missing) and missing not in [m.endpoint_id for m in index.models]

    back = sync_from(snapshot_emulator())

    assert back.state == SUCCEEDED and (back.gone, back.back, back.added) == (0, 1, 0)
    assert gone_ids() == set()
    assert [m.endpoint_id for m in catalog_index().models] == snapshot_ids


@pytest.mark.django_db
def test_a_changed_entry_refetches_its_document_and_an_unchanged_one_does_not(
    snapshot, snapshot_ids, sync_from, count_upstream
):
    models, docs = snapshot
    changed_id, unchanged_id = snapshot_ids[3], snapshot_ids[4]
    unchanged_document = CatalogEntry.objects.get(endpoint_id=unchanged_id).openapi
    new_document = {"openapi": "3.0.4", "info": {"title": "v2", "version": "2"}, "paths": {}}
    catalog = [
        dict(m, metadata={**m.get("metadata", {}), "description": "Now better."})
        if m["endpoint_id"] == changed_id
        else m
        for m in models
    ]

    run = sync_from(Emulator(catalog, {**docs, changed_id: new_document}))

    assert run.state == SUCCEEDED, run.error
    assert found_ids(count_upstream) == [changed_id]
    assert (run.changed, run.documents_fetched, run.added) == (1, 1, 0)
    entry = CatalogEntry.objects.get(endpoint_id=changed_id)
    assert entry.entry["metadata"]["description"] == "Now better."
    assert entry.openapi == new_document
    assert CatalogEntry.objects.get(endpoint_id=unchanged_id).openapi == unchanged_document


@pytest.mark.django_db
def test_a_newly_added_endpoint_is_added_with_its_document(
    snapshot, snapshot_ids, sync_from, count_upstream
):
    models, docs = snapshot
    new_id = "fal-ai/brand-new"
    new = dict(models[0], endpoint_id=new_id, metadata={"display_name": "Brand New"})
    document = {"openapi": "3.0.4", "info": {"title": "Brand New", "version": "1"}, "paths": {}}

    run = sync_from(Emulator([*models[:10], new, *models[10:]], {**docs, new_id: document}))

    assert run.state == SUCCEEDED, run.error
    assert (run.added, run.changed, run.gone, run.documents_fetched) == (1, 0, 0, 1)
    assert found_ids(count_upstream) == [new_id]
    entry = CatalogEntry.objects.get(endpoint_id=new_id)
    assert entry.openapi == document and entry.first_seen_sync_id == run.pk
    ids = [m.endpoint_id for m in catalog_index().models]
    assert ids == [*snapshot_ids[:10], new_id, *snapshot_ids[10:]]


# --- The fallback where an expansion failed ---------------------------------------------------

FAL_API = "https://api.fal.ai/v1"
EXPANDED, FALLBACK, NO_DOCUMENT = (
    "fal-ai/flux/dev",  # fal expands its document
    "fal-ai/clarity-upscaler",  # the expansion fails; fal.ai publishes its document
    "bytedance/seedream/v5/pro/edit",  # the expansion fails; no document anywhere
)


def public_url(endpoint_id: str) -> str:
    return f"{PUBLIC_SCHEMA_URL}?endpoint_id={quote(endpoint_id, safe='')}"


@pytest.fixture
def fal_live(settings, no_internet, snapshot, db):
    """An empty index, and fal live, mocked with `responses`: its API (an emulator of three
    models whose only expansion is EXPANDED's) and fal.ai's public documents (FALLBACK's;
    `public["status"]` makes every answer that status). Returns the documents and asks."""
    models, docs = snapshot
    CatalogEntry.objects.all().delete()
    SyncRun.objects.all().delete()
    emulator = Emulator(
        [m for m in models if m["endpoint_id"] in (EXPANDED, FALLBACK, NO_DOCUMENT)],
        {EXPANDED: docs[EXPANDED]},
    )
    info = {k: v for k, v in docs[FALLBACK]["info"].items() if k != "x-catalog-reconstructed"}
    public = {"documents": {FALLBACK: {**docs[FALLBACK], "info": info}}, "status": 200, "asked": []}

    def api(request):
        url = urlsplit(request.url)
        query = parse_qsl(url.query, keep_blank_values=True)
        status, headers, body = emulator.handle(request.method, url.path, query)
        return status, dict(headers), body

    def document(request):
        (endpoint_id,) = parse_qs(urlsplit(request.url).query)["endpoint_id"]
        public["asked"].append(endpoint_id)
        if public["status"] != 200:
            return public["status"], {}, json.dumps({"error": {"type": "server_error"}})
        found = public["documents"].get(endpoint_id)
        if found is None:
            return 404, {}, json.dumps({"error": {"type": "not_found", "message": "none"}})
        return 200, {}, json.dumps(found)

    no_internet.add_callback(responses.GET, re.compile(re.escape(FAL_API) + ".*"), callback=api)
    pattern = re.compile(re.escape(PUBLIC_SCHEMA_URL) + ".*")
    no_internet.add_callback(responses.GET, pattern, callback=document)
    settings.FAL_API_URL = FAL_API
    settings.CATALOG_SYNC_MAX_RPS = 0
    settings.CATALOG_SYNC_MAX_RETRIES = 0
    return public


@pytest.mark.django_db
def test_live_a_failed_expansion_is_filled_from_fals_public_document_labelled(
    fal_live, member_client
):
    run = sync_catalog(trigger="test")

    assert run.state == SUCCEEDED, run.error
    assert sorted(fal_live["asked"]) == sorted(
        [FALLBACK, NO_DOCUMENT]
    )  # only where the expansion failed
    stored = dict(CatalogEntry.objects.values_list("endpoint_id", "openapi"))
    assert fallback_url(stored[EXPANDED]) is None
    assert stored[NO_DOCUMENT] == OPENAPI_UNAVAILABLE
    failed = OPENAPI_UNAVAILABLE["error"]["message"]
    document = fal_live["documents"][FALLBACK]
    assert stored[FALLBACK] == with_fallback_mark(document, public_url(FALLBACK), failed)
    assert reconstructed_source(stored[FALLBACK]) is None  # fal's own, not reconstructed
    assert "seed" in catalog_index().capabilities[FALLBACK].has

    html = unescape(member_client.get(f"/schema/{FALLBACK}/").content.decode())
    assert 'id="schema-provenance"' in html
    assert "fal's catalog could not expand this model's schema" in html
    assert f'href="{public_url(FALLBACK)}"' in html
    assert "upscale_factor" in html
    html = unescape(member_client.get(f"/schema/{NO_DOCUMENT}/").content.decode())
    assert "fal could not provide this model's schema" in html


@pytest.mark.django_db
def test_live_when_fals_public_document_fails_the_run_keeps_fals_error_and_asks_next_time(
    fal_live,
):
    fal_live["status"] = 503

    run = sync_catalog(trigger="test")

    assert run.state == SUCCEEDED, run.error  # the catalog and its documents are synced
    assert len(fal_live["asked"]) == 1  # one failure: the rest wait for the next run
    stored = dict(CatalogEntry.objects.values_list("endpoint_id", "openapi"))
    assert stored[FALLBACK] == stored[NO_DOCUMENT] == OPENAPI_UNAVAILABLE
    fal_live["status"], fal_live["asked"] = 200, []

    again = sync_catalog(trigger="test")

    assert again.state == SUCCEEDED, again.error
    assert sorted(fal_live["asked"]) == sorted([FALLBACK, NO_DOCUMENT])  # asked again
    assert fallback_url(CatalogEntry.objects.get(endpoint_id=FALLBACK).openapi) == public_url(
        FALLBACK
    )


# --- One sync at a time ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_running_sync_refuses_a_second_one():
    running = SyncRun.objects.create(trigger="elsewhere")
    with pytest.raises(SyncBusy):
        sync_catalog(trigger="second")
    assert list(SyncRun.objects.filter(state=RUNNING)) == [running]
    assert not SyncRun.objects.filter(trigger="second").exists()


@pytest.mark.django_db(transaction=True)
def test_two_syncs_started_at_once_one_runs_and_the_other_is_busy():
    """Two threads, two database connections: the database's unique index decides."""
    working, release = threading.Event(), threading.Event()
    result: dict = {}

    def on_progress(run):
        if run.state == RUNNING and not working.is_set():
            working.set()
            release.wait(30)

    def first():
        try:
            result["run"] = sync_catalog(trigger="first", on_progress=on_progress)
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert working.wait(30)
        with pytest.raises(SyncBusy):
            sync_catalog(trigger="second")
    finally:
        release.set()
        thread.join(60)
    assert result["run"].state == SUCCEEDED, result["run"].error
    assert not SyncRun.objects.filter(trigger="second").exists()
    # The first one finished and let go: the next sync runs.
    assert sync_catalog(trigger="third").state == SUCCEEDED


class HeldSecondPage:
    """A WSGI wrapper that holds list page 2 until `release` is set."""

    def __init__(self, app) -> None:
        self.app, self.reached, self.release = app, threading.Event(), threading.Event()

    def __call__(self, environ, start_response):
        query = dict(parse_qsl(environ["QUERY_STRING"]))
        if query.get("cursor") == encode_cursor(2) and not is_find(environ["QUERY_STRING"]):
            self.reached.set()
            self.release.wait(30)
        return self.app(environ, start_response)


def test_a_sync_in_another_process_makes_a_second_one_busy(tmp_path, snapshot):
    """Two `manage.py catalog_sync` processes on one SQLite file: the second is refused."""
    models, docs = snapshot
    held = HeldSecondPage(Emulator(models[:150], docs))
    server = serve(held)
    database = tmp_path / "db.sqlite3"
    skipped = ("REDIS_URL", "FAL_", "DATABASE_URL", "CATALOG_")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(skipped)},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_CACHE_DIR": str(tmp_path / "cache"),
        "FAL_API_URL": server.url,
        "FAL_API_TIMEOUT": "30",
        "CATALOG_SYNC_MAX_RPS": "0",
    }
    manage = [sys.executable, "manage.py"]
    first = None
    try:
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
        first = subprocess.Popen(
            [*manage, "catalog_sync", "--quiet"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert held.reached.wait(60), "the first sync never reached page 2"
        second = subprocess.run(
            [*manage, "catalog_sync", "--quiet"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0
        assert "Another sync is running" in second.stderr
        held.release.set()
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert "150 models" in out
    finally:
        held.release.set()
        if first is not None and first.poll() is None:
            first.kill()
            first.wait()
        server.shutdown()
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT state, trigger, models_seen FROM catalog_syncrun").fetchall()
    assert rows == [("succeeded", "command", 150)]


@pytest.mark.django_db
def test_a_running_sync_whose_heartbeat_stopped_is_abandoned():
    dead = SyncRun.objects.create(trigger="crashed")
    stopped = timezone.now() - timedelta(seconds=LEASE_SECONDS + 1)
    SyncRun.objects.filter(pk=dead.pk).update(heartbeat_at=stopped)

    run = sync_catalog(trigger="next")

    assert run.state == SUCCEEDED, run.error
    dead.refresh_from_db()
    assert dead.state == FAILED and dead.finished_at is not None
    assert dead.error.startswith("Abandoned")


@pytest.mark.django_db
def test_a_running_sync_within_its_lease_is_not_abandoned():
    alive = SyncRun.objects.create(trigger="working")
    recent = timezone.now() - timedelta(seconds=LEASE_SECONDS - 30)
    SyncRun.objects.filter(pk=alive.pk).update(heartbeat_at=recent)
    with pytest.raises(SyncBusy):
        sync_catalog(trigger="next")
    alive.refresh_from_db()
    assert alive.state == RUNNING and not alive.error


# --- fal answering badly ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_429_waits_for_retry_after_and_the_sync_succeeds(settings, live, monkeypatch):
    app = RateLimitedOnce(snapshot_emulator())
    live(app)
    settings.FAL_API_TIMEOUT = 5
    settings.CATALOG_SYNC_MAX_RETRIES = 2
    client = upstream.sync_client()
    slept: list[float] = []
    monkeypatch.setattr(client, "_sleep", lambda s: slept.append(s) or time.sleep(s))

    started = time.monotonic()
    run = sync_catalog()
    elapsed = time.monotonic() - started

    assert run.state == SUCCEEDED, run.error
    assert slept == [1.0] and elapsed >= 1.0
    assert app.calls[0] == app.calls[1]  # the same page, asked again after the wait
    assert (run.models_seen, run.upstream_calls, run.gone) == (1434, 15, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("mode", [m for m in FAILURE_MODES if m != "find404"])
def test_each_fault_mode_fails_the_sync_and_the_index_keeps_serving(mode, fault, member_client):
    version = index_version()
    fault.set_mode(mode)

    run = sync_catalog()

    assert run.state == FAILED and run.error and run.finished_at is not None
    assert SyncRun.objects.get(pk=run.pk).error == run.error
    assert MARKER not in run.error and TRACEBACK not in run.error
    assert any(r["mode"] == mode for r in fault.requests)
    assert index_version() == version and gone_ids() == set()
    fault.set_mode("healthy")  # the grid must not need fal at all, though
    assert count_of(member_client.get("/").content.decode()) == 1434


@pytest.mark.django_db
def test_when_find_mode_answers_404_the_sync_still_succeeds(fault, snapshot_ids):
    wanted = snapshot_ids[:3]  # their last document fetch "failed": they want one again
    CatalogEntry.objects.filter(endpoint_id__in=wanted).update(openapi_for="")
    documents = dict(CatalogEntry.objects.values_list("endpoint_id", "openapi"))
    fault.set_mode("find404")

    run = sync_catalog()

    assert run.state == SUCCEEDED, run.error
    assert (run.models_seen, run.documents_fetched, run.gone) == (1434, 0, 0)
    asked = [v for r in fault.requests for k, v in r["query"] if k == "endpoint_id"]
    assert asked == wanted
    assert dict(CatalogEntry.objects.values_list("endpoint_id", "openapi")) == documents


@pytest.mark.django_db
def test_the_sync_paces_its_upstream_calls(settings, live):
    app = Timed(snapshot_emulator())
    live(app)
    settings.CATALOG_SYNC_MAX_RPS = 20

    run = sync_catalog()

    assert run.state == SUCCEEDED, run.error
    assert len(app.times) == run.upstream_calls == 15
    gaps = [b - a for a, b in zip(app.times, app.times[1:], strict=False)]
    assert min(gaps) >= 0.05 * 0.95
    assert (len(app.times) - 1) / (app.times[-1] - app.times[0]) <= 20


# --- manage.py catalog_sync ------------------------------------------------------------------


@pytest.mark.django_db
def test_catalog_sync_prints_a_summary(settings):
    out = io.StringIO()
    call_command("catalog_sync", "--quiet", stdout=out)
    run = SyncRun.objects.first()
    assert run.state == SUCCEEDED and run.trigger == "command"
    assert out.getvalue().strip() == (
        f"sync {run.pk} from Offline snapshot · {settings.CATALOG_SNAPSHOT_DATE}: 1434 models, "
        "15 pages, 44 upstream calls, 0 schemas fetched; 0 added, 0 changed, 0 gone, 0 back; "
        "1433 prices (29 of the calls), 0 new or changed"
    )


@pytest.mark.django_db
def test_catalog_sync_fails_when_the_sync_fails(fault):
    fault.set_mode("503")
    with pytest.raises(CommandError, match=r"Failed: FalServerError: Service temporarily"):
        call_command("catalog_sync", "--quiet", stdout=io.StringIO())
    assert SyncRun.objects.first().state == FAILED


@pytest.mark.django_db
def test_catalog_sync_fails_while_another_sync_runs():
    SyncRun.objects.create(trigger="elsewhere")
    with pytest.raises(CommandError, match="Another sync is running"):
        call_command("catalog_sync", "--quiet", stdout=io.StringIO())


@pytest.mark.django_db
def test_a_run_fills_at_most_its_share_of_failed_expansions_and_the_next_runs_the_rest(
    monkeypatch, count_upstream
):
    monkeypatch.setattr(sync_module, "FALLBACKS_PER_RUN", 200)
    CatalogEntry.objects.all().delete()
    SyncRun.objects.all().delete()
    IndexState.objects.all().delete()

    def fallbacks_of(run) -> int:
        asked = [url for url in count_upstream if url.startswith(FALLBACK_URL)]
        count_upstream.clear()
        assert run.state == SUCCEEDED, run.error
        return len(asked)

    def labelled() -> int:
        return sum(reconstructed_source(e.openapi) is not None for e in CatalogEntry.objects.all())

    # 514 expansions fail; fal.ai has a document for 369 of them (offline: the reconstructed
    # ones). Each run asks for 200 at most, and the next one for those it did not reach.
    assert fallbacks_of(sync_catalog(trigger="test")) == 200
    assert 0 < labelled() < 369
    assert fallbacks_of(sync_catalog(trigger="test")) == 200
    assert fallbacks_of(sync_catalog(trigger="test")) == 114
    assert labelled() == 369
    assert fallbacks_of(sync_catalog(trigger="test")) == 0  # a missing one is not asked again
