"""catalog.services, the door views use: one model (index, else find mode once), documents,
freshness and whether a sync runs."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models import F
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import strip_tags

from catalog import services
from catalog.models import CatalogEntry, SyncRun
from catalog.services import SyncFailure
from catalog.sync import bump_index_version, sync_catalog
from fal.errors import FalServerError
from fal_emulator import load_snapshot
from fal_emulator.app import OPENAPI_UNAVAILABLE
from fal_emulator.testing import FaultUpstream

pytestmark = pytest.mark.django_db


def drop_from_index(endpoint_id: str) -> None:
    CatalogEntry.objects.filter(endpoint_id=endpoint_id).delete()
    bump_index_version()


# --- One model -------------------------------------------------------------------------------


def test_a_model_in_the_index_costs_fal_nothing(snapshot_ids, count_upstream):
    model = services.catalog_model_find_or_add(snapshot_ids[0])
    assert model is not None and model.endpoint_id == snapshot_ids[0]
    assert count_upstream == []


def test_a_model_the_index_lacks_is_asked_for_once_and_added(snapshot_ids, count_upstream):
    endpoint_id = snapshot_ids[42]
    drop_from_index(endpoint_id)
    assert services.catalog_index().get(endpoint_id) is None

    model = services.catalog_model_find_or_add(endpoint_id)

    assert model is not None and model.endpoint_id == endpoint_id
    (url,) = count_upstream
    query = parse_qs(urlsplit(url).query)
    assert query["endpoint_id"] == [endpoint_id] and query["expand"] == ["openapi-3.0"]
    entry = CatalogEntry.objects.get(endpoint_id=endpoint_id)
    assert entry.openapi == load_snapshot()[1].get(endpoint_id, OPENAPI_UNAVAILABLE)
    assert services.catalog_model_find_or_add(endpoint_id) == model and len(count_upstream) == 1


@pytest.mark.parametrize("documented", [True, False])
def test_a_model_added_on_demand_is_stored_as_the_sync_stores_it(
    snapshot_ids, count_upstream, documented
):
    documents = load_snapshot()[1]
    endpoint_id = next(i for i in snapshot_ids[42:] if (i in documents) == documented)
    stored = ("entry", "entry_fingerprint", "openapi", "openapi_fingerprint", "openapi_for")
    synced = CatalogEntry.objects.values(*stored, "capabilities").get(endpoint_id=endpoint_id)
    drop_from_index(endpoint_id)
    services.catalog_model_find_or_add(endpoint_id)
    added = CatalogEntry.objects.values(*stored, "capabilities").get(endpoint_id=endpoint_id)
    assert added == synced
    # Find mode does not say where it belongs in the API's order: after every listed model.
    assert services.catalog_index().models[-1].endpoint_id == endpoint_id
    count_upstream.clear()
    run = sync_catalog()
    # Its entry's fingerprint is the sync's: no change recorded, no document fetched again.
    assert run.state == "succeeded" and (run.added, run.changed) == (0, 0)
    assert not [url for url in count_upstream if "expand=openapi" in url]


def test_a_model_fal_does_not_know_is_none_and_not_asked_again_at_once(count_upstream):
    assert services.catalog_model_find_or_add("nope/unknown") is None
    assert services.catalog_model_find_or_add("nope/unknown") is None
    assert len(count_upstream) == 1  # the 404 is remembered for a few seconds
    assert not CatalogEntry.objects.filter(endpoint_id="nope/unknown").exists()


def test_an_empty_index_asks_fal_for_nothing(count_upstream):
    CatalogEntry.objects.all().delete()
    bump_index_version()
    assert services.catalog_model_find_or_add("fal-ai/flux/dev") is None
    assert count_upstream == []


def test_when_fal_fails_for_a_model_the_index_lacks_the_error_is_raised(settings):
    upstream = FaultUpstream().start()  # fal over HTTP, answering 500 with a traceback
    upstream.set_mode("500")
    settings.FAL_API_URL = upstream.url
    settings.FAL_API_MAX_RETRIES = 0
    try:
        with pytest.raises(FalServerError):
            services.catalog_model_find_or_add("new/model")
        # One find-mode request (with its document), no retry: max retries is 0 here.
        assert [r["query"] for r in upstream.requests] == [
            [("endpoint_id", "new/model"), ("expand", "openapi-3.0")]
        ]
    finally:
        upstream.stop()


# --- Documents ---------------------------------------------------------------------------------


def test_documents_are_read_from_the_index(snapshot_ids, count_upstream):
    documents = load_snapshot()[1]
    with_document = next(i for i in snapshot_ids if i in documents)
    without = next(i for i in snapshot_ids if i not in documents)
    found = services.catalog_documents([with_document, without, "nope/unknown"])
    assert set(found) == {with_document, without}
    assert found[with_document].get("openapi") == documents[with_document]["openapi"]
    assert getattr(found[without], "code", None) == "expansion_failed"
    assert count_upstream == []


# --- Freshness and the running sync ------------------------------------------------------------


@pytest.mark.postgres
def test_freshness_says_offline_and_when_the_index_was_synced(settings):
    freshness = services.catalog_freshness()
    last = SyncRun.objects.filter(state=SyncRun.State.SUCCEEDED).latest("finished_at")
    assert not freshness.live
    assert freshness.label == f"Offline snapshot · {settings.CATALOG_SNAPSHOT_DATE}"
    assert freshness.synced_at == last.finished_at and freshness.failure is None


@pytest.mark.postgres
def test_freshness_moves_on_with_a_sync_that_changed_nothing():
    services.catalog_index()  # this process holds the index as it is
    run = sync_catalog()
    assert run.state == SyncRun.State.SUCCEEDED and run.added == run.changed == 0
    assert services.catalog_freshness().synced_at == run.finished_at


@pytest.mark.postgres
def test_freshness_names_the_last_sync_when_it_failed(settings):
    synced_at = services.catalog_freshness().synced_at
    failed = SyncRun.objects.create(state=SyncRun.State.FAILED, error="FalServerError: down")
    SyncRun.objects.filter(pk=failed.pk).update(finished_at=failed.started_at)
    SyncRun.objects.create(trigger="now running")  # running syncs are not "the last sync"
    freshness = services.catalog_freshness()
    assert freshness.failure == SyncFailure(failed.started_at, failed.error)
    assert freshness.synced_at == synced_at


def test_the_running_sync_is_the_running_row():
    assert services.catalog_sync_running() is None
    running = SyncRun.objects.create(trigger="staff")
    assert services.catalog_sync_running() == running


# --- The freshness line ------------------------------------------------------------------------


def freshness_line(user) -> str:
    html = render_to_string(
        "catalog/_freshness.html", {"freshness": services.catalog_freshness(), "user": user}
    )
    return " ".join(strip_tags(html).split())


def test_the_freshness_line_says_offline_and_when_indexed(settings, member):
    synced_at = services.catalog_freshness().synced_at
    assert freshness_line(member) == (
        f"Offline snapshot · {settings.CATALOG_SNAPSHOT_DATE}, indexed {synced_at:%H:%M} UTC"
    )


@pytest.mark.postgres
def test_the_freshness_line_says_how_long_ago_a_live_sync_was(settings, member):
    settings.FAL_API_URL = "https://api.fal.test/v1"
    SyncRun.objects.update(finished_at=timezone.now() - timedelta(hours=2, seconds=5))
    assert freshness_line(member) == "Catalog synced 2 hours ago"
    SyncRun.objects.all().delete()
    assert freshness_line(member) == "Catalog not synced yet"


def test_a_failed_sync_is_named_on_the_freshness_line_to_staff_only(member, django_user_model):
    staff = django_user_model.objects.create_user(username="sam", password="x", is_staff=True)
    SyncRun.objects.create(
        state=SyncRun.State.FAILED, error="FalServerError: down", finished_at=timezone.now()
    )
    assert "The last sync failed" not in freshness_line(member)
    line = freshness_line(staff)
    assert "The last sync failed 0 minutes ago: FalServerError: down Sync status" in line


def test_a_new_gunicorn_worker_loads_the_index_before_its_first_request(member_client, monkeypatch):
    import gc
    import logging
    import runpy
    from pathlib import Path

    from catalog import index as index_module

    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "config/gunicorn.conf.py"))
    monkeypatch.setattr(index_module, "_current", None)  # a new worker has none

    class Worker:
        log = logging.getLogger("gunicorn.error")

    conf["post_worker_init"](Worker())
    assert gc.get_freeze_count() > 0  # the index out of the collector's sight
    gc.unfreeze()  # (this is the test process, not a worker)
    warmed = index_module._current
    assert warmed is not None and len(warmed.models) > 1000
    assert "search_index" in warmed.__dict__  # built, not left for a first search

    # The first visitor's grid page reuses all of it: nothing is loaded or rendered anew.
    def no_render(*args, **kwargs):
        raise AssertionError("rendered on the first request, not at start")

    monkeypatch.setattr(index_module, "render_to_string", no_render)
    monkeypatch.setattr(index_module, "load_index", no_render)
    html = member_client.get("/").content.decode()
    assert html.count('<article class="card') == 48
    # Nor are the cards of a search: every card of the catalog was rendered at start.
    monkeypatch.setattr(index_module, "render_to_string", lambda *a, **k: "rail")  # (a new rail)
    catalog_cards = index_module.CatalogIndex.card_html

    def no_new_card(self, card, **kwargs):
        full = kwargs.get("picks_full", False) and not kwargs["picked"]
        key = ("card_html", card, kwargs["picked"], full, kwargs.get("shortlisted"))
        assert key in self._derived, f"{card.endpoint_id} rendered on a search"
        return catalog_cards(self, card, **kwargs)

    monkeypatch.setattr(index_module.CatalogIndex, "card_html", no_new_card)
    found = member_client.get("/?q=kling&page=2", headers={"HX-Request": "true"}).content
    assert found.decode().count('<article class="card') > 48


def test_a_reloaded_index_keeps_the_cards_it_can(member_client, monkeypatch):
    """After a sync, the new index takes over the rendered cards whose content is unchanged
    (their key is their whole content): a sync does not make every card render again."""
    from catalog import index as index_module
    from catalog.models import IndexState

    before = index_module.catalog_index()
    member_client.get("/")
    rendered = {k for k in before._derived if k[0] == "card_html"}
    assert len(rendered) >= 48  # (all of them, if a worker's warm-up ran in this process)
    IndexState.objects.filter(pk=1).update(version=F("version") + 1)  # another sync's doing
    after = index_module.catalog_index()
    assert after is not before
    assert rendered <= set(after._derived)


def test_the_index_keeps_one_copy_of_each_value_models_repeat(db):
    """Categories, tags and tag sets repeat across the catalog: the index holds each once
    (at 100,000 models that is ~100 MB a worker), equal and shared, not copied per model."""
    from catalog.index import catalog_state, load_index

    index = load_index(catalog_state().version, "")
    categories = [m.metadata.category for m in index.models if m.metadata]
    tags = [t for m in index.models if m.metadata for t in m.metadata.tags]
    tag_sets = [r.tags for r in index.rows if r.tags]
    for values in (categories, tags, tag_sets):
        assert len({id(v) for v in values}) == len(set(values)) < len(values)


def test_rows_an_older_parser_stored_are_left_out_until_the_next_sync_rewrites_them(db):
    from catalog.index import catalog_state, load_index

    first, second, third = CatalogEntry.objects.order_by("position", "pk")[:3]
    CatalogEntry.objects.filter(pk=first.pk).update(entry={"endpoint_id": 5})  # unreadable
    CatalogEntry.objects.filter(pk=second.pk).update(entry=third.entry)  # another model's
    index = load_index(catalog_state().version, "")
    ids = [m.endpoint_id for m in index.models]
    assert ids[0] == third.endpoint_id
    assert first.endpoint_id not in ids and second.endpoint_id not in ids
    assert len(ids) == CatalogEntry.objects.count() - 2


# --- The catalog's state, read once per request -----------------------------------------------

PAGES = [
    "/",
    "/?q=flux",
    "/compare/?endpoint_id=fal-ai/flux/dev&endpoint_id=fal-ai/flux/schnell",
    "/models/fal-ai/flux/dev/",
]


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.postgres
def test_a_page_reads_the_index_version_and_the_syncs_in_one_query(member_client, url):
    member_client.get(url)  # warm: the session, the index, the member's visit
    with CaptureQueriesContext(connection) as queries:
        assert member_client.get(url).status_code == 200
    # The state row, or the runs table read on its own (not joined to, nor in a subquery).
    state_reads = [
        q["sql"]
        for q in queries
        if "catalog_indexstate" in q["sql"] or re.search(r'FROM "catalog_syncrun"(?! "U)', q["sql"])
    ]
    assert len(state_reads) == 1, state_reads


@pytest.mark.postgres
def test_a_sync_finished_within_a_request_is_seen_by_the_rest_of_it():
    from catalog.index import catalog_state, close_request_scope, open_request_scope

    open_request_scope()
    try:
        before = catalog_state()
        run = sync_catalog(trigger="in a request")
        after = catalog_state()
        assert after.last_success_at == run.finished_at != before.last_success_at
        bump_index_version()
        assert catalog_state().version != after.version
    finally:
        close_request_scope()


@pytest.mark.postgres
def test_outside_a_request_the_state_is_read_at_every_call():
    from catalog.index import catalog_state
    from catalog.models import IndexState

    version = catalog_state().version
    IndexState.objects.filter(pk=1).update(version=version + 1)  # no signal: a raw write
    assert catalog_state().version == version + 1


def test_a_usage_sync_finished_within_a_request_is_seen_by_the_rest_of_it():
    from catalog.index import catalog_state, close_request_scope, open_request_scope
    from usage.models import UsageSyncRun

    open_request_scope()
    try:
        assert catalog_state().usage_run_id is None
        today = timezone.now().date()
        run = UsageSyncRun.objects.create(trigger="test", since=today, until=today)
        assert catalog_state().usage_run_id is None  # running: no figures yet
        run.analytics, run.finished_at = UsageSyncRun.Part.FETCHED, timezone.now()
        run.save()
        assert catalog_state().usage_run_id == run.pk
    finally:
        close_request_scope()
