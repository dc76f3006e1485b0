"""Reading the catalog index: every page's models, held in memory per process.

`catalog_index()` returns the `CatalogIndex` for the database's current index version: one
small query per request (`catalog_state`, which also says how the syncs went), and a reload
(every entry parsed once) only when a sync or an added model changed the version. A
`CatalogIndex` never changes after it is built, so what is derived from it — search, grid
rows, families, grid results — hangs off it and is dropped with it. Prices are part of the
index: the current price of each endpoint for the key in use
(`catalog.upstream.price_key_fingerprint`), so an index is built per version and key
fingerprint, and no price seen with one key is shown to another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence, Set
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import cache, cached_property
from typing import Any, TypeVar

from django.db import connection
from django.template.loader import render_to_string

from catalog import upstream
from catalog.browse import GridQuery, GridResult, Row, active_filters, browse, row_for
from catalog.cards import GONE, Card, card_for
from catalog.compare import LIMIT_REASON
from catalog.facets import rail
from catalog.models import CatalogEntry, IndexState, PriceRecord, SyncRun
from catalog.prices import NEEDS_KEY, NO_PRICE, CardPrice, card_price
from catalog.search import SearchIndex, search_all
from fal.capabilities import Capabilities
from fal.types import ExpansionError, Model, parse_model
from usage.figures import NO_USAGE, TeamUsage
from usage.models import UsageSyncRun
from usage.selectors import team_usage

NO_USAGE_YET = "No usage synced yet"

# What is derived from one index (grid results, rendered cards and rails, comparisons) and
# kept with it: enough for every card of a large catalog's busiest pages.
DERIVED_KEPT = 8192
# Cards each worker renders before its first request: a keystroke's results are mostly
# cards nobody has asked for yet, and a new page of 48 costs ~25 ms to render. All of the
# bundled catalog's; the first of a larger one (within what DERIVED_KEPT keeps).
WARM_CARDS = 2000


T = TypeVar("T")


class Shared(dict):
    """One copy of each equal value: a catalog repeats its categories, licenses, tags and
    tag sets across thousands of models, and one string or set serves them all (at 100,000
    models, ~100 MB less per worker). Lives as long as the index it was built for."""

    def __call__(self, value: T) -> T:
        return self.setdefault(value, value)


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
        capabilities: dict[str, Capabilities] | None = None,
        prices: dict[str, CardPrice] | None = None,
        price_key: str | None = "",
        shared: Shared | None = None,
    ) -> None:
        self.version = version
        self.prices = prices or {}
        # Whose prices these are: a key fingerprint ("" offline); None when live without a key.
        self.price_key = price_key
        self.all_models = tuple(models)
        self.presence = presence
        self._derived: OrderedDict[tuple, Any] = OrderedDict()
        # endpoint id → what its schema says it does; missing: "schema unknown"
        self.capabilities = capabilities or {}
        self._lock = threading.Lock()
        self._shared = shared if shared is not None else Shared()

    @cached_property
    def models(self) -> tuple[Model, ...]:
        """Models in fal's catalog now (not gone), in the API's order."""
        return tuple(m for m in self.all_models if self.presence[m.endpoint_id].gone_at is None)

    @cached_property
    def gone_models(self) -> tuple[Model, ...]:
        """Models fal no longer lists: found by a search with `status=all` or `gone`."""
        return tuple(m for m in self.all_models if self.presence[m.endpoint_id].gone_at)

    @cached_property
    def by_id(self) -> dict[str, Model]:
        return {m.endpoint_id: m for m in self.all_models}

    @cached_property
    def rows(self) -> tuple[Row, ...]:
        return tuple(self._row(m) for m in self.models)

    @cached_property
    def gone_rows(self) -> tuple[Row, ...]:
        return tuple(replace(self._row(m), status=GONE) for m in self.gone_models)

    def _row(self, model: Model) -> Row:
        return row_for(
            model,
            capabilities=self.capabilities.get(model.endpoint_id),
            price=self.prices.get(model.endpoint_id),
            share=self._shared,
        )

    @property
    def price_note(self) -> str:
        """What a model without a price says instead."""
        return NEEDS_KEY if self.price_key is None else NO_PRICE

    def price(self, endpoint_id: str) -> CardPrice | None:
        return self.prices.get(endpoint_id)

    @cached_property
    def search_index(self) -> SearchIndex:
        return SearchIndex(self.models)

    @cached_property
    def gone_search_index(self) -> SearchIndex:
        return SearchIndex(self.gone_models)

    def _found(self, q: str) -> list[Row]:
        """The rows a search finds, present and gone (the status facet shows them or not)."""
        rows = (self.rows, self.gone_rows)
        return [rows[n][p] for n, p in search_all(q, (self.search_index, self.gone_search_index))]

    def suggest(self, q: str) -> str | None:
        """A corrected query (catalog.search), unless the words name removed models ("sora"
        is no typo of "lora")."""
        return None if self.gone_search_index.complete(q) else self.search_index.suggest(q)

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

    def has_category(self, category: str) -> bool:
        """Whether any model, present or gone, is of `category` (case aside)."""
        wanted = category.casefold()
        return any(m.metadata and m.metadata.category.casefold() == wanted for m in self.all_models)

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
        """Present models answering `q` (every word matches, or the task it names), best
        first; all, in order, if `q` has no words. Not those matching only some words: a
        pick from this list must be what was asked for (compare's "add a model")."""
        found = self.search_index.found(q)
        return [self.models[i] for i in found.positions[: found.answers]]

    def answer_ids(self, q: str) -> frozenset[str]:
        """The endpoints, present and gone, that answer `q` (every word matches, or the task
        it names): the grid's first tier, without the models it lists after them for
        matching only some words. What a saved search counts as a match (watches)."""

        def build() -> frozenset[str]:
            found = []
            for models, index in (
                (self.models, self.search_index),
                (self.gone_models, self.gone_search_index),
            ):
                answers = index.found(q)
                found += [models[p].endpoint_id for p in answers.positions[: answers.answers]]
            return frozenset(found)

        return self.derived(("answer_ids", q), build)

    def derived(self, key: tuple, build: Callable[[], T]) -> T:
        """A value that depends on this index and `key` alone, built once and kept with the
        index (the least recently used go first). `key` must name everything `build` reads
        besides the index: that is what makes it safe to share between users."""
        with self._lock:
            if key in self._derived:
                self._derived.move_to_end(key)
                return self._derived[key]
        value = build()  # outside the lock: two threads may build it once each
        with self._lock:
            self._derived[key] = value
            while len(self._derived) > DERIVED_KEPT:
                self._derived.popitem(last=False)
        return value

    def grid(
        self,
        query: GridQuery,
        added_ids: frozenset[str] | None = None,
        added_since: str = "",
        usage: TeamUsage = NO_USAGE,
    ) -> GridResult:
        """The filtered, counted, sorted grid for `query` (every page).

        With `query.added`, `added_ids` are the endpoints added since `added_since` (the
        key: the ids follow from it and this index version, the same for every member).
        `usage` is the team's last 30 days (the `used` facet, the spend and calls sorts),
        keyed by its run."""

        def build() -> GridResult:
            if query.q:
                rows: Sequence[Row] = self._found(query.q)
            else:
                rows = (*self.rows, *self.gone_rows) if self.gone_rows else self.rows
            return browse(query, rows, added_ids, usage.ranking if usage.synced else None)

        since = added_since if query.added else ""
        key = ("grid", *query.params(page=1), ("added_since", since), ("usage", usage.run_id))
        return self.derived(key, build)

    def rail_html(
        self,
        query: GridQuery,
        added_ids: frozenset[str] | None = None,
        added_since: str = "",
        usage: TeamUsage = NO_USAGE,
    ) -> str:
        """The grid's facet rail for `query`: the same for every user (no messages, no
        controls), so rendered once per index and query, like the grid result it shows."""

        def build() -> str:
            grid = self.grid(query, added_ids, added_since, usage)
            # Without any price known, the price facet says why rather than "none here";
            # without usage figures, the usage facet says so.
            empty = {"unit": self.price_note} if not self.prices else {}
            if not usage.synced:
                empty["used"] = NO_USAGE_YET
            context = {"rail": rail(query, grid, empty), "chips": active_filters(query)}
            return render_to_string("catalog/index.html#rail", context)

        since = added_since if query.added else ""
        key = ("rail", *query.params(page=1), ("added_since", since), ("usage", usage.run_id))
        return self.derived(key, build)

    def card(self, model: Model, usage: TeamUsage = NO_USAGE) -> Card:
        """The model's card with its price (or why it has none) and, given the team's
        usage, its badge: what every page shows.

        Built once a day per model and usage run: "new" depends on the date. A model fal no
        longer lists has the status "gone", whatever its last entry said."""

        def build() -> Card:
            endpoint_id = model.endpoint_id
            card = card_for(
                model,
                price=self.prices.get(endpoint_id),
                price_note="" if endpoint_id in self.prices else self.price_note,
            )
            if (used := usage.get(endpoint_id)) is not None and used.used:
                card = replace(card, usage=used, usage_demo=usage.demo)
            presence = self.presence.get(endpoint_id)
            if presence is None or presence.gone_at is None:
                return card
            return replace(card, status=GONE, gone_since=presence.gone_at)

        return self.derived(("card", model.endpoint_id, date.today(), usage.run_id), build)

    def keep_rendered_cards(self, previous: CatalogIndex) -> None:
        """Take over the cards `previous` rendered: keyed by their whole content, they are
        as true of this index (a card whose content changed has another key)."""
        with previous._lock:
            rendered = [(k, v) for k, v in previous._derived.items() if k[0] == "card_html"]
        with self._lock:
            self._derived.update(rendered[-DERIVED_KEPT // 2 :])

    def card_html(
        self, card: Card, *, picked: bool, picks_full: bool = False, shortlisted: bool | None = None
    ) -> str:
        """A card, rendered once per content and state.

        Keyed by the card itself (every field it shows), whether its compare box is ticked
        or, the picks being full, off with the reason, and, for curators, whether the endpoint
        is in any shortlist (their closed control shows only that; the lists load when it
        opens). Nothing else goes into the HTML, so it is the same for every member, and for
        every curator.
        """
        full = picks_full and not picked
        context = {
            "card": card,
            "compare_picks": (card.endpoint_id,) if picked else (),
            "compare_full_reason": LIMIT_REASON if full else "",
            "shortlisted": shortlisted,
        }
        return self.derived(
            ("card_html", card, picked, full, shortlisted),
            lambda: render_to_string("catalog/_card.html", context),
        )


@dataclass(frozen=True)
class CatalogState:
    """The index's version, how the syncs went and which usage run holds the team's
    figures, read in one query."""

    version: int | None  # None before the first sync wrote the index
    last_finished: str | None  # the latest finished sync's state: succeeded or failed
    last_finished_at: datetime | None
    last_error: str
    last_success_at: datetime | None
    # The latest usage sync run that fetched anything: the key of the team's figures
    # (usage.selectors); None before any.
    usage_run_id: int | None = None


# Every page asks for the state twice (the index, then the freshness line): within one
# request it is read once. Outside a request (tasks, commands, tests calling in) there is
# no scope and every call reads it; a write to the state or a run forgets it (signals).
_request_scope: ContextVar[dict[str, CatalogState] | None] = ContextVar(
    "catalog_state_scope", default=None
)


def open_request_scope(**kwargs: Any) -> None:
    _request_scope.set({})


def close_request_scope(**kwargs: Any) -> None:
    _request_scope.set(None)


def forget_request_state(**kwargs: Any) -> None:
    if (scope := _request_scope.get()) is not None:
        scope.clear()


def catalog_state() -> CatalogState:
    scope = _request_scope.get()
    if scope is not None and "state" in scope:
        return scope["state"]
    state = _read_state()
    if scope is not None:
        scope["state"] = state
    return state


def _read_state() -> CatalogState:
    # Raw SQL: every request runs it, and Django's compiler took ~30 times as long to build
    # it (four subqueries) as the database took to answer (bench/profile_pages.py).
    with connection.cursor() as cursor:
        fetched = UsageSyncRun.Part.FETCHED
        params = [SyncRun.State.SUCCEEDED, fetched, fetched, SyncRun.State.RUNNING]
        cursor.execute(_state_sql(), params)
        version, state, finished_at, error, success_at, usage_run = cursor.fetchone()
    return CatalogState(
        version=version,
        last_finished=state,
        last_finished_at=_as_datetime(finished_at),
        last_error=error or "",
        last_success_at=_as_datetime(success_at),
        usage_run_id=usage_run,
    )


@cache
def _state_sql() -> str:
    """The state row (none before the first sync) beside the latest finished run, in the
    runs' own order (SyncRun.Meta: newest started first), the last success's end, and the
    latest usage run that fetched a part (usage.selectors.good_runs_filter; runs are
    created as they start, so the newest has the highest id: read from the key's end)."""
    # The names are the models' own tables; values go as parameters.
    state, run = IndexState._meta.db_table, SyncRun._meta.db_table
    usage_run = UsageSyncRun._meta.db_table
    return f"""
        SELECT s.version, r.state, r.finished_at, r.error,
               (SELECT MAX(finished_at) FROM {run} WHERE state = %s),
               (SELECT id FROM {usage_run}
                WHERE finished_at IS NOT NULL AND (usage = %s OR analytics = %s)
                ORDER BY id DESC LIMIT 1)
        FROM (SELECT 1 AS one) AS o
        LEFT JOIN {state} AS s ON s.id = 1
        LEFT JOIN (SELECT state, finished_at, error FROM {run} WHERE state <> %s
                   ORDER BY started_at DESC, id DESC LIMIT 1) AS r ON 1 = 1
    """  # noqa: S608


def _as_datetime(value: datetime | str | None) -> datetime | None:
    """A timestamp as PostgreSQL gives it (aware) or SQLite (naive or text, in UTC: USE_TZ)."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def load_prices(price_key: str | None, video_ids: Set[str] = frozenset()) -> dict[str, CardPrice]:
    """The current price of every endpoint for one key fingerprint (none without a key);
    `video_ids`: the endpoints that make videos (their typical job is a clip)."""
    if price_key is None:
        return {}
    rows = PriceRecord.objects.filter(key_fingerprint=price_key, ended_at=None).values_list(
        "endpoint_id", "unit_price", "unit", "currency"
    )
    return {
        endpoint_id: card_price(amount, unit, currency, video=endpoint_id in video_ids)
        for endpoint_id, amount, unit, currency in rows.iterator(chunk_size=2000)
    }


def load_index(version: int | None, price_key: str | None) -> CatalogIndex:
    """Build a CatalogIndex from the database (documents stay there: see `documents`)."""
    models: list[Model] = []
    shared = Shared()
    presence: dict[str, Presence] = {}
    capabilities: dict[str, Capabilities] = {}
    rows = CatalogEntry.objects.order_by("position", "pk").values_list(
        "endpoint_id", "entry", "first_seen", "gone_at", "capabilities"
    )
    for endpoint_id, entry, first_seen, gone_at, caps in rows.iterator(chunk_size=2000):
        model = parse_model(entry, shared)
        if model is None or model.endpoint_id != endpoint_id:
            continue  # stored by an older parser; the next sync rewrites it
        models.append(model)
        presence[endpoint_id] = Presence(first_seen=first_seen, gone_at=gone_at)
        # Stored by older rules, or unknown: no capabilities until the next sync says.
        if (known := Capabilities.from_json(caps)) is not None:
            capabilities[endpoint_id] = known
    video_ids = {
        m.endpoint_id for m in models if m.metadata and m.metadata.category.endswith("-to-video")
    }
    prices = load_prices(price_key, video_ids)
    return CatalogIndex(version, models, presence, capabilities, prices, price_key, shared)


_current: CatalogIndex | None = None
_reload_lock = threading.Lock()


def catalog_index() -> CatalogIndex:
    """The index as of the database's current version (reloaded only when it changed)."""
    global _current
    version = catalog_state().version
    price_key = upstream.price_key_fingerprint()
    index = _current
    if index is not None and (index.version, index.price_key) == (version, price_key):
        return index
    with _reload_lock:  # one reload per process, however many threads ask
        if _current is None or (_current.version, _current.price_key) != (version, price_key):
            fresh = load_index(version, price_key)
            if _current is not None:
                fresh.keep_rendered_cards(_current)
            _current = fresh
        return _current


def warm_up() -> CatalogIndex:
    """Load the index and what the grid's first page needs before any request asks for it:
    each new gunicorn worker calls this (config/gunicorn.conf.py), so no visitor waits for
    the index to be read, its search index built, the default grid or its cards rendered."""
    from catalog.browse import GridQuery

    index = catalog_index()
    if not index.empty:
        index.search_index  # noqa: B018 (a cached property: built here, not on a first search)
        # With the team's usage, as the grid shows it (its badges are part of each card).
        usage = team_usage(catalog_state().usage_run_id)
        query = GridQuery()
        grid = index.grid(query, usage=usage)
        index.rail_html(query, usage=usage)
        for model in grid.models[:WARM_CARDS]:
            index.card_html(index.card(model, usage), picked=False)
    return index


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
