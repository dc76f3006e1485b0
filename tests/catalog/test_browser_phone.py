"""The grid on a 390 px phone, in a real headless Chromium: a dense row per model, a top bar
that gives the screen back, touch targets a finger can hit; the desktop keeps its cards."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from tests.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
TOUCH = 44  # px: the smallest target a finger hits reliably


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
