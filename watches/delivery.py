"""Deliveries by mail and webhook: due ones sent, failures retried with backoff, each try
logged for the watch's owner, and a watch whose webhook has failed for a day paused (its
owner told in the inbox)."""

from __future__ import annotations

import logging
import socket
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from watches import webhooks
from watches.models import Delivery, DeliveryLog, Notification, Watch
from watches.services import inbox_note
from watches.subjects import SUBJECTS

logger = logging.getLogger(__name__)

PAUSE_AFTER = timedelta(days=1)
LEASE = timedelta(minutes=2)  # a claimed delivery is not tried by another worker meanwhile
BATCH = 200


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failure: 1, 2, 4 … minutes, at most an hour."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def payload(notification: Notification) -> dict:
    """The generic JSON body (docs/watches.md describes each field)."""
    watch, change = notification.watch, notification.change
    return {
        "watch": {
            "id": watch.pk,
            "name": watch.name,
            "watches": SUBJECTS[watch.subject].describe(watch) if watch.subject in SUBJECTS else "",
            "url": site_url(reverse("watches:detail", args=[watch.pk])),
        },
        "notification": {
            "id": notification.pk,
            "topic": notification.topic,
            "text": notification.text,
            "endpoint_id": notification.endpoint_id,
            "model_url": site_url(reverse("catalog:model", args=[notification.endpoint_id])),
            "successors": notification.successors,
            "change": {
                "id": change.pk,
                "kind": change.kind,
                "field": change.field,
                "breaking": change.breaking,
                "before": change.before,
                "after": change.after,
                "seen_at": change.seen_at.isoformat(),
            },
        },
    }


def line(notification: Notification) -> str:
    """One line for chat and the mail's subject."""
    return f"[{notification.watch.name}] {notification.text}"


def _send_email(notification: Notification) -> webhooks.Outcome:
    watch = notification.watch
    url = site_url(reverse("catalog:model", args=[notification.endpoint_id]))
    body = (
        f"{notification.text}\n\n{url}\n\n"
        f"Your watch “{watch.name}”: {site_url(reverse('watches:detail', args=[watch.pk]))}\n"
    )
    try:
        send_mail(line(notification)[:200], body, None, [watch.owner.email])
    except Exception as error:  # any backend's failure is this delivery's, logged and retried
        return webhooks.Outcome(False, "error", f"{type(error).__name__}: {error}"[:500])
    return webhooks.Outcome(True, "sent", "")


def _send_webhook(notification: Notification, resolver: webhooks.Resolver) -> webhooks.Outcome:
    watch = notification.watch
    body = webhooks.body_for(watch.webhook_format, payload(notification), line(notification))
    headers = webhooks.signed_headers(watch.webhook_secret, body, time.time())
    return webhooks.post(
        watch.webhook_url, body, headers,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE, allow_http=settings.DEBUG,
        resolver=resolver,
    )  # fmt: skip


def _claim(delivery: Delivery, now: datetime) -> bool:
    """This worker's turn at the delivery (no other one tries it during the lease)."""
    claimed = Delivery.objects.filter(
        pk=delivery.pk, state=Delivery.State.PENDING, next_attempt_at=delivery.next_attempt_at
    ).update(next_attempt_at=now + LEASE)
    return claimed == 1


def _attempt(delivery: Delivery, now: datetime, resolver: webhooks.Resolver) -> bool:
    notification = delivery.notification
    watch = notification.watch
    if delivery.channel == "email":
        outcome = _send_email(notification)
    else:
        outcome = _send_webhook(notification, resolver)
    DeliveryLog.objects.create(
        watch=watch, delivery=delivery, channel=delivery.channel, ok=outcome.ok,
        status=outcome.status, reason=outcome.reason,
    )  # fmt: skip
    delivery.attempts += 1
    if outcome.ok:
        delivery.state, delivery.sent_at = Delivery.State.SENT, now
        delivery.save(update_fields=["state", "sent_at", "attempts"])
        return True
    logger.warning(
        "Watch %s: %s delivery %s failed (%s): %s",
        watch.pk, delivery.channel, delivery.pk, outcome.status, outcome.reason,
    )  # fmt: skip
    delivery.first_failed_at = delivery.first_failed_at or now
    delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(update_fields=["attempts", "first_failed_at", "next_attempt_at"])
    if delivery.channel == "webhook" and now - delivery.first_failed_at >= PAUSE_AFTER:
        _pause(watch, f"Its webhook has failed for a day (last: {outcome.status} {outcome.reason})")
    return False


def _pause(watch: Watch, reason: str) -> None:
    with transaction.atomic():
        paused = Watch.objects.filter(pk=watch.pk, paused_at__isnull=True).update(
            paused_at=timezone.now(), paused_reason=reason[:300]
        )
        if paused:
            inbox_note(
                watch=watch,
                note=f"“{watch.name}” is paused: {reason[:300]}. Fix the receiver, then resume it.",
            )
    watch.paused_at = watch.paused_at or timezone.now()


def deliver_due(*, resolver: webhooks.Resolver = socket.getaddrinfo) -> dict[str, int]:
    """Send the deliveries whose time has come (those of paused watches wait)."""
    now = timezone.now()
    due = (
        Delivery.objects.filter(
            state=Delivery.State.PENDING,
            next_attempt_at__lte=now,
            notification__watch__paused_at__isnull=True,
        )
        .select_related("notification__watch__owner", "notification__change")
        .order_by("next_attempt_at", "pk")[:BATCH]
    )
    counts = {"sent": 0, "failed": 0}
    # A receiver that failed is not tried again in this sweep: one bad receiver costs one
    # timeout per sweep, not one per waiting notification.
    failing: set[tuple[int, str]] = set()
    for delivery in due:
        key = (delivery.notification.watch_id, delivery.channel)
        if key in failing or not _claim(delivery, now):
            continue
        if _attempt(delivery, now, resolver):
            counts["sent"] += 1
        else:
            counts["failed"] += 1
            failing.add(key)
    return counts
