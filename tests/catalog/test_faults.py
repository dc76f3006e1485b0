"""Upstream faults over real HTTP: the sync fails and says so, every page keeps serving the index.

A fault-injecting upstream (fal_emulator/testing/faults.py) on loopback stands in for fal.
Pages read the catalog index, so with fal failing in any mode a sync fails (recorded on its
run, with its error, shown to staff) and every page still answers 200 from the index, in time, and
without asking fal. Only an endpoint id the index lacks sends a page to fal (find mode):
then the page says clearly that fal could not be asked, within timeout × (retries + 1) plus
a margin. Nothing shows a traceback, an upstream body or the key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from django.http import QueryDict
from django.test import Client, override_settings
from django.utils.html import escape

from catalog import services
from catalog.browse import parse_grid_query
from catalog.models import CatalogEntry, IndexState, Shortlist, SyncRun
from catalog.sync import sync_catalog
from fal.client import FalModelsClient
from fal.errors import FalAPIError
from fal.types import ModelsQuery
from fal_emulator.testing import FAILURE_MODES, MARKER, WAITING_MODES, FaultUpstream
from tests.helpers import restore_index

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TIMEOUT = 0.5
ANSWERED_TIMEOUT = 5.0
RETRIES = 1
SYNC_RETRIES = 1
# Rendering, the backoff before the last retry and a loaded 2-core CI machine.
MARGIN = 1.5
BUDGET = TIMEOUT * (RETRIES + 1) + MARGIN
SYNC_BUDGET = TIMEOUT * (SYNC_RETRIES + 1) + MARGIN
# A page served from the index waits on nothing but the database and the template (and a
# loaded 2-core machine); fal's timeouts are what it must not wait for.
PAGE_BUDGET = 2.0
KEY = "fal-key-FAULTS-3c9d1e77"
HTMX = {"HX-Request": "true"}
LIVE = {
    "FAL_KEY": KEY,
    "FAL_API_TIMEOUT": TIMEOUT,
    "FAL_API_MAX_RETRIES": RETRIES,
    "CATALOG_SYNC_MAX_RETRIES": SYNC_RETRIES,
    "CATALOG_SYNC_MAX_RPS": 0,
}

# What the user (or staff, for a sync) is told, per failure mode: the typed error's message.
TOLD = {
    "timeout": f"did not answer within {TIMEOUT:g} s",
    "slow": "did not arrive in time",
    "429": "Too many requests",
    "500": "answered HTTP 500",
    "502": "answered HTTP 502",
    "503": "Service temporarily unavailable",
    "html403": "answered HTTP 403",
    "not_json": "not JSON",
    "wrong_shape": "unexpected shape",
    "truncated": "broke mid-answer",
    "reset": "could not be reached",
}
FAILING = [mode for mode in FAILURE_MODES if mode != "find404"]
assert set(TOLD) == set(FAILING)

MODEL = "fal-ai/flux/dev"
MODEL_NAME = "FLUX.1 [dev]"
OTHER = "fal-ai/flux/schnell"
UNKNOWN = "nobody/nothing"  # not in the index, so only fal can say whether it exists
FAILED_LINE = "The last sync failed"
# name: (path, headers, what the page shows from the index)
PAGES = {
    "grid": ("/", {}, MODEL_NAME),
    "grid-htmx": ("/?q=flux+dev&sort=name", HTMX, MODEL_NAME),
    "model": (f"/models/{MODEL}/", {}, MODEL_NAME),
    "schema": (f"/schema/{MODEL}/", HTMX, "prompt"),
    "compare": (f"/compare/?endpoint_id={MODEL}&endpoint_id={OTHER}", {}, MODEL_NAME),
    "compare-htmx": (
        f"/compare/?endpoint_id={MODEL}&endpoint_id={OTHER}&only=diff",
        HTMX,
        MODEL_NAME,
    ),
    "shortlist": ("/shortlists/picks/", {}, MODEL_NAME),
    "export-json": ("/shortlists/picks/export.json", {}, MODEL_NAME),
}
# Full pages that carry the freshness line.
WITH_FRESHNESS = ["grid", "model", "shortlist"]


@pytest.fixture(scope="module")
def upstream():
    with FaultUpstream(stall_seconds=4) as server:
        yield server


@dataclass(frozen=True)
class FailedSync:
    mode: str
    run: SyncRun
    seconds: float
    asked: list[dict]  # what reached the upstream during the sync
    version_before: int
    version_after: int
    entries_before: int
    entries_after: int


@pytest.fixture(scope="module", params=FAILING)
def failed_sync(request, upstream, django_db_setup, django_db_blocker, tmp_path_factory):
    """One sync per failure mode, committed so that every test of that mode sees it; the
    run row is deleted afterwards (a failed sync writes nothing else)."""
    mode = request.param
    cache = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                         "LOCATION": str(tmp_path_factory.mktemp(f"faults-{mode}"))}}  # fmt: skip
    settings = override_settings(FAL_API_URL=upstream.url, CACHES=cache, **LIVE)
    with django_db_blocker.unblock(), settings:
        if not CatalogEntry.objects.exists():
            restore_index()
        # The index and its search are built once here, not inside a timed page.
        services.catalog_index().grid(parse_grid_query(QueryDict("q=flux")))
        version_before = IndexState.objects.get(pk=1).version
        entries_before = CatalogEntry.objects.count()
        upstream.set_mode(mode)
        first = len(upstream.requests)
        started = time.monotonic()
        try:
            run = sync_catalog(trigger="test")
        finally:
            seconds = time.monotonic() - started
            upstream.set_mode("healthy")
        failure = FailedSync(
            mode=mode,
            run=run,
            seconds=seconds,
            asked=list(upstream.requests)[first:],
            version_before=version_before,
            version_after=IndexState.objects.get(pk=1).version,
            entries_before=entries_before,
            entries_after=CatalogEntry.objects.count(),
        )
    yield failure
    with django_db_blocker.unblock():
        SyncRun.objects.filter(pk=run.pk).delete()


@pytest.fixture(autouse=True)
def picks(member):
    shortlist = Shortlist.objects.create(title="Picks", slug="picks", curator=member)
    for position, endpoint_id in enumerate([MODEL, OTHER]):
        shortlist.entries.create(endpoint_id=endpoint_id, note="ok", position=position)
    return shortlist


def client_timeout(mode: str) -> float:
    """TIMEOUT for the modes that make the client wait, ANSWERED_TIMEOUT for those that
    answer at once (so a busy machine cannot turn their answer into a timeout)."""
    return TIMEOUT if mode in WAITING_MODES else ANSWERED_TIMEOUT


@pytest.fixture
def live(settings, upstream, monkeypatch):
    """Live mode against the loopback upstream; the test sets its mode, and with it the
    client's timeout (client_timeout)."""
    settings.FAL_API_URL = upstream.url
    for name, value in LIVE.items():
        setattr(settings, name, value)
    set_mode = upstream.set_mode

    def set_mode_and_timeout(mode: str) -> None:
        settings.FAL_API_TIMEOUT = client_timeout(mode)
        set_mode(mode)

    monkeypatch.setattr(upstream, "set_mode", set_mode_and_timeout)
    upstream.set_mode("healthy")
    yield upstream
    set_mode("healthy")


@pytest.fixture
def staff_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def curator_client(curator):
    client = Client()
    client.force_login(curator)
    return client


def timed(call, *args, **kwargs) -> tuple:
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def assert_clean(text: str) -> None:
    """Nothing from upstream's body, no traceback, no key, no script from a challenge page."""
    assert MARKER not in text
    assert "Traceback" not in text and 'File "' not in text
    assert KEY not in text
    assert "window.__xss" not in text


def assert_graceful(response, elapsed: float, budget: float = BUDGET) -> str:
    """In time, not a 500, and clean."""
    html = response.content.decode()
    assert response.status_code in (200, 400, 404, 503), response.status_code
    assert elapsed <= budget, f"answered after {elapsed:.2f} s (budget {budget:.2f} s)"
    assert_clean(html)
    assert KEY not in str(response.headers)
    return html


# --- The client alone -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", FAILING)
def test_the_client_raises_a_typed_error_within_its_budget(live, mode):
    live.set_mode(mode)
    client = FalModelsClient(base_url=live.url, timeout=client_timeout(mode), max_retries=RETRIES)
    started = time.monotonic()
    with pytest.raises(FalAPIError) as raised:
        client.get_page(ModelsQuery(q="flux"))
    assert time.monotonic() - started <= TIMEOUT * (RETRIES + 1) + 0.3
    assert TOLD[mode] in raised.value.message
    assert_clean(raised.value.message)


# --- A sync under each failure mode ---------------------------------------------------------


def test_a_sync_fails_in_time_says_why_and_leaves_the_index_alone(failed_sync):
    run = failed_sync.run
    assert run.state == SyncRun.State.FAILED
    assert failed_sync.seconds <= SYNC_BUDGET, f"{failed_sync.seconds:.2f} s"
    assert TOLD[failed_sync.mode] in run.error
    assert_clean(run.error)
    assert run.finished_at is not None
    assert (run.added, run.changed, run.gone, run.back) == (0, 0, 0, 0)
    assert failed_sync.asked and {r["mode"] for r in failed_sync.asked} == {failed_sync.mode}
    assert failed_sync.version_after == failed_sync.version_before
    assert failed_sync.entries_after == failed_sync.entries_before
    # Nothing is left holding the lock: the next sync may start.
    assert not SyncRun.objects.filter(state=SyncRun.State.RUNNING).exists()


def test_staff_see_the_failed_sync_and_members_do_not(
    failed_sync, live, staff_client, client, member
):
    live.set_mode(failed_sync.mode)
    error = escape(failed_sync.run.error)
    status = staff_client.get("/catalog/sync/").content.decode()
    assert f"sync-{SyncRun.State.FAILED}" in status and error in status
    assert_clean(status)
    client.force_login(member)
    for page in WITH_FRESHNESS:
        path, headers, _ = PAGES[page]
        staff_html = staff_client.get(path, headers=headers).content.decode()
        assert FAILED_LINE in staff_html and error in staff_html, page
        assert_clean(staff_html)
        member_html = client.get(path, headers=headers).content.decode()
        assert FAILED_LINE not in member_html and error not in member_html, page
    assert client.get("/catalog/sync/").status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_every_page_keeps_serving_the_index_while_fal_fails(failed_sync, live, member_client, page):
    path, headers, shown = PAGES[page]
    live.set_mode(failed_sync.mode)
    asked = len(live.requests)
    response, elapsed = timed(member_client.get, path, headers=headers)
    html = assert_graceful(response, elapsed, PAGE_BUDGET)
    assert response.status_code == 200
    assert shown in html
    if page == "export-json":
        assert [e["status"] for e in response.json()["entries"]] == ["active", "active"]
    assert len(live.requests) == asked, "a page of indexed models asked fal"


# --- An endpoint id the index lacks: the one question a page asks fal ------------------------


@pytest.mark.parametrize("mode", FAILING)
def test_an_unknown_model_says_fal_could_not_be_asked(cache_backend, live, member_client, mode):
    live.set_mode(mode)
    asked = len(live.requests)
    response, elapsed = timed(member_client.get, f"/models/{UNKNOWN}/")
    html = assert_graceful(response, elapsed)
    assert response.status_code == 503
    assert "The fal API failed" in html and "fal could not be asked for it" in html
    assert TOLD[mode] in html
    assert len(live.requests) > asked  # find mode was asked


@pytest.mark.parametrize("mode", FAILING)
def test_comparing_an_unknown_model_says_fal_failed(cache_backend, live, member_client, mode):
    live.set_mode(mode)
    path = f"/compare/?endpoint_id={MODEL}&endpoint_id={UNKNOWN}"
    response, elapsed = timed(member_client.get, path)
    html = assert_graceful(response, elapsed)
    assert response.status_code == 200
    assert "The fal API failed" in html and TOLD[mode] in html


@pytest.mark.parametrize("mode", FAILING)
def test_adding_an_unknown_model_to_a_shortlist_says_it_could_not_be_checked(
    cache_backend, live, curator_client, mode
):
    live.set_mode(mode)
    response, elapsed = timed(
        curator_client.post, "/shortlists/picks/add/", {"endpoint_id": UNKNOWN}
    )
    html = assert_graceful(response, elapsed)
    assert response.status_code == 400
    assert "so the model could not be checked" in html and TOLD[mode] in html
    assert not Shortlist.objects.get(slug="picks").entries.filter(endpoint_id=UNKNOWN).exists()


def test_while_fal_is_down_a_second_look_at_the_same_id_waits_for_no_second_failure(
    cache_backend, live, member_client
):
    live.set_mode("timeout")
    assert member_client.get(f"/models/{UNKNOWN}/").status_code == 503
    asked = len(live.requests)
    response, elapsed = timed(member_client.get, f"/models/{UNKNOWN}/")
    assert response.status_code == 503
    assert elapsed < TIMEOUT, "the remembered failure was not used"
    assert len(live.requests) == asked


# --- find mode answering 404: the model does not exist, which is an answer, not an outage ---


def test_a_model_that_find_mode_does_not_know_is_a_clear_404(cache_backend, live, member_client):
    live.set_mode("find404")
    response, elapsed = timed(member_client.get, f"/models/{UNKNOWN}/")
    html = assert_graceful(response, elapsed)
    assert response.status_code == 404
    assert "No such model" in html and "The catalog has no model with this id." in html
    assert any(r["mode"] == "find404" for r in live.requests)


def test_compare_names_models_that_find_mode_does_not_know(cache_backend, live, member_client):
    live.set_mode("find404")
    path = f"/compare/?endpoint_id={MODEL}&endpoint_id={OTHER}&endpoint_id={UNKNOWN}"
    response, elapsed = timed(member_client.get, path)
    html = assert_graceful(response, elapsed)
    assert response.status_code == 200
    assert "Not found in the catalog:" in html and f"<code>{UNKNOWN}</code>" in html
    assert MODEL_NAME in html  # the known models are still compared
    assert "The fal API failed" not in html


def test_a_shortlist_refuses_an_id_that_find_mode_does_not_know(
    cache_backend, live, curator_client
):
    live.set_mode("find404")
    response = curator_client.post("/shortlists/picks/add/", {"endpoint_id": UNKNOWN})
    assert response.status_code == 400
    assert f"catalog has no model “{UNKNOWN}”" in response.content.decode()


def test_a_shortlist_flags_an_entry_the_index_does_not_have(live, picks, member_client):
    live.set_mode("find404")
    picks.entries.create(endpoint_id=UNKNOWN, position=9)
    asked = len(live.requests)
    html = member_client.get("/shortlists/picks/").content.decode()
    assert escape("No longer in fal's catalog") in html and MODEL_NAME in html
    assert len(live.requests) == asked  # the shortlist reads the index; fal is not asked


def test_a_sync_is_not_failed_by_find_mode_404s(live, member_client):
    live.set_mode("find404")
    run = sync_catalog(trigger="test")
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.models_seen == CatalogEntry.objects.filter(gone_at__isnull=True).count()
    assert MODEL_NAME in member_client.get("/").content.decode()
