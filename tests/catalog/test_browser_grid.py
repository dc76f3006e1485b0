"""The grid and model page in a real headless Chromium, against live_server and the emulator."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


def query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def card_count(page) -> int:
    return page.locator(".grid .card").count()


def result_count(page) -> int:
    return int(page.locator("#result-count strong").inner_text())


def test_typing_a_query_updates_the_grid_and_the_url(member_page, console_errors):
    page = member_page
    expect(page.locator("#result-count strong")).to_have_text("1434")
    page.keyboard.press("/")  # focuses the search box
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("kling", delay=40)
    expect(page).to_have_url(re.compile(r"/\?q=kling$"))
    assert 0 < result_count(page) < 1434
    names = page.locator(".grid .card .card-title").all_inner_texts()
    assert names and any("kling" in n.lower() for n in names)
    assert console_errors == []


def test_license_filter_updates_cards_counts_and_back_restores(member_page, console_errors):
    page = member_page
    page.goto(page.url.split("?")[0] + "?q=kling")
    before = result_count(page)
    page.locator("#license-research").check()
    expect(page).to_have_url(re.compile(r"license=research"))
    expect(page.locator("#result-count strong")).not_to_have_text(str(before))
    after = result_count(page)
    assert after < before
    assert card_count(page) == min(after, 48)
    assert query_of(page.url) == [("q", "kling"), ("license", "research")]
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=kling$"))
    expect(page.locator("#result-count strong")).to_have_text(str(before))
    expect(page.locator("#license-research")).not_to_be_checked()
    assert console_errors == []


def test_load_more_appends_and_a_copied_url_reproduces_the_view(
    member_page, browser, console_errors
):
    page = member_page
    page.locator("#sort").select_option("name")
    expect(page).to_have_url(re.compile(r"sort=name"))  # (pushed just before the swap)
    page.wait_for_load_state("networkidle")
    first = page.locator(".grid .card").first.get_attribute("data-endpoint-id")
    page.get_by_role("link", name="Load more").click()
    expect(page.locator(".grid .card")).to_have_count(96)
    assert page.locator(".grid .card").first.get_attribute("data-endpoint-id") == first
    expect(page).to_have_url(re.compile(r"sort=name&page=2$"))
    shown = page.locator(".grid .card").evaluate_all(
        "cards => cards.map(c => c.dataset.endpointId)"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grid.png"))

    # A teammate opens the copied URL in a fresh browser context.
    copied = page.url
    context = browser.new_context()
    teammate = context.new_page()
    teammate.goto(copied)  # not signed in: the login page, which then leads back to the view
    expect(teammate).to_have_url(re.compile(r"/accounts/login/\?next="))
    teammate.fill("#id_username", "mia")
    teammate.fill("#id_password", "member-pass-1234")
    teammate.click("form button[type=submit]")
    expect(teammate).to_have_url(copied)
    again = teammate.locator(".grid .card").evaluate_all(
        "cards => cards.map(c => c.dataset.endpointId)"
    )
    assert again == shown
    context.close()
    assert console_errors == []


def test_model_page_shows_the_input_table_and_snippets(member_page, live_server, console_errors):
    page = member_page
    page.goto(f"{live_server.url}/models/fal-ai/ltx-2.3/text-to-video/")
    expect(page.locator("h1")).to_have_text("LTX Video 2.3 Pro")
    inputs = page.locator("table.fields").first
    expect(inputs).to_be_visible()
    expect(inputs.locator("tbody th code").first).to_have_text("prompt")
    expect(page.get_by_role("tab", name="curl")).to_be_visible()
    page.get_by_role("tab", name="curl").click()
    expect(page.locator("#code-curl")).to_contain_text("queue.fal.run/fal-ai/ltx-2.3/text-to-video")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "model.png"), full_page=True)
    assert console_errors == []
