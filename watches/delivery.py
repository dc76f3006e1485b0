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


def _watch_part(watch: Watch) -> dict:
    subject = SUBJECTS.get(watch.subject)
    return {
        "id": watch.pk,
        "name": watch.name,
        "watches": subject.describe(watch) if subject else "",
        "url": site_url(reverse("watches:detail", args=[watch.pk])),
    }


def _notification_part(notification: Notification) -> dict:
    change = notification.change
    return {
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
    }


def payload(watch: Watch, notifications: list[Notification]) -> dict:
    """The generic JSON body (docs/watches.md describes each field): one notification, or a
    digest's list of them."""
    if not watch.digest:
        return {"watch": _watch_part(watch), "notification": _notification_part(notifications[0])}
    return {
        "watch": _watch_part(watch),
        "digest": True,
        "notifications": [_notification_part(n) for n in notifications],
    }


def summary(watch: Watch, notifications: list[Notification]) -> tuple[str, str]:
    """(a one-line title, the lines) for chat and mail."""
    if len(notifications) == 1 and not watch.digest:
        return f"[{watch.name}] {notifications[0].text}", notifications[0].text
    count = len(notifications)
    title = f"[{watch.name}] {count} change{'s' if count != 1 else ''} today"
    return title, "\n".join(f"• {n.text}" for n in notifications)


def _send_email(watch: Watch, notifications: list[Notification]) -> webhooks.Outcome:
    title, lines = summary(watch, notifications)
    links = "\n".join(
        site_url(reverse("catalog:model", args=[n.endpoint_id])) for n in notifications
    )
    body = (
        f"{lines}\n\n{links}\n\n"
        f"Your watch “{watch.name}”: {site_url(reverse('watches:detail', args=[watch.pk]))}\n"
    )
    try:
        # A subject is one line (a newline in upstream text would be a header injection).
        send_mail(" ".join(title.split())[:200], body, None, [watch.owner.email])
    except Exception as error:  # any backend's failure is this delivery's, logged and retried
        return webhooks.Outcome(False, "error", f"{type(error).__name__}: {error}"[:500])
    return webhooks.Outcome(True, "sent", "")


def _send_webhook(
    watch: Watch, notifications: list[Notification], resolver: webhooks.Resolver
) -> webhooks.Outcome:
    title, lines = summary(watch, notifications)
    chat = title if len(notifications) == 1 and not watch.digest else f"{title}\n{lines}"
    body = webhooks.body_for(watch.webhook_format, payload(watch, notifications), chat)
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


def _attempt(group: list[Delivery], now: datetime, resolver: webhooks.Resolver) -> bool:
    """One try at a group of deliveries of one watch and channel: a single notification, or
    a digest's. The outcome is every one's."""
    watch, channel = group[0].notification.watch, group[0].channel
    notifications = [delivery.notification for delivery in group]
    if channel == "email":
        outcome = _send_email(watch, notifications)
    else:
        outcome = _send_webhook(watch, notifications, resolver)
    reason = outcome.reason
    if watch.digest:
        reason = f"Digest of {len(group)}. {reason}".strip()
    DeliveryLog.objects.create(
        watch=watch, delivery=group[0], channel=channel, ok=outcome.ok,
        status=outcome.status, reason=reason[:500],
    )  # fmt: skip
    first_failed = min((d.first_failed_at for d in group if d.first_failed_at), default=now)
    for delivery in group:
        delivery.attempts += 1
        if outcome.ok:
            delivery.state, delivery.sent_at = Delivery.State.SENT, now
        else:
            delivery.first_failed_at = delivery.first_failed_at or now
            delivery.next_attempt_at = now + backoff(delivery.attempts)
    fields = ["state", "sent_at", "attempts", "first_failed_at", "next_attempt_at"]
    Delivery.objects.bulk_update(group, fields)
    if outcome.ok:
        return True
    logger.warning(
        "Watch %s: %s delivery of %d failed (%s): %s",
        watch.pk, channel, len(group), outcome.status, outcome.reason,
    )  # fmt: skip
    if channel == "webhook" and now - first_failed >= PAUSE_AFTER:
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
        .select_related(
            "notification__watch__owner", "notification__watch__shortlist", "notification__change"
        )
        .order_by("next_attempt_at", "pk")[:BATCH]
    )
    # A digest watch's due deliveries by channel go as one; others one by one.
    groups: dict[tuple[int, str, int], list[Delivery]] = {}
    for delivery in due:
        watch = delivery.notification.watch
        key = (watch.pk, delivery.channel, 0 if watch.digest else delivery.pk)
        groups.setdefault(key, []).append(delivery)
    counts = {"sent": 0, "failed": 0}
    # A receiver that failed is not tried again in this sweep: one bad receiver costs one
    # timeout per sweep, not one per waiting notification.
    failing: set[tuple[int, str]] = set()
    for (watch_id, channel, _), group in groups.items():
        if (watch_id, channel) in failing:
            continue
        claimed = [delivery for delivery in group if _claim(delivery, now)]
        if not claimed:
            continue
        if _attempt(claimed, now, resolver):
            counts["sent"] += len(claimed)
        else:
            counts["failed"] += len(claimed)
            failing.add((watch_id, channel))
    return counts
