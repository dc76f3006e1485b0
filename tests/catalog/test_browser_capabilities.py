"""The capability facets in a real headless Chromium: ticking them filters the grid and
the URL, and the rail stays usable in light and dark, on a desktop and a 390 px phone."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect

from tests.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


def result_count(page) -> int:
    return int(page.locator("#result-count strong").inner_text())


def test_ticking_capabilities_filters_the_grid_and_the_url(member_page, console_errors):
    page = member_page
    expect(page.locator("#result-count strong")).to_have_text("1434")
    page.locator("#accepts-end_image").check()
    expect(page).to_have_url(re.compile(r"accepts=end_image"))
    expect(page.locator("#result-count strong")).to_have_text("92")
    page.locator("#facet-has > summary").click()  # "Has" starts folded
    page.locator("#has-seed").check()
    expect(page).to_have_url(re.compile(r"has=seed"))
    with_seed = result_count(page)
    assert 0 < with_seed < 92
    page.locator("#outputs-video").check()
    expect(page).to_have_url(re.compile(r"outputs=video"))
    query = parse_qsl(urlsplit(page.url).query)
    assert query == [("accepts", "end_image"), ("has", "seed"), ("outputs", "video")]
    expect(page.locator("#facet-has")).to_have_attribute("open", "")  # a choice keeps it open
    page.go_back()
    expect(page.locator("#result-count strong")).to_have_text(str(with_seed))
    assert console_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("device", "viewport"), [("desktop", (1280, 900)), ("phone", (390, 844))])
def test_screenshots_of_the_rail(browser, live_server, member, scheme, device, viewport):
    ARTIFACTS.mkdir(exist_ok=True)
    width, height = viewport
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        sign_in(page, live_server, "mia", "member-pass-1234")
        page.goto(f"{live_server.url}/?accepts=image&has=seed")
        rail = page.locator("#capability-facets")
        if device == "phone":  # the phone folds the whole rail under "Filters"
            expect(rail).to_be_hidden()
            page.locator(".rail-toggle > summary").click()
        expect(rail).to_be_visible()
        expect(page.locator("#facet-has")).to_have_attribute("open", "")
        rail.screenshot(path=str(ARTIFACTS / f"capabilities-rail-{device}-{scheme}.png"))
        box = rail.bounding_box()
        assert box["width"] <= width
    finally:
        context.close()


@pytest.mark.parametrize(
    ("scheme", "width"), [("light", 1280), ("dark", 390)], ids=["desktop-light", "phone-dark"]
)
def test_screenshots_of_the_model_page_chips_and_nested_types(
    browser, live_server, member, scheme, width
):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server, "mia", "member-pass-1234")
        page.goto(f"{live_server.url}/models/fal-ai/flux-lora/")
        chips = page.locator(".capability-chips").first
        expect(chips).to_be_visible()  # loaded by htmx
        nested = page.locator("details.nested-type").first
        nested.locator("summary").click()
        expect(nested.locator("table")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / f"capabilities-model-{scheme}-{width}.png"))
    finally:
        context.close()
