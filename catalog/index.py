"""Reading the catalog index: every page's models, held in memory per process.

`catalog_index()` returns the `CatalogIndex` for the database's current index version:
one small query per call, and a reload (every entry parsed once) only when a sync or an
added model changed the version. A `CatalogIndex` never changes after it is built, so
what is derived from it — search, grid rows, families, grid results — hangs off it and is
dropped with it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.template.loader import render_to_string

from catalog.browse import GridQuery, GridResult, Row, browse, row_for
from catalog.cards import Card
from catalog.models import CatalogEntry, IndexState, SyncRun
from catalog.search import SearchIndex
from fal.types import ExpansionError, Model, parse_model

GRID_RESULTS_KEPT = 64
CARD_HTML_KEPT = 4096


@dataclass(frozen=True)
class Presence:
    """When the index first saw an endpoint, and when a full crawl last lacked it."""

    first_seen: datetime
    gone_at: datetime | None


class CatalogIndex:
    """An immutable copy of the index: the present models in the API's order, plus gone ones."""

    def __init__(
        self,
        version: int | None,
        models: Sequence[Model],
        presence: dict[str, Presence],
        synced_at: datetime | None,
    ) -> None:
        self.version = version
        self.all_models = tuple(models)
        self.presence = presence
        self.synced_at = synced_at
        self._grid_results: OrderedDict[tuple, GridResult] = OrderedDict()
        self._card_html: OrderedDict[tuple[Card, bool], str] = OrderedDict()
        self._lock = threading.Lock()

    @cached_property
    def models(self) -> tuple[Model, ...]:
        """Models in fal's catalog now (not gone), in the API's order."""
        return tuple(m for m in self.all_models if self.presence[m.endpoint_id].gone_at is None)

    @cached_property
    def by_id(self) -> dict[str, Model]:
        return {m.endpoint_id: m for m in self.all_models}

    @cached_property
    def rows(self) -> tuple[Row, ...]:
        return tuple(row_for(m) for m in self.models)

    @cached_property
    def search_index(self) -> SearchIndex:
        return SearchIndex(self.models)

    @cached_property
    def families(self) -> dict[str, tuple[Model, ...]]:
        """Present models by case-folded group key (fal splits one family into endpoints)."""
        families: dict[str, list[Model]] = {}
        for model in self.models:
            group = model.metadata.group if model.metadata else None
            if group and group.key:
                families.setdefault(group.key.casefold(), []).append(model)
        return {key: tuple(members) for key, members in families.items()}

    @property
    def empty(self) -> bool:
        return not self.all_models

    def get(self, endpoint_id: str) -> Model | None:
        """The model, present or gone (see `presence`), or None if the index never saw it."""
        return self.by_id.get(endpoint_id)

    def is_gone(self, endpoint_id: str) -> bool:
        presence = self.presence.get(endpoint_id)
        return presence is not None and presence.gone_at is not None

    def family(self, model: Model) -> tuple[Model, ...]:
        """The other present endpoints of the model's group."""
        group = model.metadata.group if model.metadata else None
        if not group or not group.key:
            return ()
        members = self.families.get(group.key.casefold(), ())
        return tuple(m for m in members if m.endpoint_id != model.endpoint_id)

    def search(self, q: str) -> list[Model]:
        """Present models matching every token of `q`, best first (all, in order, if none)."""
        return [self.models[i] for i in self.search_index.search(q)]

    def grid(
        self, query: GridQuery, added_ids: frozenset[str] | None = None, added_since: str = ""
    ) -> GridResult:
        """The filtered, counted, sorted grid for `query` (every page), kept for reuse.

        With `query.added`, `added_ids` are the endpoints added since `added_since` (the
        key: the ids follow from it and this index version, the same for every member)."""
        key = (*query.params(page=1), ("added_since", added_since if query.added else ""))
        with self._lock:
            hit = self._grid_results.get(key)
            if hit is not None:
                self._grid_results.move_to_end(key)
                return hit
        if query.q:
            positions = self.search_index.search(query.q)
            rows = [self.rows[i] for i in positions]
        else:
            rows = self.rows
        result = browse(query, rows, added_ids)
        with self._lock:
            self._grid_results[key] = result
            while len(self._grid_results) > GRID_RESULTS_KEPT:
                self._grid_results.popitem(last=False)
        return result

    def card_html(self, card: Card, *, picked: bool) -> str:
        """A card as members see it (no per-user controls), rendered once per content.

        Keyed by the card itself (every field it shows) and whether its compare box is
        ticked: nothing else goes into the HTML, so it is the same for every member.
        """
        key = (card, picked)
        with self._lock:
            html = self._card_html.get(key)
        if html is None:
            context = {"card": card, "compare_picks": (card.endpoint_id,) if picked else ()}
            html = render_to_string("catalog/_card.html", context)
            with self._lock:
                self._card_html[key] = html
                while len(self._card_html) > CARD_HTML_KEPT:
                    self._card_html.popitem(last=False)
        return html


def current_version() -> int | None:
    return IndexState.objects.filter(pk=1).values_list("version", flat=True).first()


def load_index(version: int | None) -> CatalogIndex:
    """Build a CatalogIndex from the database (documents stay there: see `documents`)."""
    models: list[Model] = []
    presence: dict[str, Presence] = {}
    rows = CatalogEntry.objects.order_by("position", "pk").values_list(
        "endpoint_id", "entry", "first_seen", "gone_at"
    )
    for endpoint_id, entry, first_seen, gone_at in rows.iterator(chunk_size=2000):
        model = parse_model(entry)
        if model is None or model.endpoint_id != endpoint_id:
            continue  # stored by an older parser; the next sync rewrites it
        models.append(model)
        presence[endpoint_id] = Presence(first_seen=first_seen, gone_at=gone_at)
    last_good = (
        SyncRun.objects.filter(state=SyncRun.State.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return CatalogIndex(version, models, presence, last_good)


_current: CatalogIndex | None = None
_reload_lock = threading.Lock()


def catalog_index() -> CatalogIndex:
    """The index as of the database's current version (reloaded only when it changed)."""
    global _current
    version = current_version()
    index = _current
    if index is not None and index.version == version:
        return index
    with _reload_lock:  # one reload per process, however many threads ask
        if _current is None or _current.version != version:
            _current = load_index(version)
        return _current


def documents(endpoint_ids: Sequence[str]) -> dict[str, dict[str, Any] | ExpansionError]:
    """The stored OpenAPI document, or fal's expansion error, per endpoint id that has one."""
    rows = CatalogEntry.objects.filter(endpoint_id__in=list(endpoint_ids)).values_list(
        "endpoint_id", "openapi"
    )
    found = {}
    for endpoint_id, raw in rows:
        if raw is not None:
            # The same reading of the field as when the API answers with it.
            model = parse_model({"endpoint_id": endpoint_id, "openapi": raw})
            if model is not None and model.openapi is not None:
                found[endpoint_id] = model.openapi
    return found
