"""Upstream faults over real HTTP: every page answers in time, clearly, without leaking.

A fault-injecting upstream (fal/testing/faults.py) on loopback stands in for fal. For
each failure mode and each page: the page answers within timeout × (retries + 1) plus a
margin, is never a 500, says what failed, and shows no traceback, upstream body or key;
when the cache holds an earlier copy, that copy is shown with a note saying it is stale.
"""

from __future__ import annotations

import time

import pytest

from catalog import services
from catalog.models import Shortlist
from fal.client import FalModelsClient
from fal.errors import FalAPIError
from fal.testing import FAILURE_MODES, MARKER, FaultUpstream
from fal.types import ModelsQuery

pytestmark = pytest.mark.django_db

TIMEOUT = 0.3
RETRIES = 2
# Rendering, the backoff before the last retry and a loaded 2-core CI machine.
MARGIN = 1.0
BUDGET = TIMEOUT * (RETRIES + 1) + MARGIN
KEY = "fal-key-FAULTS-3c9d1e77"
HTMX = {"HX-Request": "true"}

# What the user is told, per failure mode (the typed client error's message).
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
STALE_NOTE = "showing the last good copy"
# name: (path, headers, what the page shows when data is there, its note when that is stale)
PAGES = {
    "grid": ("/", {}, MODEL_NAME, STALE_NOTE),
    "grid-htmx": ("/?q=flux+dev&sort=name", HTMX, MODEL_NAME, STALE_NOTE),
    "model": (f"/models/{MODEL}/", {}, MODEL_NAME, STALE_NOTE),
    "schema": (f"/models/{MODEL}/schema/", HTMX, "prompt", ""),
    "compare": (
        f"/compare/?endpoint_id={MODEL}&endpoint_id={OTHER}",
        {},
        MODEL_NAME,
        "showing cached data",
    ),
    "compare-htmx": (
        f"/compare/?endpoint_id={MODEL}&endpoint_id={OTHER}&only=diff",
        HTMX,
        MODEL_NAME,
        "showing cached data",
    ),
    "shortlist": ("/shortlists/picks/", {}, MODEL_NAME, STALE_NOTE),
    "export-json": ("/shortlists/picks/export.json", {}, MODEL_NAME, ""),
}


@pytest.fixture(scope="module")
def upstream():
    with FaultUpstream(stall_seconds=4) as server:
        yield server


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def picks(member):
    shortlist = Shortlist.objects.create(title="Picks", slug="picks", curator=member)
    for position, endpoint_id in enumerate([MODEL, OTHER]):
        shortlist.entries.create(endpoint_id=endpoint_id, note="ok", position=position)
    return shortlist


@pytest.fixture
def live(settings, upstream):
    upstream.set_mode("healthy")
    settings.FAL_API_URL = upstream.url
    settings.FAL_KEY = KEY
    settings.FAL_API_TIMEOUT = TIMEOUT
    settings.FAL_API_MAX_RETRIES = RETRIES
    yield upstream
    upstream.set_mode("healthy")


def timed_get(client, path: str, headers: dict) -> tuple:
    started = time.monotonic()
    response = client.get(path, headers=headers)
    return response, time.monotonic() - started


def assert_graceful(response, elapsed: float) -> str:
    """In time, not a 500, and nothing from upstream's body, no traceback, no key."""
    html = response.content.decode()
    assert response.status_code in (200, 404, 503), response.status_code
    assert elapsed <= BUDGET, f"answered after {elapsed:.2f} s (budget {BUDGET:.2f} s)"
    assert MARKER not in html
    assert "Traceback" not in html and 'File "' not in html
    assert KEY not in html and KEY not in str(response.headers)
    assert "window.__xss" not in html
    return html


# --- The client alone -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", FAILING)
def test_the_client_raises_a_typed_error_within_its_budget(live, mode):
    live.set_mode(mode)
    client = FalModelsClient(base_url=live.url, timeout=TIMEOUT, max_retries=RETRIES)
    started = time.monotonic()
    with pytest.raises(FalAPIError) as raised:
        client.get_page(ModelsQuery(q="flux"))
    assert time.monotonic() - started <= TIMEOUT * (RETRIES + 1) + 0.3
    assert TOLD[mode] in raised.value.message
    assert MARKER not in raised.value.message and "Traceback" not in raised.value.message


# --- Pages with nothing cached ---------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("mode", FAILING)
def test_a_cold_page_says_what_failed(member_client, live, mode, page):
    path, headers, _, _ = PAGES[page]
    live.set_mode(mode)
    response, elapsed = timed_get(member_client, path, headers)
    html = assert_graceful(response, elapsed)
    if page == "export-json":  # entries with what is known of them, marked unchecked
        assert response.json()["entries"][0]["status"] == "unchecked"
    else:
        assert TOLD[mode] in html


# --- Pages with an earlier copy in the cache -------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("mode", FAILING)
def test_a_warm_page_shows_the_cached_copy_with_a_note(member_client, live, mode, page):
    path, headers, shown, note = PAGES[page]
    assert member_client.get(path, headers=headers).status_code == 200
    live.set_mode(mode)
    services.catalog_refresh()  # every page must be asked for again
    response, elapsed = timed_get(member_client, path, headers)
    html = assert_graceful(response, elapsed)
    assert response.status_code == 200
    assert shown in html
    if note:  # the schema fragment sits in a page that carries the note; exports are data
        assert note in html
        assert TOLD[mode] in html


# --- find mode answering 404: the models are gone, which is an answer, not an outage ----------


def test_a_model_that_find_mode_no_longer_knows_is_a_clear_404(member_client, live):
    live.set_mode("find404")
    response, elapsed = timed_get(member_client, f"/models/{MODEL}/", {})
    html = assert_graceful(response, elapsed)
    assert response.status_code == 404
    assert "The catalog has no model with this id." in html


def test_the_grid_does_not_use_find_mode_and_stays_whole(member_client, live):
    live.set_mode("find404")
    response, elapsed = timed_get(member_client, "/", {})
    assert MODEL_NAME in assert_graceful(response, elapsed)


def test_a_shortlist_flags_entries_that_find_mode_no_longer_knows(member_client, live):
    live.set_mode("find404")
    response, elapsed = timed_get(member_client, "/shortlists/picks/", {})
    html = assert_graceful(response, elapsed)
    assert "No longer in fal&#x27;s catalog" in html or "No longer in fal's catalog" in html


def test_while_fal_is_down_other_queries_wait_for_no_second_failure(live):
    live.set_mode("503")
    with pytest.raises(FalAPIError):
        services.catalog_search(q="flux")
    asked = len(live.requests)
    with pytest.raises(FalAPIError):
        services.catalog_search(q="kling")
    assert len(live.requests) == asked


def test_a_404_about_some_ids_is_not_an_outage(live):
    live.set_mode("find404")
    assert services.catalog_find(["nobody/nothing"]).models == []
    asked = len(live.requests)
    assert services.catalog_search(q="flux").models
    assert len(live.requests) > asked


def test_compare_names_models_that_find_mode_no_longer_knows(member_client, live):
    live.set_mode("find404")
    response, elapsed = timed_get(member_client, PAGES["compare"][0], {})
    html = assert_graceful(response, elapsed)
    assert response.status_code == 200
    assert "Not found in the catalog:" in html and MODEL in html
