"""Shortlist logic shared by the views and the card control: entry rows with cards from the
index, endpoint id checks, and the curator's menu of which lists hold which endpoints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from catalog import services
from catalog.cards import Card, card_for
from catalog.index import CatalogIndex
from catalog.models import Shortlist, ShortlistEntry
from fal.errors import FalAPIError
from fal.types import Model, is_endpoint_id

MAX_NOTE_LENGTH = 2000
FLAG_MISSING = "No longer in fal's catalog: the API does not know this endpoint id."
FLAG_GONE = "No longer in fal's catalog: it was missing from the last full sync."
FLAG_DEPRECATED = "Deprecated: fal marks this endpoint as deprecated; look for a replacement."
CURATE_PERMS = ("catalog.add_shortlistentry", "catalog.delete_shortlistentry")


@dataclass(frozen=True)
class EntryRow:
    """One entry as shown: its card (from the index, or a bare one) and a flag."""

    entry: ShortlistEntry
    card: Card
    found: bool
    flag: str
    watch: Any = None  # the deprecation watch's catalog.watch.Watch, on the shortlist page

    @property
    def status(self) -> str:
        """For exports: active, deprecated or missing."""
        if not self.found:
            return "missing"
        return "deprecated" if self.card.deprecated else "active"


@dataclass(frozen=True)
class EntryRows:
    rows: list[EntryRow]

    @property
    def flagged(self) -> int:
        return sum(1 for row in self.rows if row.flag)


def entry_rows(entries: Sequence[ShortlistEntry], catalog: CatalogIndex) -> EntryRows:
    """Cards for entries from the index; gone, unknown and deprecated ones are flagged."""
    rows = []
    for entry in entries:
        model = catalog.get(entry.endpoint_id)
        if model is None:
            card = card_for(Model(endpoint_id=entry.endpoint_id))
            rows.append(EntryRow(entry, card, False, FLAG_MISSING))
        elif catalog.is_gone(entry.endpoint_id):
            rows.append(EntryRow(entry, catalog.card(model), False, FLAG_GONE))
        else:
            card = catalog.card(model)
            rows.append(EntryRow(entry, card, True, FLAG_DEPRECATED if card.deprecated else ""))
    return EntryRows(rows=rows)


def endpoint_problem(endpoint_id: str) -> str:
    """Why this id cannot be added ("" when fal's catalog knows it)."""
    if not is_endpoint_id(endpoint_id):
        return "That is not a fal endpoint id."
    try:
        model = services.catalog_model_find_or_add(endpoint_id)
    except FalAPIError as error:
        return f"fal's API failed ({error.message}), so the model could not be checked. Try again."
    if model is None or services.catalog_index().is_gone(endpoint_id):
        return f"fal's catalog has no model “{endpoint_id}”."
    return ""


def record_change(request: HttpRequest, shortlist: Shortlist, change: dict) -> None:
    """Bump `updated_at` and write the admin history, as the admin does for its own edits."""
    Shortlist.objects.filter(pk=shortlist.pk).update(updated_at=timezone.now())
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=[shortlist],
        action_flag=CHANGE,
        change_message=[change],
        single_object=True,
    )


# --- The card control: which lists exist and which hold this endpoint -----------------------


def can_curate(user) -> bool:
    return any(user.has_perm(perm) for perm in CURATE_PERMS)


@dataclass(frozen=True)
class CuratorMenu:
    """Every shortlist and the endpoints it holds: read by the view, two queries a page."""

    lists: tuple[tuple[str, str, frozenset[str]], ...]  # (slug, title, endpoint ids)
    can_add: bool
    can_remove: bool

    def controls(self, endpoint_id: str, *, open: bool = False, error: str = "") -> dict:  # noqa: A002
        """Context of the `controls` partial in catalog/shortlist.html for one endpoint."""
        lists = []
        for slug, title, endpoint_ids in self.lists:
            member = endpoint_id in endpoint_ids
            name = "catalog:shortlist_remove" if member else "catalog:shortlist_add"
            lists.append(
                {
                    "title": title,
                    "member": member,
                    "action": reverse(name, args=[slug]),
                    "allowed": self.can_remove if member else self.can_add,
                }
            )
        return {
            "endpoint_id": endpoint_id,
            "lists": lists,
            "in_any": any(item["member"] for item in lists),
            "open": open,
            "error": error,
        }


def shortlisted_ids(request: HttpRequest) -> frozenset[str] | None:
    """For a curator's cards: the endpoints in any list (one query), which is all a card's
    closed shortlist control shows; its lists load when it is opened (views.shortlist_menu),
    so a curator's grid weighs what a member's does. None for members: no control."""
    if not can_curate(request.user):
        return None
    return frozenset(ShortlistEntry.objects.order_by().values_list("endpoint_id", flat=True))


def curator_menu(request: HttpRequest) -> CuratorMenu | None:
    """The menu for a curator's cards; None for members, whose cards have none."""
    user = request.user
    if not can_curate(user):
        return None
    ids: dict[int, set[str]] = defaultdict(set)
    for shortlist_id, endpoint_id in ShortlistEntry.objects.values_list(
        "shortlist_id", "endpoint_id"
    ):
        ids[shortlist_id].add(endpoint_id)
    lists = tuple(
        (s.slug, s.title, frozenset(ids[s.pk]))
        for s in Shortlist.objects.only("pk", "slug", "title")
    )
    return CuratorMenu(
        lists=lists,
        can_add=user.has_perm("catalog.add_shortlistentry"),
        can_remove=user.has_perm("catalog.delete_shortlistentry"),
    )
