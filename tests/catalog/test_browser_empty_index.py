"""A first start with an empty index, in Chromium: the page says the catalog is being
fetched and turns into the grid by itself once the task worker has synced it."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from catalog.models import CatalogEntry, IndexState, SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_empty_index_page_turns_into_the_grid_by_itself(member_page, live_server):
    page = member_page
    CatalogEntry.objects.all().delete()
    IndexState.objects.all().delete()
    SyncRun.objects.all().delete()
    page.goto(f"{live_server.url}/?q=kling")
    expect(page.locator("h1")).to_have_text("The catalog is being fetched")
    expect(page.locator("#sync-progress")).to_contain_text("Waiting for the task worker")

    # The first visit enqueued the sync; the real task worker runs it.
    call_command("db_worker", batch=True, interval=0, no_startup_delay=True, verbosity=0)
    assert SyncRun.objects.get().state == "succeeded"

    # Without a reload by the test: the polling page refreshes itself into the asked view.
    expect(page.locator("#result-count strong")).not_to_have_text("0", timeout=10_000)
    assert page.url.endswith("/?q=kling")
    assert page.locator(".grid .card").count() > 0
    assert "kling" in page.locator(".grid .card .card-title").first.inner_text().lower()
