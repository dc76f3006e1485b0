"""The deprecation watch on shortlists: which entries need attention, what could replace them.

An entry needs attention when its model is gone, deprecated, or had a breaking change since
it was put on the list; a curator also sees what changed for their lists since they last
looked at the shortlists page (that look is recorded by `mark_shortlists_seen`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from catalog.cards import Card, card_for
from catalog.changes import NEW_VISIT_AFTER
from catalog.index import CatalogIndex
from catalog.models import CatalogVisit, Change, Shortlist, ShortlistEntry
from catalog.shortlists import EntryRow
from fal.types import Model

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_SUGGESTIONS = 3
# A trailing version in a model's name: "-v2", "-v1.5", "-2", "-1.0".
_VERSION = re.compile(r"(-v?\d+(\.\d+)*)+$")


@dataclass(frozen=True)
class Watch:
    """Why an entry needs attention, and what could replace it."""

    gone: bool = False
    deprecated: bool = False
    breaking: tuple[Change, ...] = ()
    suggestions: tuple[Card, ...] = field(default=())

    @property
    def flagged(self) -> bool:
        return self.gone or self.deprecated or bool(self.breaking)


def id_stem(endpoint_id: str) -> str:
    """owner/name without a trailing version: fal-ai/kling-video/v1.6/pro → fal-ai/kling-video."""
    owner, _, rest = endpoint_id.casefold().partition("/")
    name = rest.split("/", 1)[0]
    return f"{owner}/{_VERSION.sub('', name) or name}"


def _group(model: Model) -> str:
    group = model.metadata.group if model.metadata else None
    return group.key.casefold() if group and group.key else ""


def successors(model: Model, catalog: CatalogIndex, exclude: set[str]) -> list[Model]:
    """Present, active models of the same category and family (or id stem), newer first."""
    meta = model.metadata
    category = meta.category if meta else ""
    date = meta.date if meta else ""
    group, stem = _group(model), id_stem(model.endpoint_id)
    found = []
    for other in catalog.models:
        other_meta = other.metadata
        if other.endpoint_id in exclude or other_meta is None:
            continue
        if other_meta.status == "deprecated" or other_meta.category != category:
            continue
        same_group = bool(group) and _group(other) == group
        if not same_group and id_stem(other.endpoint_id) != stem:
            continue
        if date and other_meta.date and other_meta.date < date:
            continue  # older than the model it would replace
        found.append((not same_group, _reverse(other_meta.date), other.endpoint_id, other))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found[:MAX_SUGGESTIONS]]


def _reverse(text: str) -> tuple[int, ...]:
    """Sort key for "newest first" on ISO dates (missing dates last)."""
    return tuple(-ord(c) for c in text) if text else (1,)


def watch_entries(
    entries: Sequence[ShortlistEntry], catalog: CatalogIndex, *, suggest: bool = True
) -> dict[int, Watch]:
    """A Watch for each entry (by pk); breaking changes count when a sync recorded them
    after the entry was added."""
    ids = {entry.endpoint_id for entry in entries}
    breaking: dict[str, list[Change]] = {}
    if ids:
        found = Change.objects.filter(endpoint_id__in=ids, breaking=True).select_related("sync")
        for change in found:
            breaking.setdefault(change.endpoint_id, []).append(change)
    on_lists: dict[int, set[str]] = {}
    for entry in entries:
        on_lists.setdefault(entry.shortlist_id, set()).add(entry.endpoint_id)
    watches = {}
    for entry in entries:
        model = catalog.get(entry.endpoint_id)
        gone = model is None or catalog.is_gone(entry.endpoint_id)
        deprecated = bool(model and model.metadata and model.metadata.status == "deprecated")
        since = tuple(
            c for c in breaking.get(entry.endpoint_id, ()) if c.sync.started_at > entry.added_at
        )
        watch = Watch(gone=gone, deprecated=deprecated, breaking=since)
        if watch.flagged and suggest and model is not None:
            exclude = on_lists[entry.shortlist_id] | {entry.endpoint_id}
            cards = tuple(card_for(m) for m in successors(model, catalog, exclude))
            watch = Watch(gone, deprecated, since, cards)
        watches[entry.pk] = watch
    return watches


def changes_for_lists(endpoint_ids: set[str], since: datetime | None) -> list[Change]:
    """Changes the syncs recorded after `since` for these endpoints (newest first)."""
    if not endpoint_ids or since is None:
        return []
    found = Change.objects.filter(endpoint_id__in=endpoint_ids, sync__started_at__gt=since)
    return list(found.select_related("sync")[:200])


def shortlist_rows_watched(rows: list[EntryRow], catalog: CatalogIndex) -> list[EntryRow]:
    """The shortlist page's rows, each with its Watch (reasons and successor suggestions)."""
    watches = watch_entries([row.entry for row in rows], catalog)
    return [replace(row, watch=watches[row.entry.pk]) for row in rows]


def suggested_successors(entry: ShortlistEntry, catalog: CatalogIndex) -> frozenset[str]:
    """The endpoint ids the watch suggests in place of this entry (none when it is fine)."""
    watch = watch_entries(list(entry.shortlist.entries.all()), catalog)[entry.pk]
    return frozenset(card.endpoint_id for card in watch.suggestions)


def count_flagged(
    shortlists: Sequence[Shortlist], entries: Sequence[ShortlistEntry], catalog: CatalogIndex
) -> int:
    """Sets each list's `watch_flagged` (its entries that need attention); the total."""
    watches = watch_entries(entries, catalog, suggest=False)
    flagged: dict[int, int] = {}
    for entry in entries:
        if watches[entry.pk].flagged:
            flagged[entry.shortlist_id] = flagged.get(entry.shortlist_id, 0) + 1
    for shortlist in shortlists:
        shortlist.watch_flagged = flagged.get(shortlist.pk, 0)  # type: ignore[attr-defined]
    return sum(flagged.values())


def mark_shortlists_seen(user: User) -> datetime | None:
    """Records a curator's look at the shortlists page, now (a write, on a GET), and returns
    when their previous visit began: looks less than NEW_VISIT_AFTER apart are one visit."""
    visit, _ = CatalogVisit.objects.get_or_create(user=user)
    previous = visit.shortlists_seen_at
    now = timezone.now()
    if previous is None or now - previous > NEW_VISIT_AFTER:
        visit.shortlists_previous = previous
    visit.shortlists_seen_at = now
    visit.save(update_fields=["shortlists_seen_at", "shortlists_previous"])
    return visit.shortlists_previous
