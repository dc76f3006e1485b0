"""The deprecation watch in Chromium: a curator sees a deprecated entry flagged with its
suggested successor and replaces it in one click; screenshots of the history pages."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog import upstream
from catalog.models import Shortlist, ShortlistEntry
from catalog.sync import CrawlFacts, sync_catalog
from fal_emulator import Emulator, load_snapshot
from tests.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCHNELL, DEV = "fal-ai/flux/schnell", "fal-ai/flux/dev"
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


def deprecate_schnell_and_break_dev() -> None:
    models, documents = copy.deepcopy(load_snapshot())
    for model in models:
        if model["endpoint_id"] == SCHNELL:
            model["metadata"]["status"] = "deprecated"
        if model["endpoint_id"] == DEV:
            model["metadata"]["updated_at"] = "2026-09-01T00:00:00Z"
    flux_input = documents[DEV]["components"]["schemas"]["FluxDevInput"]
    flux_input["required"] = ["prompt", "seed"]
    flux_input["properties"]["num_images"]["maximum"] = 2
    with upstream.offline_source(Emulator(models, documents)):
        facts = CrawlFacts(as_of=datetime(2026, 9, 1, 12, tzinfo=UTC))
        assert sync_catalog(trigger="test", facts=facts).state == "succeeded"


def test_a_curator_replaces_a_deprecated_entry_in_one_click(page, live_server, curator):
    shortlist = Shortlist.objects.create(title="Drafts", slug="drafts", curator=curator)
    shortlist.entries.create(endpoint_id=SCHNELL, note="Fast and cheap drafts")
    deprecate_schnell_and_break_dev()
    page.context.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), lambda r: r.abort())
    sign_in(page, live_server, "cora", "curator-pass-1234", "/shortlists/")
    expect(page.locator(".banner-warn")).to_contain_text("1 shortlist entry needs attention")
    page.click("text=Drafts")
    watch = page.locator(".watch")
    expect(watch).to_contain_text("deprecated by fal")
    expect(watch.locator(".watch-suggestions li").first).to_contain_text(DEV)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "watch-before.png"), full_page=True)

    page.get_by_role("button", name=f"Replace {SCHNELL} with {DEV}").click()
    expect(page.locator(".messages, [role=status]").first).to_be_visible()
    expect(page.get_by_text("the note was kept")).to_be_visible()
    entry = ShortlistEntry.objects.get(shortlist=shortlist)
    assert (entry.endpoint_id, entry.note) == (DEV, "Fast and cheap drafts")
    # flux/dev had a breaking change, but before it joined the list: nothing to flag now.
    expect(page.locator(".watch")).to_have_count(0)
    expect(page.locator(".shortlist-entry")).to_contain_text("Fast and cheap drafts")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1400, 390])
def test_screenshots_of_the_history_pages(browser, live_server, curator, scheme, width):
    deprecate_schnell_and_break_dev()
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    context.route(re.compile(r"^https?://(?!localhost|127\.0\.0\.1)"), lambda r: r.abort())
    page = context.new_page()
    sign_in(page, live_server, "cora", "curator-pass-1234", "/changes/")
    expect(page.locator("h1")).to_have_text("Catalog changes")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"changes-{scheme}-{width}.png"))
    page.goto(f"{live_server.url}/models/{DEV}/#history")
    expect(page.locator("#history")).to_contain_text("input.seed")
    page.locator("#history").screenshot(path=str(ARTIFACTS / f"history-{scheme}-{width}.png"))
    context.close()
