"""Prices in a real headless Chromium: on cards, on the model page (its calculator through
htmx), and in compare, light and dark, desktop and phone; screenshots in test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
VIDEO = "fal-ai/kling-video/v3/pro/image-to-video"
COMPARED = [VIDEO, "fal-ai/veo3.1/fast/image-to-video", "xai/grok-imagine-video/image-to-video"]
SIZES = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def open_page(new_page, live_server, member):
    def open_(scheme: str, size: str):
        page = new_page(viewport=SIZES[size], color_scheme=scheme)
        sign_in(page, live_server, "mia", "member-pass-1234")
        return page

    yield open_
    assert new_page.errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_prices_on_a_card_a_model_page_and_compare(open_page, live_server, scheme, size):
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(scheme, size)
    page.goto(f"{live_server.url}/?category=image-to-video&sort=price")
    first = page.locator(".grid .card").first
    expect(first.locator(".card-price")).to_have_text(re.compile(r"^Price: \$[\d.]+ / "))
    page.screenshot(path=str(ARTIFACTS / f"prices-cards-{size}-{scheme}.png"), caret="initial")

    page.goto(f"{live_server.url}/models/{VIDEO}/")
    box = page.locator(".price-box")
    expect(box.locator(".price-figure")).to_have_text(re.compile(r"^\$[\d.]+ / s$"))
    expect(box.locator(".price-reference")).to_have_text(re.compile(r"^≈ \$[\d.]+ for a 5 s clip$"))
    box.locator("#quantity").fill("12")
    box.locator("button[type=submit]").click()
    expect(box.locator("#estimate")).to_contain_text(re.compile(r"\$[\d.]+ for 12 seconds"))
    assert "/estimate/" not in page.url  # htmx swapped the fragment in; the page stayed
    box.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"prices-model-{size}-{scheme}.png"), caret="initial")

    page.goto(f"{live_server.url}/compare/?" + "&".join(f"endpoint_id={i}" for i in COMPARED))
    price_row = page.locator("tbody.group-overview tr", has=page.locator("th", has_text="Price"))
    expect(price_row.locator("td")).to_have_count(3)
    expect(price_row.locator("td.cell-cheapest")).to_have_count(1)
    price_row.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"prices-compare-{size}-{scheme}.png"), caret="initial")
