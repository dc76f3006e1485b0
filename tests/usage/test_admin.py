"""Staff read the usage sync's runs in the admin (usage/admin.py); nobody edits them."""

from __future__ import annotations

import pytest

from usage.models import UsageSyncRun

pytestmark = pytest.mark.django_db


def test_staff_see_why_a_part_was_not_fetched_and_cannot_change_a_run(admin_client):
    run = UsageSyncRun.objects.create(
        trigger="scheduled", source="https://api.fal.ai/v1", since="2026-09-01",
        until="2026-11-30", usage=UsageSyncRun.Part.FAILED, analytics=UsageSyncRun.Part.FETCHED,
        usage_error="fal refused the key for usage (403): Access denied",
    )  # fmt: skip
    listing = admin_client.get("/admin/usage/usagesyncrun/")
    assert listing.status_code == 200 and "failed" in listing.content.decode()
    assert "/admin/usage/usagesyncrun/add/" not in listing.content.decode()
    page = admin_client.get(f"/admin/usage/usagesyncrun/{run.pk}/change/")
    assert page.status_code == 200
    assert "fal refused the key for usage (403): Access denied" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(f"/admin/usage/usagesyncrun/{run.pk}/delete/").status_code == 403
    assert UsageSyncRun.objects.filter(pk=run.pk).exists()
