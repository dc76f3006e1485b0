"""Accessibility in a real headless Chromium: axe-core on every page kind (member, curator,
staff; light and dark; desktop and a 390 px phone), and the grid's keyboard path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from catalog.models import Shortlist
from tests.helpers import axe_violations, describe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
SIZES = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}
WITH_SCHEMA = "fal-ai/kling-video/v3/pro/image-to-video"  # an OpenAPI document and a price
NO_SCHEMA = "bytedance/seedance-2.5/image-to-video"  # in the catalog, no OpenAPI document
COMPARED = [WITH_SCHEMA, "fal-ai/veo3.1/fast/image-to-video", NO_SCHEMA]
USERS = {
    "member": ("mia", "member-pass-1234"),
    "curator": ("cora", "curator-pass-1234"),
    "staff": ("sam", "staff-pass-1234"),
}


@pytest.fixture
def people(django_user_model, member, curator):
    """A member, a curator (not staff), a staff curator, and a shortlist with a flagged entry."""
    staff = django_user_model.objects.create_user(
        username="sam", password="staff-pass-1234", is_staff=True
    )
    staff.groups.add(Group.objects.get(name="curator"))
    shortlist = Shortlist.objects.create(
        title="Product shots",
        slug="product-shots",
        description="Clean studio images of products for the shop.",
        curator=curator,
    )
    shortlist.entries.create(endpoint_id=WITH_SCHEMA, note="Our default for product video.")
    shortlist.entries.create(endpoint_id=NO_SCHEMA)
    shortlist.entries.create(endpoint_id="fal-ai/retired-model", note="Retired by fal.")
    return shortlist


@pytest.fixture
def open_page(new_page, live_server, people):
    """`open_page(role, scheme, size)`: a signed-in page in a fresh context ("anonymous" is
    not signed in). The CSP is bypassed only so that axe can be injected."""

    def open_(role: str, scheme: str, size: str):
        page = new_page(viewport=SIZES[size], color_scheme=scheme, bypass_csp=True)
        if role != "anonymous":
            sign_in(page, live_server, *USERS[role])
        return page

    return open_


def visit(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")  # lazy parts (schema, shortlist menus) are in


def pages_for(role: str, size: str) -> list[tuple[str, str]]:
    """(page kind, path) to check for a role; on a phone, the grid and the model pages."""
    grid = [
        ("grid", "/"),
        ("grid filtered", "/?q=video&category=image-to-video&license=commercial&sort=newest"),
        ("grid no results", "/?q=zzqqxxnothing"),
        ("grid with compare tray", "/?" + "&".join(f"compare={e}" for e in COMPARED)),
        ("model with schema", f"/models/{WITH_SCHEMA}/"),
        ("model without schema", f"/models/{NO_SCHEMA}/"),
    ]
    if size == "phone":
        return grid
    rest = {
        "member": [
            ("compare of 3", "/compare/?" + "&".join(f"endpoint_id={e}" for e in COMPARED)),
            ("shortlists", "/shortlists/"),
            ("shortlist", "/shortlists/product-shots/"),
            ("changes", "/changes/"),
            ("404", "/shortlists/no-such-list/"),
            ("403", "/catalog/sync/"),
        ],
        "curator": [
            ("shortlists", "/shortlists/"),
            ("shortlist", "/shortlists/product-shots/"),
            ("shortlist edit", "/shortlists/product-shots/edit/"),
            ("shortlist menu page", f"/shortlist-menu/?endpoint_id={WITH_SCHEMA}"),
        ],
        "staff": [("sync", "/catalog/sync/"), ("404", "/no/such/page/")],
    }[role]
    return grid + rest


def check(page, live_server, axe_path, role, scheme, size) -> dict[str, list[dict]]:
    found = {}
    for kind, path in pages_for(role, size):
        visit(page, live_server.url + path)
        if kind == "model with schema":
            # The price estimate, answered through htmx into the page.
            page.locator("#quantity").fill("12")
            page.locator(".calculator button[type=submit]").click()
            expect(page.locator("#estimate strong")).to_be_visible()
        found[kind] = axe_violations(page, axe_path)
        if kind == "grid" and role != "member":
            page.locator(".grid .card .shortlist-toggle").first.click()
            page.wait_for_load_state("networkidle")
            expect(page.locator(".grid .card .shortlist-choice").first).to_be_visible()
            found["grid, a shortlist menu open"] = axe_violations(page, axe_path)
    return found


def record(name: str, found: dict[str, list[dict]]) -> None:
    """The whole axe result (every impact) per page kind, kept in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    summary = {
        kind: [
            {"id": v["id"], "impact": v["impact"], "nodes": len(v["targets"])} for v in violations
        ]
        for kind, violations in found.items()
    }
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(summary, indent=1))


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(
    ("role", "size"),
    [("member", "desktop"), ("curator", "desktop"), ("staff", "desktop"), ("member", "phone")],
)
def test_axe_finds_no_violation_on_any_page(open_page, live_server, axe_path, role, scheme, size):
    page = open_page(role, scheme, size)
    found = check(page, live_server, axe_path, role, scheme, size)
    record(f"{role}-{size}-{scheme}", found)
    blocking = describe_violations(found)
    assert not blocking, f"axe-core, {role} on {size} in {scheme}:\n{blocking}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_on_the_sign_in_page(open_page, live_server, axe_path, scheme):
    page = open_page("anonymous", scheme, "desktop")
    visit(page, f"{live_server.url}/accounts/login/?next=/")
    found = {"sign-in": axe_violations(page, axe_path)}
    page.fill("#id_username", "mia")
    page.fill("#id_password", "wrong-password")
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")
    found["sign-in with an error"] = axe_violations(page, axe_path)
    record(f"anonymous-desktop-{scheme}", found)
    blocking = describe_violations(found)
    assert not blocking, f"axe-core, signed out, in {scheme}:\n{blocking}"


def tabs_until(page, selector: str, limit: int = 200) -> int:
    """How many Tab presses move the focus onto the first element matching `selector`."""
    target = page.locator(selector).first.element_handle()
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("el => document.activeElement === el", target):
            return presses
    raise AssertionError(f"{selector} not reached in {limit} Tab presses")


FIRST_CARD_LINK = ".grid .card a[href]:not([tabindex='-1'])"


def test_a_card_is_one_link_and_a_skip_link_leads_to_the_first_card(open_page, live_server):
    page = open_page("member", "light", "desktop")
    visit(page, f"{live_server.url}/")
    tabs = tabs_until(page, FIRST_CARD_LINK)
    print(f"Tab presses from page load to the first card: {tabs}")
    # A member's card has three stops: its one link (the title; the thumbnail is no second
    # stop), the copy button and the compare checkbox; the fourth Tab is the next card's link.
    first, second = page.locator(".grid .card").first, page.locator(".grid .card").nth(1)
    expect(first.get_by_role("link")).to_have_count(1)
    expect(first.get_by_role("link")).to_have_text(first.locator(".card-title").inner_text())
    # The clamped title clips its own focus ring: the card shows it instead.
    expect(first).to_have_css("outline-style", "solid")
    for _ in range(3):
        page.keyboard.press("Tab")
    expect(second.get_by_role("link")).to_be_focused()

    # The search box and the rail's ~50 stops come first: "Skip to results" jumps them.
    assert tabs > 10
    page.reload()
    page.wait_for_load_state("networkidle")
    page.keyboard.press("Tab")  # "Skip to content"
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to results")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # shown while focused
    page.keyboard.press("Enter")
    assert tabs_until(page, FIRST_CARD_LINK, limit=1) == 1  # 4 key presses in all


def test_the_result_count_is_announced_by_one_stable_live_region(open_page, live_server):
    page = open_page("member", "light", "desktop")
    visit(page, f"{live_server.url}/")
    status = page.locator("#results-status")
    expect(status).to_have_attribute("aria-live", "polite")
    page.evaluate("document.getElementById('results-status').dataset.original = 'yes'")
    page.locator("#q").fill("kling")
    expect(page).to_have_url(re.compile(r"\?q=kling$"))
    count = page.locator("#result-count strong").inner_text()
    assert int(count) < 1434
    # The same node (not a replaced one) now says the new count.
    expect(status).to_have_text(f"{count} models")
    expect(status).to_have_attribute("data-original", "yes")
    # No other live region is swapped in and out with the results.
    assert page.locator("#results [aria-live]").count() == 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_on_a_deprecated_models_card(
    open_page, live_server, axe_path, scheme
):
    """The bundled snapshot has no deprecated model: one is made so, as fal would mark it."""
    from catalog.models import CatalogEntry
    from catalog.sync import bump_index_version

    row = CatalogEntry.objects.get(endpoint_id=WITH_SCHEMA)
    row.entry["metadata"]["status"] = "deprecated"
    row.save(update_fields=["entry"])
    bump_index_version()
    page = open_page("member", scheme, "desktop")
    visit(page, f"{live_server.url}/?status=all&q={WITH_SCHEMA}")
    expect(page.locator(".card-deprecated").first).to_be_visible()
    found = {"grid, a deprecated card": axe_violations(page, axe_path)}
    blocking = describe_violations(found)
    assert not blocking, f"axe-core, a deprecated card in {scheme}:\n{blocking}"
