"""The watches in a real headless Chromium: save a search from the grid, see the inbox
count after a sync, open the notification; axe-core on the new pages (light and dark,
desktop and phone)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import axe_violations, describe_violations, sign_in
from watches.models import Watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NEW = "acme/new-video"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def with_new_video(catalog_copy):
    models, documents, prices = catalog_copy
    models.append({"endpoint_id": NEW, "metadata": {
        "display_name": "Acme Video", "category": "text-to-video", "status": "active",
        "license_type": "commercial", "kind": "inference"}})  # fmt: skip
    return models, documents, prices


def test_save_a_search_see_the_inbox_count_after_a_sync_and_open_it(
    page, live_server, member, catalog_copy, sync_and_deliver, axe_path
):
    sign_in(page, live_server, "mia", "member-pass-1234", "/?category=text-to-video")
    page.get_by_role("link", name="Watch this search").click()
    expect(page.get_by_label("Name")).to_have_value("text-to-video")
    page.get_by_role("button", name="Watch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("text-to-video")
    assert Watch.objects.get().query == "?category=text-to-video"
    expect(page.locator(".inbox-count")).to_have_count(0)

    sync_and_deliver(*with_new_video(catalog_copy))

    page.goto(f"{live_server.url}/watches/")
    expect(page.get_by_role("link", name="Inbox, 1 unread")).to_be_visible()
    expect(page.get_by_text("1 new since you last looked")).to_be_visible()
    page.get_by_role("link", name="Inbox, 1 unread").click()
    page.get_by_role("link", name=f"Acme Video ({NEW}): new in fal's catalog").click()
    expect(page).to_have_url(f"{live_server.url}/models/{NEW}/#history")
    expect(page.locator(".inbox-count")).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", SIZES)
def test_the_watch_pages_pass_axe(
    browser, live_server, member, catalog_copy, sync_and_deliver, axe_path, scheme, size
):
    # axe is injected as a script: the page's CSP (no inline script) would refuse it.
    context = browser.new_context(viewport=SIZES[size], color_scheme=scheme, bypass_csp=True)
    page = context.new_page()
    sign_in(page, live_server, "mia", "member-pass-1234", "/watches/")
    page.goto(f"{live_server.url}/watches/new/?url=%2F%3Fcategory%3Dtext-to-video")
    page.get_by_role("button", name="Watch").click()
    sync_and_deliver(*with_new_video(catalog_copy))
    watch = Watch.objects.get()
    found = {}
    pages = (
        "/watches/",
        "/inbox/",
        f"/watches/{watch.pk}/",
        "/watches/new/?url=%2F",
        "/watches/new/",
        "/watches/new/?subject=usage",
    )
    for path in pages:
        page.goto(live_server.url + path)
        found[path] = axe_violations(page, axe_path)
    context.close()
    blocking = describe_violations(found)
    assert not blocking, f"axe-core, the watches' pages on {size} in {scheme}:\n{blocking}"
