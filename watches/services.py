"""Every write of the watches app and the check after a sync: watches made, changed and
removed (`watch_…`), the news each watch has in the runs it has not heard of, written once
as notifications, inbox lines and deliveries (`watches_check`), and the inbox.

Who may do what: a member manages their own watches; a curator also the team's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.http.request import validate_host
from django.urls import reverse
from django.utils import timezone

from catalog.browse import parse_grid_query
from catalog.models import Shortlist, SyncRun
from catalog.services import catalog_index
from catalog.shortlists import can_curate
from watches import webhooks
from watches.models import Delivery, InboxItem, Notification, Watch
from watches.subjects import SUBJECTS, News, grid_query, matching_ids

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DIGEST_HOUR = 8  # UTC: when a digest watch's mail and webhook go out


# --- Who sees and manages what ------------------------------------------------------------------


def watches_visible(user: User) -> QuerySet[Watch]:
    """The watches someone sees, their own and the team's, each with `new`: what it found
    that this user has not looked at yet (their unread inbox lines of it)."""
    unread = (
        InboxItem.objects.filter(watch=OuterRef("pk"), user=user, read_at__isnull=True)
        .order_by()
        .values("watch")
        .annotate(count=Count("pk"))
        .values("count")
    )
    found = Watch.objects.filter(Q(owner=user) | Q(team=True))
    return found.select_related("owner", "shortlist").annotate(new=Coalesce(Subquery(unread), 0))


def watch_can_manage(user: User, watch: Watch) -> bool:
    return watch.owner_id == user.pk or (watch.team and can_curate(user))


# --- What a watch is given --------------------------------------------------------------------


def grid_query_text(url: str, *, host: str) -> str:
    """The canonical query ("?…") of a grid URL of this site; raises ValidationError.

    The compare picks and the page are left out: they are not part of what is searched."""
    parts = urlsplit(url.strip())
    ours = not parts.netloc or parts.netloc == host or (
        parts.hostname is not None and validate_host(parts.hostname, settings.ALLOWED_HOSTS)
    )  # fmt: skip
    is_grid = (parts.path or "/") == reverse("catalog:index")
    if parts.scheme not in ("", "http", "https") or not ours or not is_grid:
        raise ValidationError(
            "Give the address of a page of this site's model grid, "
            "such as /?category=text-to-video."
        )
    query = parse_grid_query(QueryDict(parts.query))
    return query.url(compare=())


def check_webhook_url(url: str) -> str:
    """The webhook URL as given, when it could be sent to; raises ValidationError. Where it
    points is checked again at every send (a name may resolve elsewhere later)."""
    if not url:
        return ""
    try:
        webhooks.check_url(url, allow_http=settings.DEBUG)
    except webhooks.Refused as error:
        raise ValidationError(str(error)) from None
    return url


def latest_sync() -> int:
    """The pk of the latest successful sync run (0 before the first)."""
    found = SyncRun.objects.filter(state=SyncRun.State.SUCCEEDED).aggregate(last=Max("pk"))
    return found["last"] or 0


# --- Writes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    watch: Watch
    secret: str  # the webhook's signing secret, shown once ("" without a webhook)


def watch_create(
    *,
    owner: User,
    name: str,
    subject: str,
    query: str = "",
    shortlist: Shortlist | None = None,
    topics: list[str] | None = None,
    team: bool = False,
    email: bool = False,
    webhook_url: str = "",
    webhook_format: str = "json",
    digest: bool = False,
) -> Created:
    """A new watch that tells of changes from the next sync on (what matches a search now
    is its starting point, not news)."""
    if team and not can_curate(owner):
        raise PermissionError("Only curators make watches for the team.")
    kind = SUBJECTS[subject]
    chosen = [t for t in (topics or kind.topic_keys) if t in kind.topic_keys]
    secret = "whsec_" + secrets.token_urlsafe(32) if webhook_url else ""
    watch = Watch(
        owner=owner, team=team, name=name.strip()[:120], subject=subject, query=query,
        shortlist=shortlist, topics=chosen or list(kind.topic_keys), email=email,
        webhook_url=webhook_url, webhook_format=webhook_format, webhook_secret=secret,
        digest=digest, checked_sync=latest_sync(), seen_at=timezone.now(),
    )  # fmt: skip
    if subject == "search":
        watch.matched = matching_ids(grid_query(watch), catalog_index(), seen=watch.seen_at)
    watch.full_clean(exclude=["owner", "shortlist"])
    watch.save()
    return Created(watch, secret)


def watch_update(
    *, watch: Watch, name: str, topics: list[str], email: bool, webhook_url: str,
    webhook_format: str, digest: bool = False,
) -> str:  # fmt: skip
    """Changes what a watch tells of and where; returns a new signing secret when the
    webhook is new (shown once), else ""."""
    kind = SUBJECTS[watch.subject]
    watch.name = name.strip()[:120]
    watch.topics = [t for t in topics if t in kind.topic_keys] or list(kind.topic_keys)
    watch.email, watch.digest = email, digest
    secret = ""
    if webhook_url and webhook_url != watch.webhook_url:
        secret = watch.webhook_secret = "whsec_" + secrets.token_urlsafe(32)
    watch.webhook_url, watch.webhook_format = webhook_url, webhook_format
    if not webhook_url:
        watch.webhook_secret = ""
    watch.full_clean(exclude=["owner", "shortlist"])
    with transaction.atomic():
        watch.save()
        # What waits for a channel that is gone, or a receiver that changed, is not sent.
        dropped = [] if email else ["email"]
        if secret or not webhook_url:
            dropped.append("webhook")
        Delivery.objects.filter(
            notification__watch=watch, state=Delivery.State.PENDING, channel__in=dropped
        ).delete()
    return secret


def watch_resume(*, watch: Watch) -> None:
    """Unpause a watch: its waiting deliveries are tried again now."""
    with transaction.atomic():
        Watch.objects.filter(pk=watch.pk).update(paused_at=None, paused_reason="")
        Delivery.objects.filter(notification__watch=watch, state=Delivery.State.PENDING).update(
            next_attempt_at=timezone.now(), first_failed_at=None
        )
    watch.paused_at, watch.paused_reason = None, ""


def watch_seen(*, watch: Watch, user: User) -> None:
    """Its owner looked at what it found: the count "new since you last looked" restarts,
    and its lines in their inbox are read."""
    now = timezone.now()
    if watch.owner_id == user.pk:
        Watch.objects.filter(pk=watch.pk).update(seen_at=now)
    InboxItem.objects.filter(user=user, watch=watch, read_at__isnull=True).update(read_at=now)


# --- After a sync ------------------------------------------------------------------------------


def _recipients(watch: Watch) -> list[int]:
    if not watch.team:
        return [watch.owner_id]
    users = get_user_model().objects.filter(is_active=True)
    return list(users.values_list("pk", flat=True))


def _channels(watch: Watch) -> list[str]:
    channels = []
    if watch.email and settings.EMAIL_URL and watch.owner.email:
        channels.append("email")
    if watch.webhook_url:
        channels.append("webhook")
    return channels


def next_digest(now: datetime) -> datetime:
    """When a digest watch's waiting deliveries go out: the next DIGEST_HOUR, UTC."""
    today = now.astimezone(UTC).replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)


def _record(watch: Watch, news: list[News], now: datetime) -> None:
    """The notifications of `news`, each once (the constraint), with their inbox lines and
    deliveries (each once too; a digest watch's wait for its hour)."""
    Notification.objects.bulk_create(
        [
            Notification(watch=watch, change=n.change, topic=n.topic, text=n.text,
                         endpoint_id=n.change.endpoint_id, successors=list(n.successors))
            for n in news
        ],
        ignore_conflicts=True,
    )  # fmt: skip
    made = list(Notification.objects.filter(watch=watch, change__in=[n.change for n in news]))
    due = next_digest(now) if watch.digest else now
    InboxItem.objects.bulk_create(
        [
            InboxItem(user_id=u, notification=n, watch=watch)
            for u in _recipients(watch)
            for n in made
        ],
        ignore_conflicts=True,
    )
    Delivery.objects.bulk_create(
        [
            Delivery(notification=n, channel=c, next_attempt_at=due)
            for c in _channels(watch)
            for n in made
        ],
        ignore_conflicts=True,
    )


def watches_check() -> int:
    """Every watch's news in the sync runs it has not heard of, recorded once; returns how
    many notifications that made. Safe to run twice, or twice at once."""
    latest = latest_sync()
    stale = Watch.objects.filter(checked_sync__lt=latest).select_related("owner", "shortlist")
    if not stale.exists():
        return 0
    catalog = catalog_index()
    made = 0
    for watch in stale:
        subject = SUBJECTS.get(watch.subject)
        if subject is None:
            continue  # a kind this version does not know (yet): it waits
        checked = watch.checked_sync
        news = subject.news(watch, catalog, latest)
        with transaction.atomic():
            _record(watch, news, timezone.now())
            Watch.objects.filter(pk=watch.pk, checked_sync=checked).update(
                checked_sync=latest, matched=watch.matched
            )
        made += len(news)
    return made


# --- The inbox --------------------------------------------------------------------------------


def inbox_unread_count(user: User) -> int:
    """The top bar's count: one small query on the (user, read_at) index."""
    return InboxItem.objects.filter(user=user, read_at__isnull=True).count()


def inbox_items(user: User, *, unread_only: bool = False) -> QuerySet[InboxItem]:
    items = InboxItem.objects.filter(user=user).select_related(
        "notification__change__sync", "watch"
    )
    return items.filter(read_at__isnull=True) if unread_only else items


def inbox_read(*, user: User, item_ids: list[int] | None = None) -> int:
    """Marks the user's items (all when `item_ids` is None) read; how many changed."""
    items = InboxItem.objects.filter(user=user, read_at__isnull=True)
    if item_ids is not None:
        items = items.filter(pk__in=item_ids)
    return items.update(read_at=timezone.now())


def inbox_note(*, watch: Watch, note: str) -> None:
    """A line about a watch (it was paused) in its owner's inbox."""
    InboxItem.objects.create(user_id=watch.owner_id, watch=watch, note=note[:500])
