"""The tables: a watch, its notifications (one per change it heard of), the inbox, and
the deliveries by mail and webhook with their log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import Change, Shortlist


class Watch(models.Model):
    """What someone wants to hear about: a saved search or a shortlist, the kinds of change
    chosen for it, and where word goes besides the inbox."""

    class Format(models.TextChoices):
        JSON = "json", "JSON (signed)"
        SLACK = "slack", "Slack"
        DISCORD = "discord", "Discord"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watches"
    )
    team = models.BooleanField(default=False, help_text="Everyone's: curators manage it.")
    name = models.CharField(max_length=120)
    # What it watches: a key of watches.subjects.SUBJECTS.
    subject = models.CharField(max_length=20)
    query = models.CharField(max_length=2000, blank=True, help_text="The grid's query, ?…")
    shortlist = models.ForeignKey(
        Shortlist, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    topics = models.JSONField(
        default=list, blank=True, help_text="The kinds of change it tells of."
    )
    # A search's matches at the last check: a model not among them is newly matching.
    matched = models.JSONField(default=list, blank=True)
    # The last sync run it has heard of (SyncRun pk): later runs' changes are news.
    checked_sync = models.PositiveBigIntegerField(default=0)
    email = models.BooleanField(default=False)
    # Mail and webhook once a day (watches.delivery.DIGEST_HOUR) instead of per change.
    digest = models.BooleanField(default=False)
    webhook_url = models.CharField(max_length=1000, blank=True)
    webhook_format = models.CharField(max_length=10, choices=Format.choices, default="json")
    webhook_secret = models.CharField(max_length=80, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(max_length=300, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True, help_text="Its owner's last look.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="watch_name_not_empty"),
            models.CheckConstraint(
                condition=Q(subject="search", query__startswith="?")
                | Q(subject="shortlist", shortlist__isnull=False)
                | ~Q(subject__in=["search", "shortlist"]),
                name="watch_has_its_subject",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """One change one watch tells of: made once (the constraint), however often a sync or
    the task that delivers it runs."""

    watch = models.ForeignKey(Watch, on_delete=models.CASCADE, related_name="notifications")
    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=20)
    endpoint_id = models.CharField(max_length=1000)
    text = models.CharField(max_length=500)
    successors = models.JSONField(
        default=list, blank=True, help_text="Endpoint ids that could replace it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["watch", "change"], name="one_notification_per_change")
        ]

    def __str__(self) -> str:
        return f"{self.watch}: {self.endpoint_id} {self.topic}"

    @property
    def topic_label(self) -> str:
        return self.topic.replace("_", " ")


class InboxItem(models.Model):
    """A line in someone's inbox: a notification, or a note about a watch (paused)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    watch = models.ForeignKey(Watch, on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "notification"], name="one_inbox_item")
        ]
        # The top bar's count: one small query on this index.
        indexes = [models.Index(fields=["user", "read_at"], name="inbox_unread")]

    def __str__(self) -> str:
        return f"inbox of {self.user_id}: {self.notification or self.note}"


class Delivery(models.Model):
    """A notification's way out by one channel (mail or webhook), retried until it is sent."""

    class State(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=10)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    first_failed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="one_delivery")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.notification} by {self.channel}: {self.state}"


class DeliveryLog(models.Model):
    """One attempt to deliver, for the watch's owner: when, how, what happened and why."""

    watch = models.ForeignKey(Watch, on_delete=models.CASCADE, related_name="log")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    channel = models.CharField(max_length=10)
    ok = models.BooleanField()
    status = models.CharField(max_length=40, help_text="An HTTP status, or refused, timeout…")
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.channel} {self.status} at {self.at:%Y-%m-%d %H:%M}"
