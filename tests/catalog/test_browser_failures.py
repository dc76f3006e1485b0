"""A request that fails in the browser (fal catalog does not answer): a banner says so and
retries, the controls go back to the results on screen, a failed shortlist change says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog.models import Shortlist
from tests.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
BANNER = "Could not update — fal catalog did not answer."


class Outage:
    """Fails the page's htmx requests while on: a 503, or no answer at all."""

    def __init__(self, page):
        self.mode = None
        self.failed = 0
        page.route(re.compile(r"^http://(localhost|127\.0\.0\.1)"), self.handle)

    def handle(self, route):
        if self.mode and route.request.headers.get("hx-request") == "true":
            self.failed += 1
            if self.mode == "503":
                return route.fulfill(status=503, body="Service Unavailable")
            return route.abort("connectionrefused")
        return route.continue_()


def test_a_failed_search_says_so_restores_the_controls_and_retries(member_page):
    page = member_page
    outage = Outage(page)
    expect(page.locator("#result-count strong")).to_have_text("1434")
    outage.mode = "network"
    page.locator("#q").fill("kling")
    banner = page.locator("#request-error")
    expect(banner).to_contain_text(BANNER)
    assert outage.failed >= 1
    # The grid still shows every model, and so do the controls: the search box follows the URL.
    expect(page.locator("#q")).to_have_value("")
    expect(page.locator("#result-count strong")).to_have_text("1434")
    assert "q=" not in page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "request-failed.png"))

    outage.mode = None
    banner.get_by_role("button", name="Retry").click()
    expect(page).to_have_url(re.compile(r"/\?q=kling$"))
    expect(page.locator("#q")).to_have_value("kling")
    expect(banner).to_have_count(0)
    assert int(page.locator("#result-count strong").inner_text()) < 1434


def test_a_filter_that_fails_with_a_503_is_unchecked_again(member_page):
    page = member_page
    outage = Outage(page)
    page.goto(page.url.split("?")[0] + "?q=kling")
    before = page.locator("#result-count strong").inner_text()
    outage.mode = "503"
    page.locator("#license-research").click()  # not check(): it is unchecked again at once
    expect(page.locator("#request-error")).to_contain_text(BANNER)
    expect(page.locator("#license-research")).not_to_be_checked()
    expect(page.locator("#result-count strong")).to_have_text(before)
    assert "license=" not in page.url
    # A request that works again clears the banner.
    outage.mode = None
    page.locator("#license-research").check()
    expect(page).to_have_url(re.compile(r"license=research"))
    expect(page.locator("#request-error")).to_have_count(0)


def test_a_failed_shortlist_add_says_so_in_the_control(page, live_server, curator):
    shortlist = Shortlist.objects.create(title="Product shots", slug="product-shots")
    sign_in(page, live_server, "cora", "curator-pass-1234", "/?q=flux")
    outage = Outage(page)
    card = page.locator(".grid .card").first
    card.locator(".shortlist-toggle").click()
    add = card.get_by_role("button", name="Product shots")
    expect(add).to_be_visible()  # the menu's lists have loaded (they load when it opens)
    outage.mode = "503"
    add.click()
    error = card.locator(".shortlist-error")
    expect(error).to_have_text("Not saved — fal catalog did not answer. Try again.")
    expect(card.locator(".shortlist-toggle")).to_contain_text("☆ Shortlist")
    assert not shortlist.entries.exists()
    card.screenshot(path=str(ARTIFACTS / "shortlist-add-failed.png"))
    outage.mode = None
    card.get_by_role("button", name="Product shots").click()
    expect(card.locator(".shortlist-toggle")).to_contain_text("★ Shortlisted")
    assert shortlist.entries.count() == 1
