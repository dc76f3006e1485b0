"""The database: the catalog index (fal's catalog as last synced) and the team's shortlists.

The index holds one row per endpoint with the API's entry as returned, its OpenAPI
document (or expansion error) and when it was first and last seen, plus one row per sync
run; `catalog.sync` writes it, `catalog.index` reads it. A shortlist entry stores only the
endpoint id and the team's words, so it always shows the model's current state.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from fal.types import ENDPOINT_ID_PATTERN

validate_endpoint_id = RegexValidator(
    ENDPOINT_ID_PATTERN,
    "Enter a fal endpoint id such as fal-ai/flux/dev (owner/model, letters, digits, . _ -).",
)


class Shortlist(models.Model):
    """Models the team approved for one purpose ("product shots", "lip-sync")."""

    title = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True, help_text="Used in the shared link.")
    description = models.TextField(blank=True, help_text="What the list is for.")
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="curated_shortlists",
        help_text="Who looks after the list (set to you when left empty).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="shortlist_title_not_empty"),
            models.CheckConstraint(condition=~Q(slug=""), name="shortlist_slug_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("catalog:shortlist", args=[self.slug])

    def next_position(self) -> int:
        """The position after the last entry: where a model added from a card goes."""
        last = self.entries.aggregate(last=models.Max("position"))["last"]
        return (last or 0) + 1


class ShortlistEntry(models.Model):
    """One endpoint on a shortlist, with the curator's reason for it."""

    shortlist = models.ForeignKey(Shortlist, on_delete=models.CASCADE, related_name="entries")
    endpoint_id = models.CharField(max_length=200, validators=[validate_endpoint_id])
    note = models.TextField(blank=True, help_text="Why it is on the list.")
    position = models.PositiveIntegerField(default=0, help_text="Lower numbers come first.")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name_plural = "shortlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["shortlist", "endpoint_id"], name="shortlist_entry_unique_endpoint"
            ),
            models.CheckConstraint(
                condition=~Q(endpoint_id=""), name="shortlist_entry_endpoint_id_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.endpoint_id


# --- The catalog index ----------------------------------------------------------------------


class SyncRunQuerySet(models.QuerySet["SyncRun"]):
    def last_success_at(self) -> datetime | None:
        """When the latest successful sync finished (None before the first)."""
        return (
            self.filter(state=SyncRun.State.SUCCEEDED)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )


class SyncRun(models.Model):
    """One sync of the index from fal: what it asked, what it saw, what it changed."""

    class State(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    state = models.CharField(max_length=12, choices=State.choices, default=State.RUNNING)
    trigger = models.CharField(max_length=40, blank=True, help_text="manual, scheduled, staff…")
    source = models.CharField(max_length=300, help_text="The API base URL synced from.")
    started_at = models.DateTimeField(auto_now_add=True)
    # Renewed while the sync works; a running sync whose heartbeat stops is abandoned.
    heartbeat_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    upstream_calls = models.PositiveIntegerField(default=0)
    models_seen = models.PositiveIntegerField(default=0)
    documents_fetched = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    gone = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    back = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Prices, fetched after the list crawl: their failure does not fail the run.
    price_calls = models.PositiveIntegerField(default=0, help_text="Pricing calls that asked fal.")
    prices_seen = models.PositiveIntegerField(default=0)
    prices_changed = models.PositiveIntegerField(default=0, help_text="New or changed prices.")
    prices_error = models.TextField(
        blank=True, help_text="Why prices were not fetched (they stay as last synced)."
    )

    # What the crawl covered, for the history (catalog.diff): the categories crawled
    # (null: all of them), whether its documents are its own (the offline snapshot's are
    # older crawls'), and the date of the catalog state (a replayed crawl's, else the run's).
    categories = models.JSONField(null=True, blank=True)
    documents_dated = models.BooleanField(default=True)
    catalog_date = models.DateTimeField(null=True, blank=True)
    changes_recorded = models.PositiveIntegerField(default=0)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        get_latest_by = "started_at"
        constraints = [
            # One sync at a time across every process and server: a second running row
            # cannot be inserted (a partial unique index, on SQLite and PostgreSQL alike).
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="running"), name="one_running_sync"
            ),
        ]

    def __str__(self) -> str:
        return f"sync {self.pk} ({self.state})"

    @property
    def seconds(self) -> float | None:
        """How long it took (None while it runs)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class CatalogEntry(models.Model):
    """One endpoint of fal's catalog, as the API last returned it."""

    endpoint_id = models.CharField(max_length=1000, unique=True)
    entry = models.JSONField(help_text="The `models` entry as returned by list mode.")
    entry_fingerprint = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=0, help_text="Place in the API's order.")
    # The `openapi` field as returned with expand=openapi-3.0: a document or an error object.
    openapi = models.JSONField(null=True, blank=True)
    openapi_fingerprint = models.CharField(max_length=64, blank=True)
    # The entry fingerprint the document was fetched for: a changed entry refetches it.
    openapi_for = models.CharField(max_length=64, blank=True)
    # What the document says the model does (fal.capabilities, computed at sync time), with
    # the rules' version: rows of older rules are recomputed by the next sync.
    capabilities = models.JSONField(null=True, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    gone_at = models.DateTimeField(null=True, blank=True, help_text="Missing from a full crawl.")
    first_seen_sync = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_seen_sync = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["position", "pk"]
        verbose_name_plural = "catalog entries"
        indexes = [models.Index(fields=["gone_at", "position"], name="catalog_entry_present")]

    def __str__(self) -> str:
        return self.endpoint_id


class IndexState(models.Model):
    """A single row whose `version` changes with every write to the index.

    Each process keeps the index in memory and rereads it when this number changes; it is
    random rather than counted so that a rebuilt database never repeats an old version.
    """

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"index version {self.version}"


class PriceRecord(models.Model):
    """fal's price for one endpoint, as seen by one key, from the sync that first saw it until
    it changed (`ended_at`): the current price has no end, older rows are its history.

    Prices can differ per account, so each row belongs to a key's fingerprint (a digest, "" for
    the offline emulator; never the key). A change of price or unit starts a new row.
    """

    endpoint_id = models.CharField(max_length=1000)
    key_fingerprint = models.CharField(max_length=64, blank=True)
    unit_price = models.DecimalField(max_digits=30, decimal_places=15)
    unit = models.CharField(max_length=200, blank=True, help_text="fal's unit, as spelled.")
    currency = models.CharField(max_length=12)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When a sync saw another price, or none, instead."
    )
    first_seen_sync = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_seen_sync = models.ForeignKey(
        SyncRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["endpoint_id", "first_seen", "pk"]
        indexes = [
            models.Index(fields=["endpoint_id", "first_seen"], name="price_endpoint_time"),
            models.Index(fields=["key_fingerprint", "ended_at"], name="price_current"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint_id", "key_fingerprint"],
                condition=Q(ended_at__isnull=True),
                name="one_current_price",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id}: {self.unit_price} {self.currency} per {self.unit!r}"


class Change(models.Model):
    """One change of fal's catalog seen by a sync: an endpoint added, gone, back, deprecated,
    renamed, or its metadata, schema (one field) or price changed. See catalog.diff."""

    endpoint_id = models.CharField(max_length=1000)
    kind = models.CharField(max_length=12)
    field = models.CharField(max_length=300, blank=True, help_text="input.<name>, a key…")
    aspect = models.CharField(max_length=12, blank=True, help_text="Of a schema field.")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    breaking = models.BooleanField(default=False)
    # The endpoint's category and license when the change was seen (gone ones keep theirs).
    category = models.CharField(max_length=200, blank=True)
    license = models.CharField(max_length=200, blank=True)
    sync = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="changes")
    seen_at = models.DateTimeField(help_text="The date of the catalog state that showed it.")
    # Not stored: catalog.changes.timeline() sets them on the changes it shows.
    text: str
    before_text: str | None
    after_text: str | None

    class Meta:
        ordering = ["-seen_at", "endpoint_id", "pk"]
        indexes = [
            models.Index(fields=["seen_at"], name="change_seen"),
            models.Index(fields=["kind", "seen_at"], name="change_kind"),
            models.Index(fields=["endpoint_id", "seen_at"], name="change_endpoint"),
            models.Index(fields=["category", "seen_at"], name="change_category"),
            models.Index(fields=["breaking", "seen_at"], name="change_breaking"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id}: {self.kind} {self.field}".strip()


class CatalogVisit(models.Model):
    """When a member last looked at the grid and at the shortlist index ("new since")."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="catalog_visit"
    )
    grid_seen_at = models.DateTimeField(null=True, blank=True)
    grid_previous = models.DateTimeField(null=True, blank=True, help_text="The visit before.")
    shortlists_seen_at = models.DateTimeField(null=True, blank=True)
    shortlists_previous = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"visits of {self.user}"
