"""The grid's view state: parse the URL, filter, count facets and sort the models.

The filters are the facets of catalog.facets (`FACETS`); this module reads the URL with
them, runs their tests over the rows of the catalog index (the search in catalog.search
narrows and ranks them first when there is a `q`), counts and sorts. Pure functions: no
I/O and no Django, so they are easy to test and fast. A model without a status counts as
active.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, partial
from itertools import compress
from operator import attrgetter, is_
from typing import Any
from urllib.parse import urlencode

from catalog.cards import license_of, model_tags
from catalog.compare import LIMIT_REASON
from catalog.compare import MAX_MODELS as MAX_COMPARE
from catalog.facets import FACETS, FACETS_BY_NAME, OTHERS, Context, Facet, FacetOption, Test
from catalog.prices import NO_PRICE_RANK, CardPrice
from fal.capabilities import Capabilities
from fal.types import Model, is_endpoint_id

PAGE_SIZE = 48
MAX_PAGE = 10_000
# "default" is fal's own order, or the best match first when there is a search (see
# `sort_options`).
SORTS = {
    "default": "fal's order",
    "newest": "Newest",
    "updated": "Recently updated",
    "name": "Name",
    "price": "Price (cheapest first)",
    "spend": "Our spend, 30 d (most first)",
    "calls": "Our calls, 30 d (most first)",
}
USAGE_SORTS = ("spend", "calls")  # by the team's figures (catalog.facets.Context.used)
# Long enough for any real value; guards the page against pathological input.
MAX_VALUE_LENGTH = 200
MAX_REPEATS = 20
# The view state besides the facets (`GridQuery`'s other fields).
STATE = ("q", "sort", "page", "compare")
# Messages about the URL come in the order the grid has always read it in (names not here,
# such as a new facet's, come last).
MESSAGE_ORDER = {
    name: n
    for n, name in enumerate(
        ("q", "status", "sort", "kind", "added", "license", "unit", "max_price", "page",
         "accepts", "has", "outputs", "max_duration", "max_outputs", "compare", "category",
         "tag", "group")
    )
}  # fmt: skip


def clean_text(value: str) -> str:
    """Drop control characters (NUL and friends) and surrounding space."""
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cc").strip()


@dataclass(frozen=True)
class GridQuery:
    """The whole view state of the grid, as it appears in the URL.

    A facet's value is `value(name)` (or the attribute of its name: `query.license`);
    `filters` holds those that differ from the facet's default, in `FACETS` order.
    """

    q: str = ""
    filters: tuple[tuple[str, Any], ...] = ()
    sort: str = "default"
    page: int = 1
    compare: tuple[str, ...] = ()
    messages: tuple[str, ...] = field(default=(), compare=False)

    @cached_property
    def values(self) -> dict[str, Any]:
        return dict(self.filters)

    def value(self, name: str) -> Any:
        """A facet's value (its default when the URL does not set it)."""
        values = self.values
        return values[name] if name in values else FACETS_BY_NAME[name].default

    def __getattr__(self, name: str) -> Any:
        if name in FACETS_BY_NAME:
            return self.value(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def has_filters(self) -> bool:
        return bool(self.q or self.filters)

    @property
    def has_capability_filters(self) -> bool:
        """Whether a filter on what the schema states is on (models without one fail it)."""
        return any(FACETS_BY_NAME[name].schema for name, _ in self.filters)

    def clear_url(self) -> str:
        """This view without any filter (sort and compare picks kept)."""
        return self.url(q="", **{facet.name: facet.default for facet in FACETS})

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """Query pairs in canonical order, defaults left out."""
        if unknown := changes.keys() - FACETS_BY_NAME.keys() - set(STATE):
            raise TypeError(f"GridQuery has no field {sorted(unknown)[0]!r}")
        values = {**self.values, **changes} if changes else self.values
        q = changes.get("q", self.q)
        pairs: list[tuple[str, str]] = [("q", q)] if q else []
        for facet in FACETS:
            name = facet.name
            if name in values and (value := values[name]) != facet.default:
                pairs += facet.pairs(value)
        if (sort := changes.get("sort", self.sort)) != "default":
            pairs.append(("sort", sort))
        if (page := changes.get("page", self.page)) != 1:
            pairs.append(("page", str(page)))
        pairs += [("compare", v) for v in changes.get("compare", self.compare)]
        return pairs

    def url(self, **changes: Any) -> str:
        """`?…` for this state with `changes` applied; paging restarts unless `page` is given."""
        changes.setdefault("page", 1)
        query = urlencode(self.params(**changes))
        return f"?{query}" if query else "?"


class Reader:
    """GET parameters read the grid's way: control characters dropped, long values cut and
    repeats capped, each with a message."""

    def __init__(self, data: Mapping) -> None:
        self.data = data
        self.messages: list[tuple[str, str]] = []  # (parameter, message)

    def warn(self, name: str, message: str) -> None:
        # Once: a parameter may be read by two facets (max_price reads the units too).
        if (name, message) not in self.messages:
            self.messages.append((name, message))

    def _values(self, name: str) -> list[str]:
        data = self.data
        getlist = getattr(data, "getlist", None)
        raw = getlist(name) if getlist else ([data[name]] if name in data else [])
        return [clean_text(v) for v in raw if isinstance(v, str)]

    def single(self, name: str) -> str:
        values = [v for v in self._values(name) if v]
        if len(values) > 1:
            self.warn(name, f"Only one “{name}” is used at a time; kept the first.")
        value = values[0] if values else ""
        if len(value) > MAX_VALUE_LENGTH:
            self.warn(name, f"“{name}” was longer than {MAX_VALUE_LENGTH} characters and was cut.")
            value = value[:MAX_VALUE_LENGTH]
        return value

    def repeated(self, name: str) -> list[str]:
        values = list(dict.fromkeys(v[:MAX_VALUE_LENGTH] for v in self._values(name) if v))
        if len(values) > MAX_REPEATS:
            self.warn(name, f"At most {MAX_REPEATS} “{name}” values are used.")
        return values[:MAX_REPEATS]


def parse_grid_query(data: Mapping) -> GridQuery:
    """Read GET parameters; invalid values are dropped with a message, never an error."""
    read = Reader(data)
    q = read.single("q")
    filters = []
    for facet in FACETS:
        if (value := facet.parse(read)) != facet.default:
            filters.append((facet.name, value))
    sort = read.single("sort") or "default"
    if sort not in SORTS:
        read.warn("sort", f"Unknown sort “{sort}”: showing fal's order.")
        sort = "default"
    page_text = read.single("page") or "1"
    # isdecimal() alone would let "²" or "٣" through to int().
    page = (
        int(page_text)
        if page_text.isascii() and page_text.isdecimal() and len(page_text) < 6
        else 0
    )
    if not 1 <= page <= MAX_PAGE:
        read.warn("page", f"“{page_text}” is not a page number: showing the first page.")
        page = 1
    compare: list[str] = []
    for value in read.repeated("compare"):
        if not is_endpoint_id(value):
            read.warn(
                "compare", f"“{value}” is not an endpoint id and was left out of the comparison."
            )
        elif len(compare) < MAX_COMPARE:
            compare.append(value)
        else:
            read.warn(
                "compare",
                f"{LIMIT_REASON}: “{value}” was left out."
                " Remove a pick from the tray to add another.",
            )
    last = len(MESSAGE_ORDER)
    messages = sorted(read.messages, key=lambda m: MESSAGE_ORDER.get(m[0], last))
    return GridQuery(
        q=q,
        filters=tuple(filters),
        sort=sort,
        page=page,
        compare=tuple(compare),
        messages=tuple(text for _, text in messages),
    )


# --- Filtering, facets, sorting ----------------------------------------------------------

NOTHING_STATED = Capabilities()  # a Row's capabilities when its schema is unknown


@dataclass(frozen=True, slots=True)
class Row:
    """What filtering needs of one model, computed once per index (see catalog.index)."""

    model: Model
    license: str
    tags: frozenset[str]  # case-folded
    tag_pairs: tuple[tuple[str, str], ...]  # (case-folded, as written)
    group_key: str  # case-folded
    group_name: str  # the key as written: the family's name (the label names the role in it)
    kind: str
    category: str
    category_key: str  # case-folded
    status: str  # "active", "deprecated", or "gone" (catalog.index: fal no longer lists it)
    date: str
    updated: str
    name: str
    capabilities: Capabilities = NOTHING_STATED  # what the schema states
    schema_known: bool = False  # False: no schema, and `capabilities` states nothing
    # The unit class's place in fal.units' order: vague, then unpriced, last.
    price_rank: int = NO_PRICE_RANK
    unit_class: str = ""  # "" when unpriced
    per_class: Decimal | None = None  # the price of one of the class; None: vague or unpriced
    shown_price: Decimal | None = None  # per_class as the card shows it (rounded)
    job_price: Decimal | None = None  # a typical job's cost; None: the class has no such job


def row_for(
    model: Model,
    *,
    capabilities: Capabilities | None = None,
    price: CardPrice | None = None,
    share: Callable[[Any], Any] = lambda value: value,
) -> Row:
    """`share` may return an equal value already in memory (see catalog.index.Shared)."""
    meta = model.metadata
    stated = capabilities if capabilities is not None else NOTHING_STATED
    rank, unit_class, per_class, shown, job = (NO_PRICE_RANK, "", None, None, None)
    if price is not None:
        rank, unit_class, per_class = price.rank, price.unit_class, price.per_class
        shown, job = price.shown, price.per_job
    if meta is None:
        return Row(
            model, license="unknown", tags=frozenset(), tag_pairs=(), group_key="",
            group_name="", kind="", category="", category_key="", status="active", date="",
            updated="", name=model.endpoint_id.casefold(), capabilities=stated,
            schema_known=capabilities is not None, price_rank=rank, unit_class=unit_class,
            per_class=per_class, shown_price=shown, job_price=job,
        )  # fmt: skip
    labels = model_tags(meta)  # the cards' rule: the facet offers the tags cards show
    folded = [share(t.casefold()) for t in labels]
    return Row(
        model=model,
        license=license_of(meta.license_type),
        tags=share(frozenset(folded)),
        tag_pairs=share(tuple(zip(folded, labels, strict=True))),
        group_key=share(meta.group.key.casefold()) if meta.group else "",
        group_name=meta.group.key if meta.group else "",
        kind=meta.kind or "inference",
        category=meta.category,
        category_key=share(meta.category.casefold()),
        status="deprecated" if meta.status == "deprecated" else "active",
        date=meta.date,
        updated=meta.updated_at,
        name=(meta.display_name or model.endpoint_id).casefold(),
        capabilities=stated,
        schema_known=capabilities is not None,
        price_rank=rank,
        unit_class=unit_class,
        per_class=per_class,
        shown_price=shown,
        job_price=job,
    )


@dataclass
class GridResult:
    models: list[Model]  # every match, sorted
    total: int
    # Facet name → what the rail shows of it: its options (a list of FacetOption), or what
    # the matches state of a limit (catalog.facets.Stated). Facets without counts are absent.
    facets: dict[str, Any]
    schema_unknown: int = 0  # models matching every filter but the schema's that have none

    @property
    def groups(self) -> list[FacetOption]:
        return self.facets["group"]


_MODEL = attrgetter("model")
_SCHEMA_KNOWN = attrgetter("schema_known")


def browse(
    query: GridQuery,
    rows: Sequence[Row],
    added_ids: frozenset[str] | None = None,
    used: Mapping[str, tuple[Decimal, int]] | None = None,
) -> GridResult:
    """Filter, count and sort `rows` (already narrowed and ranked by the search, if any).

    A facet counts the rows that pass every other facet (its options' counts are what
    choosing each would show) or the matches (see catalog.facets.Facet.counts). With
    `query.added`, `added_ids` are the endpoints added in that window (the caller reads
    them from the history): only those are shown and counted. `used` is the team's
    (spend, calls) per endpoint it used in the last 30 days (None before any usage sync).
    """
    context = Context(added_ids, used)
    tests = [
        (facet, test)
        for facet in FACETS
        if (test := facet.test(query.value(facet.name), context)) is not None
    ]
    # Each test narrows what the ones before it kept. The schema's tests go after the
    # others, and the tests of facets that count the rows passing every other facet go
    # last: what the tests before one kept is most of the way to the rows it counts.
    tests.sort(key=lambda ft: (ft[0].counts == OTHERS, ft[0].schema))
    kept = [rows]
    for _, test in tests:
        kept.append(_keep(kept[-1], test))

    def passing(
        left_out: Callable[[Facet], bool], instead: Mapping[Facet, Test] | None = None
    ) -> Sequence[Row]:
        """The rows that pass every test but those of the facets `left_out` names, with the
        tests `instead` in place of those facets' own."""
        instead = instead or {}
        first = next(
            (i for i, (facet, _) in enumerate(tests) if left_out(facet) or facet in instead),
            len(tests),
        )
        found = kept[first]
        for facet, test in tests[first:]:
            if not left_out(facet):
                found = _keep(found, instead.get(facet, test))
        return found

    def counted_for(facet: Facet) -> Sequence[Row]:
        """The rows an OTHERS facet counts: choosing one of its options may change what
        another facet's value means (a max price is per the chosen unit)."""
        instead = {
            other: test
            for other, _ in tests
            if (test := other.test_choosing(facet.name, query.value(other.name))) is not None
        }
        return passing(partial(is_, facet), instead)

    matched = kept[-1]
    facets: dict[str, Any] = {}
    for facet in FACETS:
        if facet.counts:
            counted = matched if facet.counts != OTHERS else counted_for(facet)
            facets[facet.name] = facet.summary(query.value(facet.name), counted, context)
    outside_schema = passing(attrgetter("schema"))
    schema_unknown = len(outside_schema) - sum(map(_SCHEMA_KNOWN, outside_schema))
    matched = list(matched)  # a copy to sort: `kept` may hold `rows` itself
    _sort(matched, query.sort, used or {})
    return GridResult(
        models=list(map(_MODEL, matched)),
        total=len(matched),
        facets=facets,
        schema_unknown=schema_unknown,
    )


def _keep(rows: Sequence[Row], test: Test) -> list[Row]:
    return list(compress(rows, test(rows)))


def _sort(rows: list[Row], sort: str, used: Mapping[str, tuple[Decimal, int]]) -> None:
    if sort in USAGE_SORTS:
        # Most first; models the team did not use keep their order after those it did.
        place = 0 if sort == "spend" else 1
        nothing = (Decimal(0), 0)
        rows.sort(key=lambda r: used.get(r.model.endpoint_id, nothing)[place], reverse=True)
    elif sort == "newest":
        rows.sort(key=lambda r: r.date, reverse=True)
    elif sort == "updated":
        rows.sort(key=lambda r: r.updated, reverse=True)
    elif sort == "name":
        rows.sort(key=lambda r: r.name)
    elif sort == "price":
        # Within a unit class, cheapest first; classes in fal.units' order, vague then
        # unpriced last; ties keep fal's (or the search's) order.
        rows.sort(key=lambda r: (r.price_rank, r.per_class if r.per_class is not None else 0))


def sort_options(query: GridQuery) -> list[tuple[str, str]]:
    """(value, label) of each sort, naming the default for what it is in this view."""
    return [(k, "Best match" if k == "default" and query.q else v) for k, v in SORTS.items()]


def active_filters(query: GridQuery) -> list[tuple[str, str]]:
    """(label, URL without it) for each active filter: the removable chips."""
    chips = [(f"“{query.q}”", query.url(q=""))] if query.q else []
    for name, value in query.filters:
        chips += FACETS_BY_NAME[name].chips(query, value)
    return chips
