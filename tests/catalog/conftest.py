"""Fixtures of the catalog's tests: syncing from another fal, fal down or knowing a model
more, the snapshot's ids; and the browser tests' pages and sign-in (Chromium and axe-core:
tests/conftest.py)."""

from __future__ import annotations

import copy
import gzip
import json
import re

import pytest
import responses

from fal_emulator import DEFAULT_MODELS_PATH
from tests.helpers import FRESH, record_errors, sign_in


@pytest.fixture
def sync_from(monkeypatch):
    """`sync_from(app)`: sync the index (in this test's transaction) from an in-process WSGI
    app standing in for fal offline, e.g. a hostile or changed catalog; returns the run."""
    from catalog import upstream
    from catalog.sync import sync_catalog

    def sync(app):
        monkeypatch.setattr(upstream, "offline_app", lambda: app)
        return sync_catalog(trigger="test")

    return sync


@pytest.fixture(scope="session")
def snapshot_ids() -> list[str]:
    """Every endpoint id of the bundled snapshot, in the API's order."""
    with gzip.open(DEFAULT_MODELS_PATH) as f:
        return [m["endpoint_id"] for m in json.load(f)["models"]]


@pytest.fixture
def fal_with_fresh_model(settings):
    """fal live on loopback, knowing one model more than the index: FRESH, named
    "Fresh Model" (a copy of fal-ai/flux/schnell). Returns the server, to see what was asked."""
    from fal_emulator import Emulator, load_snapshot
    from fal_emulator.testing import FaultUpstream

    models, documents = load_snapshot()
    fresh = copy.deepcopy(next(m for m in models if m["endpoint_id"] == "fal-ai/flux/schnell"))
    fresh["endpoint_id"] = FRESH
    fresh["metadata"]["display_name"] = "Fresh Model"
    settings.FAL_API_MAX_RETRIES = 0
    with FaultUpstream(Emulator([*models, fresh], documents), stall_seconds=2) as server:
        settings.FAL_API_URL = server.url
        yield server


@pytest.fixture
def fal_down(settings, no_internet):
    """The live API configured, answering every request with a 503 and a request id; the
    mock is returned, so a test can see what was asked."""
    settings.FAL_API_URL = "https://api.fal.test/v1"
    settings.FAL_API_MAX_RETRIES = 0
    no_internet.add(
        responses.GET,
        re.compile(r"https://api\.fal\.test/v1/models.*"),
        status=503,
        json={"error": {"type": "server_error", "message": "upstream is down"}},
        headers={"x-request-id": "req-1"},
    )
    return no_internet


# --- Browser tests: Debian's Chromium driven by Playwright against live_server ----------------


@pytest.fixture
def console_errors(page):
    """Console errors of the page, except images that cannot load without internet."""
    return record_errors(page, [])


@pytest.fixture
def new_page(browser):
    """`new_page(**context_options)`: a page in a fresh browser context (a sign-in of its
    own), the network beyond loopback closed; `new_page.errors` collects the console errors
    of them all. The contexts close before the server stops."""
    contexts = []
    errors: list[str] = []

    def open_page(**context_options):
        context_options.setdefault("viewport", {"width": 1400, "height": 900})
        context = browser.new_context(**context_options)
        contexts.append(context)
        # The network is closed anyway; failing fal's thumbnails at once keeps the test fast.
        context.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), lambda r: r.abort())
        page = context.new_page()
        record_errors(page, errors)
        return page

    open_page.errors = errors
    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def member_page(page, live_server, member, console_errors):
    """A browser page signed in as a member; uses the on-disk cache of this test only."""
    sign_in(page, live_server, "mia", "member-pass-1234")
    return page
