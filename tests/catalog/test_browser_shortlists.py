"""A curator shortlists a model from the grid in one click; a member opens the shared link."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from catalog.models import Shortlist
from tests.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
GONE = "fal-ai/retired-model"
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


def test_curator_adds_from_the_grid_and_a_member_sees_it(new_page, live_server, curator, member):
    shortlist = Shortlist.objects.create(
        title="Product shots",
        slug="product-shots",
        description="Clean studio images of products for the shop.",
        curator=curator,
    )
    Shortlist.objects.create(title="Lip-sync", slug="lip-sync")
    # An entry whose model fal has since retired: it stays on the list, flagged.
    shortlist.entries.create(endpoint_id=GONE, note="Our default until fal retired it.")

    # The curator opens a filtered grid and shortlists the first card.
    curator_page = new_page()
    sign_in(curator_page, live_server, "cora", "curator-pass-1234", "/?q=flux")
    card = curator_page.locator(".grid .card").first
    endpoint_id = card.get_attribute("data-endpoint-id")
    name = card.locator(".card-title").inner_text()
    curator_page.evaluate("window.notReloaded = true")
    card.locator(".shortlist-toggle").click()
    add = card.get_by_role("button", name="Product shots")
    expect(add).to_have_attribute("aria-pressed", "false")
    add.click()
    expect(card.locator(".shortlist-toggle")).to_have_text("★ Shortlisted " + endpoint_id)
    expect(card.get_by_role("button", name="Product shots")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert curator_page.evaluate("window.notReloaded") is True  # htmx swapped, no page load
    assert "/?q=flux" in curator_page.url
    ARTIFACTS.mkdir(exist_ok=True)
    card.screenshot(path=str(ARTIFACTS / "shortlist-card-control.png"))
    entry = shortlist.entries.get(endpoint_id=endpoint_id)
    assert (entry.endpoint_id, entry.added_by) == (endpoint_id, curator)

    # On the shortlist page the curator says why, in place.
    curator_page.goto(f"{live_server.url}/shortlists/product-shots/")
    curator_page.locator(f"#entry-{entry.pk} .note-edit summary").click()
    curator_page.get_by_label(f"Why is {endpoint_id} on this list?").fill(
        "Sharp product edges; our default for hero images."
    )
    curator_page.get_by_role("button", name="Save note").click()
    expect(curator_page.locator(f"#entry-{entry.pk} .card-note")).to_have_text(
        "Sharp product edges; our default for hero images."
    )
    # The entry swapped in keeps its controls: it is still shortlisted, and says so.
    expect(curator_page.locator(f"#entry-{entry.pk} .shortlist-toggle")).to_have_text(
        "★ Shortlisted " + endpoint_id
    )

    curator_page.screenshot(path=str(ARTIFACTS / "shortlist-page-curator.png"), full_page=True)

    # A member opens the shared link, signs in, and lands on the list with the live card.
    member_page = new_page()
    member_page.goto(f"{live_server.url}/shortlists/product-shots/")
    expect(member_page).to_have_url(
        f"{live_server.url}/accounts/login/?next=/shortlists/product-shots/"
    )
    member_page.fill("#id_username", "mia")
    member_page.fill("#id_password", "member-pass-1234")
    member_page.click("form button[type=submit]")
    expect(member_page).to_have_url(f"{live_server.url}/shortlists/product-shots/")
    shown = member_page.locator(f'.shortlist-entries .card[data-endpoint-id="{endpoint_id}"]')
    expect(shown.locator(".card-title")).to_have_text(name)
    expect(shown.locator(".card-note")).to_have_text(
        "Sharp product edges; our default for hero images."
    )
    gone = member_page.locator(f'.shortlist-entries .card[data-endpoint-id="{GONE}"]')
    expect(gone.locator(".card-flag")).to_contain_text("No longer in fal's catalog")
    expect(member_page.locator(".shortlist-menu")).to_have_count(0)  # members only read
    expect(member_page.locator(".note-edit")).to_have_count(0)
    expect(member_page.get_by_role("link", name="Compare these")).to_have_attribute(
        "href", "/compare/?endpoint_id=" + endpoint_id
    )
    member_page.screenshot(path=str(ARTIFACTS / "shortlist-page.png"), full_page=True)
    assert new_page.errors == []


def test_without_javascript_the_card_button_posts_and_comes_back(new_page, live_server, curator):
    """The grid's cards sit inside its filter form; the button posts a form of its own."""
    shortlist = Shortlist.objects.create(title="Product shots", slug="product-shots")
    page = new_page(java_script_enabled=False)
    sign_in(page, live_server, "cora", "curator-pass-1234", "/?q=flux")
    card = page.locator(".grid .card").first
    endpoint_id = card.get_attribute("data-endpoint-id")
    card.locator(".shortlist-toggle").click()  # <details> opens without JavaScript
    with page.expect_navigation():  # its lists, as a page of their own
        card.get_by_role("link", name="Choose a list").click()
    with page.expect_navigation():  # the POST, then the redirect back to the grid
        page.get_by_role("button", name="Product shots").click()
    assert page.url == f"{live_server.url}/?q=flux"
    assert [e.endpoint_id for e in shortlist.entries.all()] == [endpoint_id]
    card = page.locator(f'.grid .card[data-endpoint-id="{endpoint_id}"]')
    expect(card.locator(".shortlist-toggle")).to_have_text("★ Shortlisted " + endpoint_id)


def test_a_stale_session_says_to_reload_the_page_not_to_try_again(new_page, live_server, curator):
    """Signed out and in again in another tab: the page's token is stale. The menu's post
    fails, and the banner offers a reload (a retry would fail the same way)."""
    Shortlist.objects.create(title="Product shots", slug="product-shots", curator=curator)
    page = new_page()
    sign_in(page, live_server, "cora", "curator-pass-1234", "/?q=flux")
    card = page.locator(".grid .card").first
    card.locator(".shortlist-toggle").click()
    add = card.get_by_role("button", name="Product shots")
    expect(add).to_be_visible()
    host = live_server.url.split("//", 1)[1].split(":")[0]
    page.context.add_cookies(
        [{"name": "csrftoken", "value": "s" * 32, "domain": host, "path": "/"}]
    )
    add.click()
    banner = page.locator("#request-error")
    expect(banner).to_contain_text("Your session changed since this page was loaded.")
    expect(banner.get_by_role("button", name="Reload the page")).to_be_visible()
    expect(banner).not_to_contain_text("did not answer")
    assert not Shortlist.objects.get().entries.exists()
