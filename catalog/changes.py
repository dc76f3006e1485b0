"""Reading the catalog history, for /changes/, a model's page and the grid's "added" filter.

The /changes/ filters (one query, in the URL), the timeline with its folded lines, an
endpoint's history, one sentence per change, and the grid's "added" filter and "new since
your last visit" chip (which records members' visits). The sync writes the history
(catalog.sync).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Min, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_htmx.middleware import HtmxDetails

from catalog import diff
from catalog.browse import GridQuery, clean_text
from catalog.index import CatalogIndex
from catalog.models import CatalogVisit, Change
from fal.units import price_words

# The kinds the `kind` filter offers; "back" is shown in the timeline but filtered with "added".
FILTER_KINDS = (
    diff.ADDED,
    diff.GONE,
    diff.DEPRECATED,
    diff.RENAMED,
    diff.SCHEMA,
    diff.PRICE,
    diff.METADATA,
)
MAX_TEXT = 200
# Metadata whose values (fal's CDN URLs) tell a reader nothing: /changes/ and its feed give
# one line per sync and field ("Thumbnail changed for 97 models"), not a row of URLs per model.
FOLDED_FIELDS = {"thumbnail": "Thumbnail changed"}


@dataclass(frozen=True)
class ChangeQuery:
    """The whole state of /changes/ (and its feed): every filter is in the URL."""

    kind: str = ""
    breaking: bool = False
    category: str = ""
    license: str = ""
    q: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        query = replace(self, **changes)
        pairs = [
            ("kind", query.kind),
            ("breaking", "1" if query.breaking else ""),
            ("category", query.category),
            ("license", query.license),
            ("q", query.q),
            ("since", query.since.isoformat() if query.since else ""),
            ("until", query.until.isoformat() if query.until else ""),
            ("page", str(query.page) if query.page > 1 else ""),
        ]
        return [(k, v) for k, v in pairs if v]

    def url(self, **changes: Any) -> str:
        return "?" + urlencode(self.params(**changes)) if self.params(**changes) else "?"

    @property
    def has_filters(self) -> bool:
        return bool(self.params(page=1))


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def parse_change_query(data: Mapping) -> ChangeQuery:
    """The filters from a query string; a value that makes no sense is dropped, not an error."""

    def single(name: str) -> str:
        # A QueryDict's get() is its last value, as a repeated parameter's is meant.
        return clean_text(data.get(name) or "")[:MAX_TEXT]

    kind = single("kind")
    page = single("page")
    return ChangeQuery(
        kind=kind if kind in FILTER_KINDS else "",
        breaking=single("breaking") in ("1", "true", "on"),
        category=single("category"),
        license=single("license"),
        q=single("q"),
        since=_date(single("since")),
        until=_date(single("until")),
        page=min(int(page), 10_000) if page.isdigit() and 0 < len(page) < 6 and int(page) else 1,
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def filtered_changes(query: ChangeQuery) -> QuerySet[Change]:
    changes = Change.objects.select_related("sync")
    if query.kind == diff.ADDED:
        changes = changes.filter(kind__in=(diff.ADDED, diff.BACK))
    elif query.kind:
        changes = changes.filter(kind=query.kind)
    if query.breaking:
        changes = changes.filter(breaking=True)
    if query.category:
        changes = changes.filter(category__iexact=query.category)
    if query.license:
        changes = changes.filter(license__iexact=query.license)
    for token in query.q.split()[:8]:
        changes = changes.filter(
            Q(endpoint_id__icontains=token)
            | Q(field__icontains=token)
            | Q(before__icontains=token)
            | Q(after__icontains=token)
        )
    if query.since:
        changes = changes.filter(seen_at__gte=_day_start(query.since))
    if query.until:
        changes = changes.filter(seen_at__lt=_day_start(query.until) + timedelta(days=1))
    return changes


def kind_counts(changes: QuerySet[Change]) -> dict[str, int]:
    rows = changes.order_by().values("kind").annotate(n=Count("pk"))
    return {row["kind"]: row["n"] for row in rows}


def _folded() -> Q:
    return Q(kind=diff.METADATA, field__in=FOLDED_FIELDS)


def change_lines(changes: QuerySet[Change]) -> QuerySet[Change]:
    """The timeline's lines: every change, but of each sync's folded changes of one field
    only the first, standing for all of them (`folded_lines` says which), so that a fold is
    one line to the pager and the feed's size."""
    firsts = (
        changes.filter(_folded())
        .order_by()
        .values("sync_id", "field")
        .annotate(first=Min("pk"))
        .values("first")
    )
    return changes.filter(~_folded() | Q(pk__in=firsts))


@dataclass(frozen=True)
class Fold:
    """One sync's changes of a folded field, as one line."""

    sync_id: int
    seen_at: datetime
    field: str
    endpoint_ids: tuple[str, ...]
    kind: str = diff.METADATA

    @property
    def text(self) -> str:
        count = len(self.endpoint_ids)
        return f"{FOLDED_FIELDS[self.field]} for {count} model{'s' if count != 1 else ''}"


def folded_lines(lines: list[Change], changes: QuerySet[Change]) -> list[Change | Fold]:
    """`lines` (of `change_lines(changes)`) with each fold's first change replaced by the
    fold, naming every endpoint of it that `changes` holds (one query)."""
    firsts = {
        (c.sync_id, c.field) for c in lines if c.kind == diff.METADATA and c.field in FOLDED_FIELDS
    }
    if not firsts:
        return list(lines)
    members = changes.filter(_folded(), sync_id__in={sync_id for sync_id, _ in firsts})
    endpoints: dict[tuple[int, str], list[str]] = defaultdict(list)
    for sync_id, field, endpoint_id in members.values_list("sync_id", "field", "endpoint_id"):
        endpoints[(sync_id, field)].append(endpoint_id)
    return [
        Fold(c.sync_id, c.seen_at, c.field, tuple(endpoints[(c.sync_id, c.field)]))
        if (c.sync_id, c.field) in firsts
        else c
        for c in lines
    ]


@dataclass(frozen=True)
class Day:
    """The changes one sync saw, for the timeline; `folds` are its folded lines."""

    seen_at: datetime
    counts: dict[str, int]
    changes: list[Change]
    folds: list[Fold]


def timeline(lines: list[Change] | list[Change | Fold]) -> list[Day]:
    days = []
    for seen_at, group in groupby(lines, key=lambda line: line.seen_at):
        items, folds = [], []
        counts: dict[str, int] = {}
        for line in group:
            if isinstance(line, Fold):
                folds.append(line)
                counts[line.kind] = counts.get(line.kind, 0) + len(line.endpoint_ids)
                continue
            counts[line.kind] = counts.get(line.kind, 0) + 1
            line.text = describe(line)
            line.before_text = _json_text(line.before)
            line.after_text = _json_text(line.after)
            items.append(line)
        days.append(Day(seen_at, counts, items, folds))
    return days


# --- Words ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, str):
        return value if len(value) <= 120 else value[:117] + "…"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "…"


def _json_text(value: Any) -> str | None:
    """A stored value as JSON, for the field-level diff (None: no value)."""
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _price(value: Any) -> str:
    """A stored price (diff.price_state) in words, as fal.units words every price."""
    try:
        amount = Decimal(value["unit_price"])
        return price_words(amount, str(value["unit"]), str(value["currency"]))
    except (TypeError, KeyError, ArithmeticError, ValueError):
        return _text(value)


def describe(change: Change) -> str:
    """One plain sentence (escaped by the template like any upstream text)."""
    kind = change.kind
    if kind == diff.ADDED:
        return "Added to fal's catalog."
    if kind == diff.GONE:
        return "No longer in fal's catalog."
    if kind == diff.BACK:
        return "Back in fal's catalog."
    if kind == diff.DEPRECATED:
        return "Deprecated."
    if kind == diff.RENAMED:
        return f"Renamed from “{_text(change.before)}” to “{_text(change.after)}”."
    if kind == diff.PRICE:
        before, after = _price(change.before), _price(change.after)
        if change.before is None:
            return f"fal now gives a price: {after}."
        if change.after is None:
            return f"fal no longer gives a price (it was {before})."
        return f"Price changed from {before} to {after}."
    if kind == diff.SCHEMA:
        side, _, name = change.field.partition(".")
        what = f"{side} field {name}"
        if change.aspect == "added":
            required = isinstance(change.after, dict) and change.after.get("required")
            return f"New {'required ' if required else ''}{what}."
        if change.aspect == "removed":
            return f"{what.capitalize()} removed."
        if change.aspect == "required":
            return f"{what.capitalize()} is now {'required' if change.after else 'optional'}."
        return (
            f"{what.capitalize()}: {change.aspect} changed from {_text(change.before)} "
            f"to {_text(change.after)}."
        )
    if kind == diff.METADATA and change.field in FOLDED_FIELDS:
        return f"{FOLDED_FIELDS[change.field]}."
    return (
        f"{change.field.capitalize()} changed from {_text(change.before)} to {_text(change.after)}."
    )


def endpoint_history(endpoint_id: str) -> list[Day]:
    """Every change of one endpoint, newest sync first."""
    return timeline(list(Change.objects.filter(endpoint_id=endpoint_id).select_related("sync")))


# --- "New since your last visit" and "added in the last N days" --------------------------------

# A visit to the grid more than this long after the last one starts a new visit: what was
# added since the one before is "new since your last visit".
NEW_VISIT_AFTER = timedelta(hours=1)
VISIT_WRITE_EVERY = timedelta(minutes=5)


# The member's visit as last read or written, in their session: between two writes of the
# row (VISIT_WRITE_EVERY) a grid page answers from it without a query. Another device's
# visit reaches this one's copy at its next write.
VISIT_SESSION_KEY = "catalog_grid_visit"


def grid_visit(request: HttpRequest, now: datetime) -> datetime | None:
    """Record a member's visit to the grid (a write at most every few minutes); returns
    when their previous visit began."""
    copy = _visit_copy(request)
    if copy is not None and now - copy[0] <= VISIT_WRITE_EVERY:
        return copy[1]
    seen_at, previous = _record_visit(request.user, now)
    request.session[VISIT_SESSION_KEY] = [
        seen_at.isoformat(),
        previous.isoformat() if previous else None,
    ]
    return previous


def _visit_copy(request: HttpRequest) -> tuple[datetime, datetime | None] | None:
    """(seen at, previous visit) from the session, None without a readable copy."""
    copy = request.session.get(VISIT_SESSION_KEY)
    try:
        seen_at, previous = copy  # type: ignore[misc]
        return datetime.fromisoformat(seen_at), datetime.fromisoformat(
            previous
        ) if previous else None
    except (TypeError, ValueError):
        return None


def _record_visit(user, now: datetime) -> tuple[datetime, datetime | None]:
    """The member's row brought up to date: (seen at, previous visit)."""
    # get_or_create: a member's first pages often arrive at once (several tabs, htmx), and
    # a second create would break the one-row-per-user rule with an IntegrityError.
    visit, created = CatalogVisit.objects.get_or_create(user=user, defaults={"grid_seen_at": now})
    if created:
        return now, None
    if visit.grid_seen_at is None or now - visit.grid_seen_at > NEW_VISIT_AFTER:
        visit.grid_previous = visit.grid_seen_at
        visit.grid_seen_at = now
        visit.save(update_fields=["grid_seen_at", "grid_previous"])
    elif now - visit.grid_seen_at > VISIT_WRITE_EVERY:
        CatalogVisit.objects.filter(pk=visit.pk).update(grid_seen_at=now)
        visit.grid_seen_at = now
    return visit.grid_seen_at, visit.grid_previous


def added_since(since: datetime) -> frozenset[str]:
    """Endpoints added to (or back in) fal's catalog by the syncs since `since`."""
    found = Change.objects.filter(kind__in=(diff.ADDED, diff.BACK), seen_at__gt=since)
    return frozenset(found.values_list("endpoint_id", flat=True))


def added_window(added: str, now: datetime, last_visit: datetime | None) -> datetime | None:
    """The start of the `added` filter's window (hours rounded down, so grids are reused)."""
    if added == "new":
        return last_visit
    if added in ("7", "30"):
        return now.replace(minute=0, second=0, microsecond=0) - timedelta(days=int(added))
    return None


@dataclass(frozen=True)
class GridAdded:
    """What the grid needs from the history for one member's request."""

    ids: frozenset[str] | None  # the endpoints of the `added` filter's window
    since: str  # the window's start, the grid memo's key
    new_count: int  # present models added since the member's previous visit
    new_url: str  # the grid with `added=new`


def grid_added(request: HttpRequest, query: GridQuery, catalog: CatalogIndex) -> GridAdded:
    """Records a member's visit to the grid (full pages only: a write on GET, grid_visit)
    and reads the `added` window's endpoints."""
    now = timezone.now()
    user = request.user
    if not user.is_authenticated:
        last_visit = None
    elif HtmxDetails(request):  # what django-htmx's middleware sets as request.htmx
        if (copy := _visit_copy(request)) is not None:
            last_visit = copy[1]
        else:
            visit = CatalogVisit.objects.filter(user=user).first()
            last_visit = visit.grid_previous if visit else None
    else:
        last_visit = grid_visit(request, now)
    new_ids = added_since(last_visit) if last_visit else frozenset()
    new_count = sum(1 for i in new_ids if catalog.get(i) and not catalog.is_gone(i))
    start = added_window(query.added, now, last_visit)
    return GridAdded(
        ids=added_since(start) if start else (frozenset() if query.added else None),
        since=start.isoformat() if start else "",
        new_count=new_count,
        new_url=query.url(added="new"),
    )
