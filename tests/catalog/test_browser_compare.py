"""The compare page in a real headless Chromium: pick on the grid, compare, share the URL."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect

from tests.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
PICKS = [
    "fal-ai/kling-video/v3/pro/image-to-video",
    "fal-ai/veo3.1/fast/image-to-video",
    "xai/grok-imagine-video/image-to-video",
]


def compared_ids(page) -> list[str]:
    return page.locator("thead th.model-col").evaluate_all(
        "cells => cells.map(cell => cell.dataset.endpointId)"
    )


def overview_labels(page) -> list[str]:
    return page.locator("tbody.group-overview th[scope=row]").all_inner_texts()


def shown_fields(page) -> list[str]:
    return page.locator("tbody.group-inputs tr[data-field]").evaluate_all(
        "rows => rows.map(row => row.dataset.field)"
    )


def test_pick_three_on_the_grid_compare_them_and_share_the_url(
    member_page, browser, live_server, console_errors
):
    page = member_page
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{live_server.url}/?category=image-to-video")
    for endpoint_id in PICKS:
        # Each pick reloads the results (and the tray) through htmx; wait for it to settle.
        page.locator(f'.card[data-endpoint-id="{endpoint_id}"] input[name=compare]').check()
        expect(page.locator(".tray")).to_contain_text(f"({PICKS.index(endpoint_id) + 1}/6)")
    page.locator("a#open-compare").click()

    expect(page).to_have_url(re.compile(r"/compare/\?"))
    assert [v for k, v in parse_qsl(urlsplit(page.url).query) if k == "endpoint_id"] == PICKS
    assert compared_ids(page) == PICKS
    everything = shown_fields(page)
    assert len(overview_labels(page)) == 12  # with the price and its reference job
    assert everything[:2] == ["prompt", "duration"]  # shared by all three
    expect(page.locator("tbody.group-inputs .counts")).to_have_text(
        "0 the same, 2 differ, 14 in only some models"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    # caret="initial": hiding the caret injects a style, which our CSP (rightly) reports.
    page.screenshot(path=str(ARTIFACTS / "compare-three-image-to-video.png"), caret="initial")

    toggle = page.locator("#only-differences")
    expect(toggle).not_to_be_checked()
    toggle.focus()
    page.keyboard.press("Space")  # a real switch: the keyboard works
    expect(page).to_have_url(re.compile(r"only=diff"))
    expect(page.locator("#only-differences")).to_be_checked()
    # These three share no input that is the same in all three, so every input row stays;
    # the overview keeps only the rows that differ (same category, license, kind, status):
    # the family, and their prices.
    differing = shown_fields(page)
    assert differing == everything
    assert overview_labels(page) == ["Family", "Price", "Reference job"]
    page.screenshot(path=str(ARTIFACTS / "compare-only-differences.png"), caret="initial")

    # The URL is the whole state: a fresh page (new context, same sign-in) shows the same.
    shared_url = page.url
    cookies = page.context.cookies()
    context = browser.new_context()
    context.add_cookies(cookies)
    fresh = context.new_page()
    fresh.goto(shared_url)
    assert compared_ids(fresh) == PICKS
    assert shown_fields(fresh) == differing
    assert overview_labels(fresh) == ["Family", "Price", "Reference job"]
    expect(fresh.locator("#only-differences")).to_be_checked()
    context.close()
    assert console_errors == []


def test_reorder_remove_and_copy_as_markdown(member_page, live_server, console_errors):
    page = member_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    query = "&".join(f"endpoint_id={i}" for i in PICKS)
    page.goto(f"{live_server.url}/compare/?{query}")
    page.get_by_role("link", name="Move Veo 3.1 Fast left").click()
    # Wait for the swap itself: the old URL already names veo3.1, just not first.
    expect(page.locator("thead th.model-col").first).to_contain_text("Veo 3.1 Fast")
    expect(page).to_have_url(re.compile(r"\?endpoint_id=fal-ai(/|%2F)veo3\.1"))
    assert compared_ids(page) == [PICKS[1], PICKS[0], PICKS[2]]
    page.get_by_role("link", name="Remove Grok Imagine Video from the comparison").click()
    expect(page.locator("thead th.model-col")).to_have_count(2)
    expect(page).to_have_title(
        "Compare · Veo 3.1 Fast, Kling Video v3 Image to Video [Pro] · fal catalog"
    )
    assert compared_ids(page) == [PICKS[1], PICKS[0]]

    page.locator("#copy-markdown").click()
    expect(page.locator("#copy-markdown")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("## Comparing 2 fal models")
    assert "| **Veo 3.1 Fast** | **Kling Video v3 Image to Video [Pro]** |" in copied
    assert console_errors == []


def test_section_labels_stay_in_view_when_a_wide_table_scrolls_sideways(member_page, live_server):
    page = member_page
    page.set_viewport_size({"width": 390, "height": 800})
    ids = "&".join(f"endpoint_id={i}" for i in PICKS)
    page.goto(f"{live_server.url}/compare/?{ids}")
    scroller = page.locator(".compare-scroll")
    scroller.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    page.wait_for_timeout(100)
    box = scroller.bounding_box()
    for label in ("Overview", "Capabilities"):
        span = page.locator(".group-row .group-label", has_text=label).first
        at = span.bounding_box()
        assert box["x"] <= at["x"] < box["x"] + box["width"], f"{label} scrolled out of view"


def test_the_field_counts_fit_beside_their_section_label_on_a_phone(member_page, live_server):
    page = member_page
    page.set_viewport_size({"width": 390, "height": 800})
    ids = "&".join(f"endpoint_id={i}" for i in PICKS)
    page.goto(f"{live_server.url}/compare/?{ids}")
    box = page.locator(".compare-scroll").bounding_box()
    for group in ("inputs", "outputs"):
        counts = page.locator(f"tbody.group-{group} .counts")
        expect(counts).to_contain_text("in only some models")
        at = counts.bounding_box()
        assert at["x"] + at["width"] <= box["x"] + box["width"], f"{group} counts cut off"


# --- Picking on the grid: six at most, said beside the boxes; picks are not history -----------

LIMIT = "6 is the most you can compare"


def compare_box(page, n: int):
    return page.locator(".grid .card").nth(n).locator("input[name=compare]")


def test_at_six_picks_the_other_boxes_are_off_with_the_reason_and_back_leaves_the_grid(
    member_page, live_server, console_errors
):
    page = member_page
    page.goto(f"{live_server.url}/shortlists/")
    page.goto(f"{live_server.url}/?category=image-to-video")
    entries = page.evaluate("history.length")
    for n in range(5):
        compare_box(page, n).check()
        expect(page.locator(".tray")).to_contain_text(f"({n + 1}/6)")
    # The sixth tick turns the other boxes off at once, before the server answers.
    off_at_once = page.evaluate(
        """() => {
            const boxes = document.querySelectorAll('.grid .card input[name=compare]');
            boxes[5].click();
            return [boxes[6].disabled, boxes[7].disabled];
        }"""
    )
    assert off_at_once == [True, True]
    expect(page.locator(".tray")).to_contain_text("(6/6)")
    seventh = page.locator(".grid .card").nth(6)
    expect(seventh.locator("input[name=compare]")).to_be_disabled()
    expect(seventh.locator(".compare-toggle")).to_contain_text(LIMIT)
    expect(seventh.get_by_role("checkbox")).to_have_accessible_name(re.compile(LIMIT))
    expect(page.locator("#results-status")).to_contain_text(LIMIT)
    expect(compare_box(page, 0)).to_be_enabled()  # a pick can still be taken back
    expect(page.locator(".banner")).to_have_count(0)
    # Six picks, no new history entry: Back leaves the grid in one step.
    assert page.evaluate("history.length") == entries
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/shortlists/")
    assert console_errors == []


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}], ids=str
)
def test_scrolled_to_the_end_the_tray_covers_no_compare_box_or_price(
    new_page, live_server, member, viewport
):
    page = new_page(viewport=viewport)
    sign_in(page, live_server, "mia", "member-pass-1234", "/?category=image-to-video")
    # Six picks: the tray at its fullest (its names wrap to a second row on a desktop).
    ids = page.locator(".grid .card").evaluate_all("cards => cards.map(c => c.dataset.endpointId)")
    picks = "&".join(f"compare={i}" for i in ids[:6])
    page.goto(f"{live_server.url}/?category=image-to-video&{picks}")
    expect(page.locator(".tray")).to_contain_text("(6/6)")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_timeout(200)
    covered = page.evaluate(
        """() => {
            const tray = document.querySelector('.tray').getBoundingClientRect();
            const hit = (r) => r.width && r.height && r.bottom > tray.top && r.top < tray.bottom
                && r.right > tray.left && r.left < tray.right;
            return [...document.querySelectorAll('.card .compare-toggle, .card .card-price')]
                .filter((el) => hit(el.getBoundingClientRect()))
                .map((el) => el.closest('.card').dataset.endpointId);
        }"""
    )
    assert covered == []
    # Nor do its six names widen the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def tray_picks_out_of_reach(page) -> list[str]:
    """The tray's picks whose name or remove control is not on the screen where it can be
    read and tapped: clipped by the tray (or a scroller inside it), or under something else."""
    return page.evaluate(
        """() => {
            const tray = document.querySelector('.tray');
            const shows = (el) => {
                const r = el.getBoundingClientRect();
                if (!r.width || !r.height || r.left < 0 || r.right > innerWidth) return false;
                const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                return hit !== null && el.contains(hit);
            };
            return [...tray.querySelectorAll('li')]
                .filter((li) => !shows(li) || !shows(li.querySelector('a'))
                    || li.getBoundingClientRect().right > tray.getBoundingClientRect().right)
                .map((li) => li.textContent.trim());
        }"""
    )


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=str
)
def test_every_pick_in_the_tray_can_be_read_and_removed(new_page, live_server, member, viewport):
    page = new_page(viewport=viewport)
    grid = "/?category=text-to-video&sort=price"
    sign_in(page, live_server, "mia", "member-pass-1234", grid)
    cards = page.locator(".grid .card")
    ids = cards.evaluate_all("cards => cards.map(c => c.dataset.endpointId)")[:6]
    names = [cards.nth(n).locator(".card-title").inner_text() for n in range(6)]
    for count in (2, 6):  # the reviewer's two (long names), then the most there can be
        picks = "&".join(f"compare={i}" for i in ids[:count])
        page.goto(f"{live_server.url}{grid}&{picks}")
        tray = page.locator(".tray")
        expect(tray).to_contain_text(f"({count}/6)")
        assert tray_picks_out_of_reach(page) == []
        # Nothing in it scrolls sideways out of sight, and a shortened name is whole for
        # assistive technology and on hover.
        assert tray.evaluate(
            """t => [t, ...t.querySelectorAll('*')]
                .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
                .every(e => e.scrollWidth <= e.clientWidth + 1)"""
        )
        for endpoint_id, name in zip(ids[:count], names, strict=False):
            chip = tray.locator(f'li[title*="{endpoint_id}"]')
            expect(chip).to_have_attribute("title", re.compile(re.escape(name)))
            expect(chip.get_by_role("link")).to_have_accessible_name(f"Remove {name} from compare")
    # The last pick, the one a clipped row hid first, comes off.
    tray.locator("li a").last.click()
    expect(tray).to_contain_text("(5/6)")
    assert f"compare={ids[5]}" not in page.url.replace("%2F", "/")
    assert new_page.errors == []
