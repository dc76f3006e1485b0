"""What a watch can watch, as a table: each subject names the kinds of change (topics) it
offers and finds, for the sync runs a watch has not heard of, the changes it tells of.

A saved search tells of models that newly match it; a shortlist, and the models the team
calls (the usage app's latest sync), of any change to their entries: each set of endpoints
is one `endpoint_subject(…)` entry in SUBJECTS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.http import QueryDict
from django.utils import timezone

from catalog import diff
from catalog.browse import GridQuery, active_filters, parse_grid_query
from catalog.changes import added_since, added_window, describe
from catalog.index import CatalogIndex
from catalog.models import Change
from catalog.watch import successors
from usage.figures import WINDOW_DAYS
from usage.selectors import latest_run_id, team_usage

if TYPE_CHECKING:
    from watches.models import Watch


@dataclass(frozen=True)
class News:
    """One change a watch tells of, in words, with what could replace the model."""

    change: Change
    topic: str
    text: str
    successors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subject:
    key: str
    label: str
    topics: tuple[tuple[str, str], ...]  # (key, label), the choices a watch offers
    # The news for `watch` in the changes of runs after its checked_sync (updates the watch's
    # own state, such as a search's matches, without saving it).
    news: Callable[[Watch, CatalogIndex, int], list[News]]
    describe: Callable[[Watch], str]

    @property
    def topic_keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.topics)


# --- Saved searches ------------------------------------------------------------------------


def grid_query(watch: Watch) -> GridQuery:
    return parse_grid_query(QueryDict(watch.query.removeprefix("?")))


def matching_ids(query: GridQuery, catalog: CatalogIndex, *, seen: datetime | None) -> list[str]:
    """The endpoints the grid shows for `query` now (every page) that answer its words: not
    those listed after them for matching only some words, or a narrow search would tell
    of every model sharing one of its words."""
    start = added_window(query.added, timezone.now(), seen)
    ids = added_since(start) if start else (frozenset() if query.added else None)
    grid = catalog.grid(query, ids, start.isoformat() if start else "")
    found = [model.endpoint_id for model in grid.models]
    if not query.q:
        return found
    answers = catalog.answer_ids(query.q)
    return [endpoint_id for endpoint_id in found if endpoint_id in answers]


def search_words(query: GridQuery) -> str:
    """What a search watches, in words: its filters as the grid's chips name them."""
    return " · ".join(label for label, _ in active_filters(query)) or "Every model"


def _search_news(watch: Watch, catalog: CatalogIndex, latest: int) -> list[News]:
    now = matching_ids(grid_query(watch), catalog, seen=watch.seen_at)
    before = set(watch.matched)
    watch.matched = now
    fresh = [endpoint_id for endpoint_id in now if endpoint_id not in before]
    if not fresh:
        return []
    changes = Change.objects.filter(
        endpoint_id__in=fresh, sync_id__gt=watch.checked_sync, sync_id__lte=latest
    ).select_related("sync")
    first: dict[str, Change] = {}
    for change in changes.order_by("pk"):  # an addition, else the first change that made it match
        kept = first.get(change.endpoint_id)
        if kept is None or (
            change.kind in (diff.ADDED, diff.BACK) and kept.kind not in (diff.ADDED, diff.BACK)
        ):
            first[change.endpoint_id] = change
    news = []
    for endpoint_id in fresh:
        if endpoint_id not in first:
            continue  # matching for no change of the catalog (a window moved): no news
        change = first[endpoint_id]
        added = change.kind in (diff.ADDED, diff.BACK)
        topic = "added" if added else "matching"
        model = catalog.get(endpoint_id)
        name = (model.metadata.display_name if model and model.metadata else "") or endpoint_id
        what = "new in fal's catalog" if added else f"now matches. {describe(change)}"
        text = f"{name} ({endpoint_id}): {what}"
        news.append(News(change, topic, text[:500]))
    return news


SEARCH = Subject(
    key="search",
    label="A saved search",
    topics=(
        ("added", "New models that match"),
        ("matching", "Models that match after a change (price, capability, metadata)"),
    ),
    news=lambda watch, catalog, latest: [
        n for n in _search_news(watch, catalog, latest) if n.topic in watch.topics
    ],
    describe=lambda watch: search_words(grid_query(watch)),
)


# --- Sets of endpoints: a shortlist, the models the team calls ------------------------------

ENDPOINT_TOPICS = (
    ("deprecated", "Deprecated"),
    ("gone", "Gone from fal's catalog, or back"),
    ("breaking", "A breaking schema change"),
    ("price_up", "Price up"),
    ("price_down", "Price down"),
    ("renamed", "Renamed"),
)


def _price(value: object) -> tuple[Decimal, str, str] | None:
    try:
        return Decimal(value["unit_price"]), value["unit"], value["currency"]  # type: ignore[index]
    except (TypeError, KeyError, InvalidOperation):
        return None


def change_topic(change: Change) -> str | None:
    """The topic of a change to a watched endpoint (None: no topic tells of it). A price
    whose unit changed, or that appeared or went away, counts as up: worth a look."""
    if change.kind == diff.DEPRECATED:
        return "deprecated"
    if change.kind in (diff.GONE, diff.BACK):
        return "gone"
    if change.kind == diff.SCHEMA:
        return "breaking" if change.breaking else None
    if change.kind == diff.RENAMED:
        return "renamed"
    if change.kind == diff.PRICE:
        before, after = _price(change.before), _price(change.after)
        if before and after and before[1:] == after[1:] and after[0] < before[0]:
            return "price_down"
        return "price_up"
    return None


def endpoint_subject(
    key: str, label: str, endpoint_ids: Callable[[Watch], set[str]], words: Callable[[Watch], str]
) -> Subject:
    """A subject that tells of changes to a set of endpoints, with successor suggestions
    for a deprecated or gone one (catalog.watch's rule)."""

    def news(watch: Watch, catalog: CatalogIndex, latest: int) -> list[News]:
        ids = endpoint_ids(watch)
        if not ids:
            return []
        changes = Change.objects.filter(
            endpoint_id__in=ids, sync_id__gt=watch.checked_sync, sync_id__lte=latest
        ).order_by("pk")
        found = []
        for change in changes:
            topic = change_topic(change)
            if topic not in watch.topics:
                continue
            suggested: tuple[str, ...] = ()
            model = catalog.get(change.endpoint_id)
            if topic in ("deprecated", "gone") and model is not None:
                found_models = successors(model, catalog, ids | {change.endpoint_id})
                suggested = tuple(m.endpoint_id for m in found_models)
            text = f"{change.endpoint_id}: {describe(change)}"
            if suggested:
                text += f" Could replace it: {', '.join(suggested)}."
            found.append(News(change, topic or "", text[:500], suggested))
        return found

    return Subject(key, label, ENDPOINT_TOPICS, news, words)


def _shortlist_ids(watch: Watch) -> set[str]:
    if watch.shortlist is None:
        return set()
    return set(watch.shortlist.entries.values_list("endpoint_id", flat=True))


def _called_ids(watch: Watch) -> set[str]:
    """The endpoints the team called (calls or spend) in the last 30 days of the latest
    usage sync, read again at each check: none before the first usage sync."""
    return set(team_usage(latest_run_id()).ranking)


def _called_words(watch: Watch) -> str:
    usage = team_usage(latest_run_id())
    if not usage.synced:
        return "The models the team calls: it watches nothing until a usage sync has run"
    demo = " (demo usage)" if usage.demo else ""
    days = f"{len(usage.ranking)} models the team called in the last {WINDOW_DAYS} days"
    return f"Changes to the {days}{demo}"


SUBJECTS: dict[str, Subject] = {
    subject.key: subject
    for subject in (
        SEARCH,
        endpoint_subject(
            "shortlist",
            "A shortlist",
            _shortlist_ids,
            lambda watch: f"Changes to the models on “{watch.shortlist}”",
        ),
        endpoint_subject("usage", "The models we call", _called_ids, _called_words),
    )
}
