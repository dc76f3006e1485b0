"""The grid on a 390 px phone, in a real headless Chromium: a dense row per model, a top bar
that gives the screen back, touch targets a finger can hit; the desktop keeps its cards."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.helpers import axe_violations, describe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
TOUCH = 44  # px: the smallest target a finger hits reliably
STAFF_MENU = ["Usage", "Changes", "Shortlists", "Watches", "Inbox", "Admin", "Refresh catalog"]


@pytest.fixture
def staff_curator_page(new_page, live_server, django_user_model):
    """The widest top bar there is (staff links, the data-source note) and the shortlist
    control on every card: a staff curator, signed in on a phone."""
    user = django_user_model.objects.create_user(
        username="sam", password="staff-pass-1234", is_staff=True
    )
    user.groups.add(Group.objects.get(name="curator"))
    page = new_page(viewport=PHONE)
    sign_in(page, live_server, "sam", "staff-pass-1234")
    return page


def box(locator) -> dict:
    """The element's box in page coordinates (not the viewport's)."""
    return locator.evaluate(
        """el => { const r = el.getBoundingClientRect();
                   return {top: r.top + scrollY, bottom: r.bottom + scrollY, height: r.height}; }"""
    )


def header_covers(page) -> float:
    """How many px at the top of the screen the top bar hides (0 once it has gone)."""
    return page.evaluate(
        """() => { const r = document.querySelector('.topbar').getBoundingClientRect();
                   return Math.max(0, r.bottom); }"""
    )


def cards_on_screen(page) -> int:
    """Cards wholly on the screen and not under the top bar."""
    return page.evaluate(
        """() => { const bar = document.querySelector('.topbar').getBoundingClientRect();
                   const from = Math.max(0, bar.bottom);
                   return [...document.querySelectorAll('.grid .card')].filter(card => {
                     const r = card.getBoundingClientRect();
                     return r.top >= from && r.bottom <= innerHeight; }).length; }"""
    )


def test_a_phone_shows_a_row_per_model_and_the_first_ones_on_the_first_screen(
    staff_curator_page, new_page
):
    page = staff_curator_page
    first = page.locator(".grid .card").first
    assert box(page.locator(".topbar"))["height"] <= 80
    assert box(first)["height"] <= 120
    assert box(first)["top"] < 600  # the first card starts on the first screen
    thumb = box(first.locator(".thumb"))
    assert 56 <= thumb["height"] <= 80  # a small square beside the text, not above it
    assert first.locator(".thumb").evaluate("t => t.offsetWidth") == pytest.approx(
        thumb["height"], abs=1
    )

    # Past the filters, the screen is a list of models.
    page.evaluate("top => window.scrollTo(0, top)", box(first)["top"])
    expect(page.locator(".topbar")).not_to_be_in_viewport()  # tucked away scrolling down
    assert cards_on_screen(page) >= 5
    assert new_page.errors == []


def test_on_a_phone_the_top_bar_comes_back_when_scrolling_up(staff_curator_page):
    page = staff_curator_page
    page.mouse.wheel(0, 1500)
    expect(page.locator(".topbar")).not_to_be_in_viewport()
    page.mouse.wheel(0, -200)
    expect(page.locator(".topbar")).to_be_in_viewport()
    assert header_covers(page) <= 80
    # Focus on its links (a keyboard) brings it back too.
    page.mouse.wheel(0, 800)
    expect(page.locator(".topbar")).not_to_be_in_viewport()
    page.locator(".topbar .brand").focus()
    expect(page.locator(".topbar .brand")).to_be_in_viewport()


def test_on_a_phone_compare_and_shortlist_are_finger_sized(staff_curator_page):
    page = staff_curator_page
    card = page.locator(".grid .card").nth(2)
    card.scroll_into_view_if_needed()
    for target in (card.locator(".compare-toggle"), card.locator(".shortlist-toggle")):
        assert box(target)["height"] >= TOUCH
    compare = card.locator("input[name=compare]")
    card.locator(".compare-toggle").click()
    expect(compare).to_be_checked()
    card.locator(".shortlist-toggle").click()
    expect(card.locator(".shortlist-menu")).to_have_attribute("open", "")
    expect(card.locator(".shortlist-pop")).to_be_in_viewport()


def test_the_desktop_keeps_its_cards_with_the_thumbnail_on_top(new_page, live_server, member):
    page = new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, "mia", "member-pass-1234")
    card = page.locator(".grid .card").first
    thumb = box(card.locator(".thumb"))
    assert card.evaluate("c => c.clientWidth") == card.locator(".thumb").evaluate(
        "t => t.offsetWidth"
    )
    assert box(card.locator(".card-title"))["top"] > thumb["bottom"]
    expect(page.locator(".topbar")).to_have_css("position", "sticky")
    page.mouse.wheel(0, 1500)
    expect(page.locator(".topbar")).to_be_in_viewport()  # a desktop keeps its bar in view


def test_the_model_page_on_a_phone_keeps_its_wide_thumbnail_and_all_its_badges(
    staff_curator_page, live_server
):
    page = staff_curator_page
    page.goto(f"{live_server.url}/models/fal-ai/flux/dev/")
    thumb = page.locator(".hero .thumb")
    width, height = thumb.evaluate("t => [t.offsetWidth, t.offsetHeight]")
    assert width / height == pytest.approx(16 / 9, abs=0.05)
    badges = page.locator(".hero .badges")
    assert badges.evaluate("b => b.scrollHeight <= b.clientHeight")  # none cut off


def test_on_a_phone_a_filter_shows_its_results_at_the_top_of_the_screen(staff_curator_page):
    page = staff_curator_page
    page.locator(".rail-toggle > summary").click()
    page.locator("#filters input[name=category][value='text-to-image']").check()
    expect(page).to_have_url(re.compile(r"category=text-to-image"))
    expect(page.locator("details.rail-toggle")).not_to_have_attribute("open", "")
    # The top bar slid away while the page scrolled down to the results: no gap above them.
    expect(page.locator(".topbar")).not_to_be_in_viewport()
    top = page.evaluate("() => document.querySelector('.grid-area').getBoundingClientRect().top")
    assert 0 <= top <= 16


def scrolls_sideways(page, selector: str) -> list[str]:
    """The elements in `selector` that scroll sideways: content past their edge, out of sight."""
    return page.evaluate(
        """selector => [...document.querySelectorAll(selector + ', ' + selector + ' *')]
            .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .map(e => e.className || e.tagName)""",
        selector,
    )


def out_of_reach(locator) -> bool:
    """Not wholly on the screen, or not what a tap at its middle hits."""
    return locator.evaluate(
        """el => { const r = el.getBoundingClientRect();
                   if (!r.width || r.left < 0 || r.right > innerWidth || r.bottom > innerHeight)
                     return true;
                   const x = r.left + r.width / 2, y = r.top + r.height / 2;
                   return !el.contains(document.elementFromPoint(x, y)); }"""
    )


def test_on_a_phone_every_link_of_the_top_bar_is_in_reach_behind_one_menu(
    new_page, live_server, staff_curator_page, axe_path
):
    # sam (made by staff_curator_page) again, the CSP bypassed for axe only.
    page = new_page(viewport=PHONE, bypass_csp=True)
    sign_in(page, live_server, "sam", "staff-pass-1234")
    # One row: nothing in the bar scrolls sideways, and it takes less than before (66 px).
    assert scrolls_sideways(page, ".topbar") == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert box(page.locator(".topbar"))["height"] <= 60
    menu = page.locator(".topbar summary")
    assert box(menu)["height"] >= TOUCH
    expect(page.get_by_role("link", name="Admin")).to_be_hidden()
    menu.click()
    nav = page.get_by_role("navigation", name="User menu")
    items = [*STAFF_MENU, "Sign out sam"]
    for name in items:
        item = nav.get_by_role("link", name=name, exact=True).or_(
            nav.get_by_role("button", name=name, exact=True)
        )
        expect(item).to_be_visible()
        assert not out_of_reach(item), name
        assert box(item)["height"] >= TOUCH, name
    assert describe_violations({"grid, the menu open": axe_violations(page, axe_path)}) == ""
    # Esc closes it, back on its button; a tap on a link goes there.
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    nav.get_by_role("link", name="Admin").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    assert new_page.errors == []


def test_the_desktop_shows_the_top_bar_links_without_a_menu(staff_curator_page, new_page):
    page = new_page(viewport={"width": 1280, "height": 900})
    page.context.add_cookies(staff_curator_page.context.cookies())
    page.goto(staff_curator_page.url)
    expect(page.locator(".topbar summary")).to_be_hidden()
    nav = page.get_by_role("navigation", name="User menu")
    for name in STAFF_MENU:
        expect(
            nav.get_by_role("link", name=name, exact=True).or_(
                nav.get_by_role("button", name=name, exact=True)
            )
        ).to_be_visible()
    assert box(page.locator(".topbar"))["height"] <= 50  # one row, as before
