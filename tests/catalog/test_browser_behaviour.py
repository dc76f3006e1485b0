"""Small behaviours only a browser shows: one request per search, the page title after a swap,
the shortlist menu closing, the phone's filter panel, thumbnails without a broken-image flash."""

from __future__ import annotations

import base64
import re

import pytest
from playwright.sync_api import expect

from catalog.models import Shortlist
from tests.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FAL_IMAGES = re.compile(r"^https?://(?!localhost|127\.0\.0\.1)")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def open_page(browser, live_server):
    """A signed-in page in its own context; fal's images fail at once unless a test routes them."""
    contexts = []

    def open_as(username, password, path="/", *, width=1280, height=900, images=None):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        context.route(FAL_IMAGES, images or (lambda route: route.abort()))
        page = context.new_page()
        page.errors = []
        page.on(
            "console",
            lambda m: m.type == "error" and "net::ERR" not in m.text and page.errors.append(m.text),
        )
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        sign_in(page, live_server, username, password, path)
        return page

    yield open_as
    for context in contexts:
        context.close()


def grid_requests(page) -> list[str]:
    """htmx requests for the grid's results, as they are sent."""
    sent: list[str] = []
    page.on(
        "request",
        lambda r: (
            r.headers.get("hx-request") == "true"
            and r.headers.get("hx-target") == "results"
            and sent.append(r.url)
        ),
    )
    return sent


@pytest.mark.parametrize("how", ["enter", "button"])
def test_enter_or_the_search_button_sends_one_request(open_page, member, how):
    page = open_page("mia", "member-pass-1234")
    sent = grid_requests(page)
    page.fill("#q", "flux")  # an input event: the debounced search starts
    if how == "enter":
        page.press("#q", "Enter")
    else:
        page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?q=flux$"))
    page.wait_for_timeout(1000)  # past the search box's 300 ms debounce
    assert len(sent) == 1, sent
    # Typing more still searches (the next state is a new request), and once.
    page.press("#q", "End")
    page.keyboard.type("2")
    expect(page).to_have_url(re.compile(r"\?q=flux2$"))
    page.press("#q", "Enter")
    page.wait_for_timeout(800)
    assert len(sent) == 2, sent
    assert page.errors == []


def test_htmx_swaps_update_the_page_title(open_page, member):
    page = open_page("mia", "member-pass-1234")
    expect(page).to_have_title("Models · fal catalog")
    page.fill("#q", "flux")
    expect(page).to_have_title("“flux” · Models · fal catalog")
    page.locator("#filters input[name=category][value='text-to-image']").check()
    expect(page).to_have_title("“flux” · text-to-image · Models · fal catalog")
    page.go_back()
    expect(page).to_have_title("“flux” · Models · fal catalog")
    assert page.errors == []


def test_the_shortlist_menu_closes_on_escape_and_on_a_click_outside(open_page, curator):
    Shortlist.objects.create(title="Product shots", slug="product-shots", curator=curator)
    page = open_page("cora", "curator-pass-1234", "/?q=flux")
    menu = page.locator(".grid .card details.shortlist-menu").first
    summary = menu.locator("summary")
    summary.click()
    expect(menu).to_have_attribute("open", "")
    menu.get_by_role("button", name="Product shots").focus()
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()
    summary.click()
    expect(menu).to_have_attribute("open", "")
    page.locator("#result-count").click()  # anywhere outside the menu
    expect(menu).not_to_have_attribute("open", "")
    assert page.errors == []


def test_on_a_phone_a_facet_folds_the_filter_panel_and_shows_the_results(open_page, member):
    page = open_page("mia", "member-pass-1234", width=390, height=844)
    rail = page.locator("details.rail-toggle")
    expect(rail).not_to_have_attribute("open", "")
    rail.locator("> summary").click()
    expect(rail).to_have_attribute("open", "")
    page.locator("#filters input[name=category][value='text-to-image']").check()
    expect(page).to_have_url(re.compile(r"category=text-to-image"))
    expect(page.locator("details.rail-toggle")).not_to_have_attribute("open", "")
    expect(page.locator(".grid .card").first).to_be_in_viewport()
    assert page.errors == []


def test_a_thumbnail_is_hidden_until_it_loads_so_no_broken_icon_flashes(open_page, member):
    mode = {"images": "fail"}
    held = []

    def images(route):
        if mode["images"] == "fail":
            route.abort()
        elif mode["images"] == "load":
            route.fulfill(status=200, content_type="image/png", body=PNG)
        else:
            held.append(route)  # no answer yet: the image is loading

    page = open_page("mia", "member-pass-1234", "/?q=flux", images=images)
    failed = page.locator(".grid .card img.thumb-img").first
    expect(failed).to_have_class(re.compile(r"\bfailed\b"))
    expect(failed).to_be_hidden()
    mode["images"] = "hold"
    page.fill("#q", "kling")  # new cards, new image requests
    expect(page).to_have_url(re.compile(r"q=kling"))
    loading = page.locator(".grid .card img.thumb-img").first
    expect(loading).to_be_attached()
    page.wait_for_function("document.querySelectorAll('.grid .card img.thumb-img').length > 0")
    expect(loading).to_be_hidden()  # loading: the placeholder shows, not a broken image
    expect(page.locator(".grid .card .thumb-placeholder").first).to_be_visible()
    mode["images"] = "load"
    page.fill("#q", "veo")
    expect(page).to_have_url(re.compile(r"q=veo"))
    expect(page.locator(".grid .card img.thumb-img").first).to_be_visible()
    assert page.errors == []
