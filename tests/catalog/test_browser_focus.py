"""Keyboard users keep their place: focus survives htmx swaps (Load more, compare moves, a
shortlist button, a saved note), and the snippet tabs follow the WAI-ARIA tabs pattern."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Shortlist
from tests.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PICKS = [
    "fal-ai/kling-video/v2.1/master/text-to-video",
    "fal-ai/veo3.1/fast",
    "xai/grok-imagine-video/text-to-video",
]


def focused(page, expression: str = "el => el"):
    return page.evaluate(f"({expression})(document.activeElement)")


def test_load_more_by_keyboard_focuses_the_first_new_card(member_page):
    page = member_page
    first_new = None
    more = page.get_by_role("link", name="Load more")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".grid .card")).to_have_count(96)
    first_new = page.locator(".grid .card").nth(48).get_attribute("data-endpoint-id")
    expect(page.locator(".grid .card").nth(48).locator(".card-title a")).to_be_focused()
    assert focused(page, "el => el.closest('.card').dataset.endpointId") == first_new


def test_a_compare_move_keeps_focus_on_the_moved_model(member_page, live_server):
    page = member_page
    page.goto(f"{live_server.url}/compare/?" + "&".join(f"endpoint_id={i}" for i in PICKS))
    move = page.get_by_role("link", name="Move Veo 3.1 Fast right")
    move.focus()
    page.keyboard.press("Enter")
    expect(page.locator("thead th.model-col").nth(2)).to_contain_text("Veo 3.1 Fast")
    # It is the last column now: no "right" any more, so its "left" has the focus.
    expect(page.get_by_role("link", name="Move Veo 3.1 Fast left")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("thead th.model-col").nth(1)).to_contain_text("Veo 3.1 Fast")
    expect(page.get_by_role("link", name="Move Veo 3.1 Fast left")).to_be_focused()


def test_shortlist_button_and_note_save_keep_focus(page, live_server, curator):
    shortlist = Shortlist.objects.create(title="Product shots", slug="product-shots")
    sign_in(page, live_server, "cora", "curator-pass-1234", "/?q=flux")
    card = page.locator(".grid .card").first
    card.locator(".shortlist-toggle").focus()
    page.keyboard.press("Enter")  # opens the <details>
    add = card.get_by_role("button", name="Product shots")
    add.focus()
    page.keyboard.press("Enter")
    added = card.get_by_role("button", name="Product shots")
    expect(added).to_have_attribute("aria-pressed", "true")
    expect(added).to_be_focused()

    entry = shortlist.entries.get()
    page.goto(f"{live_server.url}/shortlists/product-shots/")
    item = page.locator(f"#entry-{entry.pk}")
    item.get_by_text("Edit note").click()
    item.locator("textarea").fill("Sharp product edges.")
    item.get_by_role("button", name="Save note").focus()
    page.keyboard.press("Enter")
    expect(item).to_contain_text("Sharp product edges.")
    # The form closed with the save: focus is on its "Edit note", in the same entry.
    expect(item.locator("summary", has_text="Edit note")).to_be_focused()


def test_snippet_tabs_by_keyboard(member_page, live_server):
    page = member_page
    page.goto(f"{live_server.url}/models/fal-ai/ltx-2.3/text-to-video/")
    tabs = page.get_by_role("tab")
    expect(tabs.first).to_be_visible()
    names = tabs.all_inner_texts()
    assert len(names) >= 2
    first, second = tabs.nth(0), tabs.nth(1)
    first.focus()
    page.keyboard.press("ArrowRight")
    expect(second).to_be_focused()
    expect(second).to_have_attribute("aria-selected", "true")
    expect(first).to_have_attribute("aria-selected", "false")
    expect(page.locator(f"#{second.get_attribute('aria-controls')}")).to_be_visible()
    expect(page.locator(f"#{first.get_attribute('aria-controls')}")).to_be_hidden()
    # Roving tabindex: only the selected tab is in the Tab order; Tab goes into its panel.
    assert [tabs.nth(i).get_attribute("tabindex") for i in range(len(names))].count("0") == 1
    page.keyboard.press("Tab")
    assert focused(page, "el => el.closest('[role=tabpanel]').id") == second.get_attribute(
        "aria-controls"
    )
    second.focus()
    page.keyboard.press("ArrowLeft")
    expect(first).to_be_focused()
    page.keyboard.press("ArrowLeft")  # wraps to the last
    expect(tabs.nth(len(names) - 1)).to_be_focused()
    page.keyboard.press("Home")
    expect(first).to_be_focused()
    expect(first).to_have_attribute("aria-selected", "true")


def test_the_shortcuts_work_right_after_a_facet_or_the_sort_was_used(member_page):
    """Focus stays on the facet or sort that was used; "/", j and k must still work there."""
    page = member_page
    page.locator("#license-research").check()
    expect(page).to_have_url(re.compile(r"license=research"))
    page.wait_for_load_state("networkidle")
    expect(page.locator("#license-research")).to_be_focused()
    page.keyboard.press("j")
    first = page.locator(".grid .card").first.locator(".card-title a")
    expect(first).to_be_focused()
    page.locator("#license-research").focus()
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.locator("#sort").select_option("name")
    expect(page).to_have_url(re.compile(r"sort=name"))
    page.wait_for_load_state("networkidle")
    page.locator("#sort").focus()
    page.keyboard.press("j")
    expect(page.locator(".grid .card").first.locator(".card-title a")).to_be_focused()
    page.locator("#q").fill("")
    page.locator("#q").press("j")  # a text field keeps its keys
    expect(page.locator("#q")).to_be_focused()
