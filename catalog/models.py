"""Team data: shortlists of fal endpoints with the curators' notes (ids and words, no API data).

Everything else the dashboard shows comes live from fal's API; a shortlist entry stores
only the endpoint id, so a model that is renamed or deprecated upstream shows its current
state, and one that disappears is flagged rather than silently kept as a stale copy.
"""

from __future__ import annotations

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
