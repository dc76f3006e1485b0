"""Shortlist logic shared by the views and the card control: entry rows with live cards,
endpoint id checks, and a per-request memo of which lists hold which endpoints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.admin.models import CHANGE, LogEntry
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from catalog import services
from catalog.cards import Card, card_for
from catalog.models import Shortlist, ShortlistEntry
from fal.errors import FalAPIError
from fal.types import Model, is_endpoint_id

MAX_NOTE_LENGTH = 2000
MAX_COMPARE = 6
FLAG_MISSING = "No longer in fal's catalog: the API does not know this endpoint id."
FLAG_DEPRECATED = "Deprecated: fal marks this endpoint as deprecated; look for a replacement."
CURATE_PERMS = ("catalog.add_shortlistentry", "catalog.delete_shortlistentry")


@dataclass(frozen=True)
class EntryRow:
    """One entry as shown: its card (live, or a bare one when fal has none) and a flag."""

    entry: ShortlistEntry
    card: Card
    found: bool
    flag: str

    @property
    def status(self) -> str:
        """For exports: active, deprecated, missing, or unchecked (the API failed)."""
        if self.flag == FLAG_MISSING:
            return "missing"
        if not self.found:
            return "unchecked"
        return "deprecated" if self.card.deprecated else "active"


@dataclass(frozen=True)
class EntryRows:
    rows: list[EntryRow]
    result: services.CatalogResult | None
    error: FalAPIError | None

    @property
    def flagged(self) -> int:
        return sum(1 for row in self.rows if row.flag)


def entry_rows(entries: Sequence[ShortlistEntry]) -> EntryRows:
    """Cards for entries, fetched in find mode (50 ids a request); failures become flags."""
    if not entries:
        return EntryRows(rows=[], result=None, error=None)
    try:
        result = services.catalog_find([e.endpoint_id for e in entries])
    except FalAPIError as error:
        rows = [EntryRow(e, card_for(Model(endpoint_id=e.endpoint_id)), False, "") for e in entries]
        return EntryRows(rows=rows, result=None, error=error)
    by_id = {m.endpoint_id: m for m in result.models}
    rows = []
    for entry in entries:
        model = by_id.get(entry.endpoint_id)
        if model is None:
            # Stale data that lacks an id proves nothing; fresh data that lacks it does.
            flag = "" if result.stale else FLAG_MISSING
            rows.append(
                EntryRow(entry, card_for(Model(endpoint_id=entry.endpoint_id)), False, flag)
            )
        else:
            card = card_for(model)
            rows.append(EntryRow(entry, card, True, FLAG_DEPRECATED if card.deprecated else ""))
    return EntryRows(rows=rows, result=result, error=result.error)


def compare_url(rows: Sequence[EntryRow]) -> str:
    """The compare page for the first six entries fal still knows ("" when none)."""
    ids = [row.entry.endpoint_id for row in rows if row.found][:MAX_COMPARE]
    if not ids:
        return ""
    try:
        base = reverse("catalog:compare")
    except NoReverseMatch:
        base = "/compare/"
    return base + "?" + urlencode([("endpoint_id", i) for i in ids])


def endpoint_problem(endpoint_id: str) -> str:
    """Why this id cannot be added ("" when fal's catalog knows it)."""
    if not is_endpoint_id(endpoint_id):
        return "That is not a fal endpoint id."
    try:
        result = services.catalog_find([endpoint_id])
    except FalAPIError as error:
        return f"fal's API failed ({error.message}), so the model could not be checked. Try again."
    if any(m.endpoint_id == endpoint_id for m in result.models):
        return ""
    if result.stale:
        return "fal's API is unavailable, so the model could not be checked. Try again."
    return f"fal's catalog has no model “{endpoint_id}”."


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


def _memo(request: HttpRequest) -> list[tuple[str, str, frozenset[str]]]:
    """(slug, title, endpoint ids) of every shortlist: two queries per request, not per card."""
    memo = getattr(request, "_shortlist_memo", None)
    if memo is None:
        ids: dict[int, set[str]] = defaultdict(set)
        for shortlist_id, endpoint_id in ShortlistEntry.objects.values_list(
            "shortlist_id", "endpoint_id"
        ):
            ids[shortlist_id].add(endpoint_id)
        memo = [
            (s.slug, s.title, frozenset(ids[s.pk]))
            for s in Shortlist.objects.only("pk", "slug", "title")
        ]
        request._shortlist_memo = memo
    return memo


def controls_context(
    request: HttpRequest,
    endpoint_id: str,
    *,
    open: bool = False,
    error: str = "",  # noqa: A002
) -> dict:
    """Context of the `controls` partial in catalog/shortlist.html for one endpoint."""
    user = request.user
    can_add = user.has_perm("catalog.add_shortlistentry")
    can_remove = user.has_perm("catalog.delete_shortlistentry")
    lists = []
    for slug, title, endpoint_ids in _memo(request):
        member = endpoint_id in endpoint_ids
        name = "catalog:shortlist_remove" if member else "catalog:shortlist_add"
        lists.append(
            {
                "slug": slug,
                "title": title,
                "member": member,
                "action": reverse(name, args=[slug]),
                "allowed": can_remove if member else can_add,
            }
        )
    return {
        "endpoint_id": endpoint_id,
        "lists": lists,
        "in_any": any(item["member"] for item in lists),
        "open": open,
        "error": error,
    }


def forget_memo(request: HttpRequest) -> None:
    request.__dict__.pop("_shortlist_memo", None)
