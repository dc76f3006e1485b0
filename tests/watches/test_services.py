"""The writes of watches.services: a webhook added to a watch later gets a signing secret
as a new watch's does, and a watch resumed after a day of failures tries what waited at
once and counts its failures afresh."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from watches.delivery import deliver_due
from watches.models import Delivery
from watches.services import watch_create, watch_resume, watch_update

pytestmark = pytest.mark.django_db


def test_a_webhook_added_later_gets_a_secret_of_the_documented_form(member):
    watch = watch_create(
        owner=member, name="Video", subject="search", query="?category=text-to-video"
    ).watch

    secret = watch_update(
        watch=watch, name="Video", topics=[], email=False,
        webhook_url="https://hooks.example.com/a", webhook_format="json",
    )  # fmt: skip

    assert secret.startswith("whsec_") and len(secret) > 40  # docs/watches.md: `whsec_…`
    watch.refresh_from_db()
    assert watch.webhook_secret == secret


def test_a_resumed_watch_tries_what_waited_at_once_and_counts_its_failures_afresh(
    member, receiver, webhooks_to_loopback, waiting
):
    watch = watch_create(
        owner=member, name="Hook", subject="search", query="?category=text-to-video",
        webhook_url=receiver.url + "/hook",
    ).watch  # fmt: skip
    receiver.answers = [500]
    (delivery,) = waiting(watch, "webhook", 1)
    a_day_ago = timezone.now() - timedelta(days=1)
    Delivery.objects.filter(pk=delivery.pk).update(first_failed_at=a_day_ago)
    assert deliver_due() == {"sent": 0, "failed": 1}  # a day of failures: paused
    watch.refresh_from_db()
    assert watch.paused_at is not None

    watch_resume(watch=watch)

    # Its retry was a minute away: it goes now, and one failure does not pause it again.
    assert deliver_due() == {"sent": 0, "failed": 1}
    watch.refresh_from_db()
    assert watch.paused_at is None
    assert len(receiver.requests) == 2
