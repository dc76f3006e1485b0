"""The grid's view state: parse the URL, filter, count facets and sort the models.

Every filter, facet count and sort happens here, over the rows of the catalog index (the
search in catalog.search narrows and ranks them first when there is a `q`). Pure
functions: no I/O and no Django, so they are easy to test and fast. A model without a
status counts as active.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from catalog.cards import license_of, model_tags
from catalog.compare import MAX_MODELS as MAX_COMPARE
from catalog.prices import NO_PRICE_RANK, UNIT_KEYS, UNIT_LABELS, CardPrice, parse_max_price
from fal.capabilities import ACCEPTS, HAS, OUTPUTS, Capabilities
from fal.types import Model, is_endpoint_id

PAGE_SIZE = 48
MAX_TAGS = 60  # the rail lists the most common tags (selected ones always)
MAX_Q_LENGTH = 200
MAX_PAGE = 10_000
STATUSES = ("active", "deprecated", "all")
# "default" is fal's own order, or the best match first when there is a search (see
# `sort_options`).
SORTS = {
    "default": "fal's order",
    "newest": "Newest",
    "updated": "Recently updated",
    "name": "Name",
    "price": "Price (cheapest first)",
}
LICENSES = ("commercial", "research", "private", "unknown")
KINDS = ("inference", "training")
# `added`: models added in the last 7 or 30 days, or since the member's last visit.
ADDED = {"7": "added in the last 7 days", "30": "added in the last 30 days",
         "new": "new since your last visit"}  # fmt: skip
# Long enough for any real value; guards the page against pathological input.
MAX_VALUE_LENGTH = 200
MAX_REPEATS = 20
# The capability facets: URL name → (its values and labels, the Capabilities attribute).
CAPABILITY_FACETS = {"accepts": ACCEPTS, "has": HAS, "outputs": OUTPUTS}
# Range filters on the limits a schema states: URL name → (label, unit, largest accepted).
LIMIT_FILTERS = {
    "max_duration": ("Longest duration at least", "s", 100_000),
    "max_outputs": ("Outputs per call at least", "", 1_000),
}


def clean_text(value: str) -> str:
    """Drop control characters (NUL and friends) and surrounding space."""
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cc").strip()


@dataclass(frozen=True)
class GridQuery:
    """The whole view state of the grid, as it appears in the URL."""

    q: str = ""
    category: str = ""
    status: str = "active"
    licenses: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    group: str = ""
    kind: str = ""
    units: tuple[str, ...] = ()  # unit classes (fal.units), e.g. "image", "second"
    max_price: Decimal | None = None  # dollars per one of the unit class
    added: str = ""
    sort: str = "default"
    page: int = 1
    compare: tuple[str, ...] = ()
    accepts: tuple[str, ...] = ()
    has: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    max_duration: float | None = None  # models whose longest duration is at least this
    max_outputs: int | None = None  # models that can make at least this many per call
    messages: tuple[str, ...] = field(default=(), compare=False)

    @property
    def has_filters(self) -> bool:
        return bool(
            self.q or self.category or self.licenses or self.tags or self.group or self.kind
            or self.units or self.max_price is not None or self.added or self.status != "active"
            or self.has_capability_filters
        )  # fmt: skip

    @property
    def has_capability_filters(self) -> bool:
        return bool(
            self.accepts or self.has or self.outputs
            or self.max_duration is not None or self.max_outputs is not None
        )  # fmt: skip

    def clear_url(self) -> str:
        """This view without any filter (sort and compare picks kept)."""
        return self.url(
            q="", category="", status="active", licenses=(), tags=(), group="", kind="",
            units=(), max_price=None, accepts=(), has=(), outputs=(), max_duration=None,
            max_outputs=None, added="",
        )  # fmt: skip

    def params(self, **changes) -> list[tuple[str, str]]:
        """Query pairs in canonical order, defaults left out."""
        # A view of this state with `changes` applied, without building a new GridQuery:
        # the facet rail asks for a URL per option (hundreds per page).
        state = _Changed(self, changes) if changes else self
        pairs: list[tuple[str, str]] = []
        if state.q:
            pairs.append(("q", state.q))
        if state.category:
            pairs.append(("category", state.category))
        if state.status != "active":
            pairs.append(("status", state.status))
        pairs += [("license", v) for v in state.licenses]
        pairs += [("tag", v) for v in state.tags]
        if state.group:
            pairs.append(("group", state.group))
        if state.kind:
            pairs.append(("kind", state.kind))
        pairs += [("unit", v) for v in state.units]
        if state.max_price is not None:
            pairs.append(("max_price", price_param(state.max_price)))
        for name in CAPABILITY_FACETS:
            pairs += [(name, v) for v in getattr(state, name)]
        for name in LIMIT_FILTERS:
            if (value := getattr(state, name)) is not None:
                pairs.append((name, _number_text(value)))
        if state.added:
            pairs.append(("added", state.added))
        if state.sort != "default":
            pairs.append(("sort", state.sort))
        if state.page != 1:
            pairs.append(("page", str(state.page)))
        pairs += [("compare", v) for v in state.compare]
        return pairs

    def url(self, **changes) -> str:
        """`?…` for this state with `changes` applied; paging restarts unless `page` is given."""
        changes.setdefault("page", 1)
        query = urlencode(self.params(**changes))
        return f"?{query}" if query else "?"


GRID_FIELDS = frozenset(f.name for f in fields(GridQuery))


class _Changed:
    """A GridQuery's fields with some replaced (unknown names are an error, as in replace)."""

    __slots__ = ("_changes", "_query")

    def __init__(self, query: GridQuery, changes: dict) -> None:
        if unknown := changes.keys() - GRID_FIELDS:
            raise TypeError(f"GridQuery has no field {sorted(unknown)[0]!r}")
        self._query, self._changes = query, changes

    def __getattr__(self, name: str):
        changes = self._changes
        return changes[name] if name in changes else getattr(self._query, name)


def _number_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def price_param(value: Decimal) -> str:
    """A max price as the URL writes it: 0.05, 1, 0 (never 5E-2 or 1.00)."""
    text = f"{value.normalize():f}"
    return text


def _values(data: Mapping, name: str) -> list[str]:
    getlist = getattr(data, "getlist", None)
    raw = getlist(name) if getlist else ([data[name]] if name in data else [])
    return [clean_text(v) for v in raw if isinstance(v, str)]


def parse_grid_query(data: Mapping) -> GridQuery:
    """Read GET parameters; invalid values are dropped with a message, never an error."""
    messages: list[str] = []

    def single(name: str) -> str:
        values = [v for v in _values(data, name) if v]
        if len(values) > 1:
            messages.append(f"Only one “{name}” is used at a time; kept the first.")
        value = values[0] if values else ""
        if len(value) > MAX_VALUE_LENGTH:
            messages.append(f"“{name}” was longer than {MAX_VALUE_LENGTH} characters and was cut.")
            value = value[:MAX_VALUE_LENGTH]
        return value

    def repeated(name: str) -> list[str]:
        values = list(dict.fromkeys(v[:MAX_VALUE_LENGTH] for v in _values(data, name) if v))
        if len(values) > MAX_REPEATS:
            messages.append(f"At most {MAX_REPEATS} “{name}” values are used.")
        return values[:MAX_REPEATS]

    q = single("q")
    status = single("status") or "active"
    if status not in STATUSES:
        messages.append(f"Unknown status “{status}”: showing active models.")
        status = "active"
    sort = single("sort") or "default"
    if sort not in SORTS:
        messages.append(f"Unknown sort “{sort}”: showing the API's order.")
        sort = "default"
    kind = single("kind")
    if kind and kind not in KINDS:
        messages.append(f"Unknown kind “{kind}”: choose inference or training.")
        kind = ""
    added = single("added")
    if added and added not in ADDED:
        messages.append(f"Unknown “added” value “{added}”: choose 7, 30 or new.")
        added = ""
    licenses = []
    for value in repeated("license"):
        if value in LICENSES:
            licenses.append(value)
        else:
            messages.append(f"Unknown license “{value}” was ignored.")
    units = []
    for value in repeated("unit"):
        if value in UNIT_KEYS:
            units.append(value)
        else:
            messages.append(
                f"Unknown unit “{value}” was ignored: choose one of {', '.join(UNIT_KEYS)}."
            )
    max_price_text = single("max_price")
    max_price = parse_max_price(max_price_text) if max_price_text else None
    if max_price_text and max_price is None:
        messages.append(
            f"“{max_price_text}” was ignored: max_price must be a non-negative number of dollars."
        )
    page_text = single("page") or "1"
    # isdecimal() alone would let "²" or "٣" through to int().
    page = (
        int(page_text)
        if page_text.isascii() and page_text.isdecimal() and len(page_text) < 6
        else 0
    )
    if not 1 <= page <= MAX_PAGE:
        messages.append(f"“{page_text}” is not a page number: showing the first page.")
        page = 1
    capability_values: dict[str, tuple[str, ...]] = {}
    for name, known in CAPABILITY_FACETS.items():
        kept = []
        for value in repeated(name):
            if value in known:
                kept.append(value)
            else:
                messages.append(f"Unknown “{name}” value “{value}” was ignored.")
        capability_values[name] = tuple(kept)
    limits: dict[str, float | int | None] = {}
    for name, (_, _unit, largest) in LIMIT_FILTERS.items():
        text = single(name)
        limits[name] = None
        if not text:
            continue
        number = _positive_number(text, largest, whole=name == "max_outputs")
        if number is None:
            kind = "a whole number" if name == "max_outputs" else "a number of seconds"
            messages.append(f"“{name}” must be {kind} from 1 to {largest:,}; “{text}” was ignored.")
        limits[name] = number
    compare = []
    for value in repeated("compare"):
        if not is_endpoint_id(value):
            messages.append(f"“{value}” is not an endpoint id and was left out of the comparison.")
        elif len(compare) < MAX_COMPARE:
            compare.append(value)
        else:
            messages.append(f"Compare takes at most {MAX_COMPARE} models; “{value}” was left out.")
    return GridQuery(
        q=q,
        category=single("category"),
        status=status,
        licenses=tuple(licenses),
        tags=tuple(repeated("tag")),
        group=single("group"),
        kind=kind,
        units=tuple(units),
        max_price=max_price,
        added=added,
        sort=sort,
        page=page,
        compare=tuple(compare),
        **capability_values,
        max_duration=limits["max_duration"],
        max_outputs=limits["max_outputs"],
        messages=tuple(messages),
    )


def _positive_number(text: str, largest: int, *, whole: bool) -> float | int | None:
    """A number in 1..largest written in ASCII digits (one decimal point unless `whole`)."""
    if not text.isascii() or len(text) > 12:
        return None
    integer, _, fraction = text.partition(".")
    if not integer.isdecimal() or (fraction and (whole or not fraction.isdecimal())):
        return None
    value = float(text) if fraction else int(integer)
    if not 1 <= value <= largest:
        return None
    return value if not fraction else (int(value) if value.is_integer() else value)


# --- Filtering, facets, sorting ----------------------------------------------------------


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
    deprecated: bool
    date: str
    updated: str
    name: str
    capabilities: Capabilities | None = None  # None: schema unknown
    # The unit class's place in fal.units' order: vague, then unpriced, last.
    price_rank: int = NO_PRICE_RANK
    unit_class: str = ""  # "" when unpriced
    per_class: Decimal | None = None  # the price of one of the class; None: vague or unpriced


def row_for(
    model: Model,
    *,
    capabilities: Capabilities | None = None,
    price: CardPrice | None = None,
    share: Callable[[Any], Any] = lambda value: value,
) -> Row:
    """`share` may return an equal value already in memory (see catalog.index.Shared)."""
    meta = model.metadata
    priced = (
        {"price_rank": price.rank, "unit_class": price.unit_class, "per_class": price.per_class}
        if price is not None
        else {}
    )
    if meta is None:
        return Row(
            model, "unknown", frozenset(), (), "", "", "", "", False, "", "",
            model.endpoint_id.casefold(), capabilities, **priced,
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
        deprecated=meta.status == "deprecated",
        date=meta.date,
        updated=meta.updated_at,
        name=(meta.display_name or model.endpoint_id).casefold(),
        capabilities=capabilities,
        **priced,
    )


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class LimitFilter:
    """A range filter on a stated limit, with what the current view holds."""

    name: str
    label: str
    unit: str
    value: float | int | None
    largest: float | int | None  # the largest limit among the models shown
    stated: int  # how many models shown state this limit
    clear_url: str


@dataclass
class GridResult:
    models: list[Model]  # every match, sorted
    total: int
    facets: dict[str, list[FacetOption]]
    groups: list[FacetOption]
    schema_unknown: int = 0  # models matching every other filter that have no schema
    limits: list[LimitFilter] = field(default_factory=list)

    @property
    def capability_facets(self) -> list[tuple[str, str, list[FacetOption], bool]]:
        """(URL name, title, options, whether it starts open) for the rail: "Has" is long
        and folded unless one of its options is chosen."""
        return [
            (name, name.capitalize(), self.facets[name],
             name != "has" or any(o.selected for o in self.facets[name]))
            for name in CAPABILITY_FACETS
            if name in self.facets
        ]  # fmt: skip


def browse(
    query: GridQuery, rows: Sequence[Row], added_ids: frozenset[str] | None = None
) -> GridResult:
    """Filter, count and sort `rows` (already narrowed and ranked by the search, if any).

    Facets are disjunctive: each option's count is what selecting it would show. With
    `query.added`, `added_ids` are the endpoints added in that window (the caller reads
    them from the history): only those are shown and counted.
    """
    if query.added:
        wanted = added_ids or frozenset()
        rows = [row for row in rows if row.model.endpoint_id in wanted]
    want_licenses = set(query.licenses)
    want_tags = {t.casefold() for t in query.tags}
    want_group = query.group.casefold()
    want_kind = query.kind
    want_category = query.category.casefold()
    want_units = set(query.units)
    max_price = query.max_price
    by_unit, by_price = bool(want_units), max_price is not None
    active_only = query.status == "active"
    deprecated_only = query.status == "deprecated"
    by_license, by_tags, by_group, by_kind, by_category = (
        bool(want_licenses), bool(want_tags), bool(want_group), bool(want_kind),
        bool(want_category),
    )  # fmt: skip
    want_accepts, want_has, want_outputs = (
        frozenset(query.accepts), frozenset(query.has), frozenset(query.outputs),
    )  # fmt: skip
    by_capability = query.has_capability_filters
    min_duration, min_outputs = query.max_duration, query.max_outputs

    licenses: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    tag_labels: dict[str, str] = {}
    groups: Counter[str] = Counter()
    group_labels: dict[str, str] = {}
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    category_labels: dict[str, str] = {}
    capability_counts = {name: Counter() for name in CAPABILITY_FACETS}
    schema_unknown = 0
    limit_seen = {name: [] for name in LIMIT_FILTERS}
    units: Counter[str] = Counter()
    matched: list[Row] = []
    # The hot loop over every model of the index: checks inlined on purpose.
    for row in rows:
        status_fail = (active_only and row.deprecated) or (deprecated_only and not row.deprecated)
        license_fail = by_license and row.license not in want_licenses
        tag_fail = by_tags and not want_tags <= row.tags
        group_fail = by_group and row.group_key != want_group
        kind_fail = by_kind and row.kind != want_kind
        category_fail = by_category and row.category.casefold() != want_category
        unit_fail = by_unit and row.unit_class not in want_units
        # A vague or missing price cannot be held to a maximum: it fails one.
        price_fail = by_price and (row.per_class is None or row.per_class > max_price)
        caps = row.capabilities
        capability_fail = by_capability and (
            caps is None
            or not want_accepts <= caps.accepts
            or not want_has <= caps.has
            or not want_outputs <= caps.outputs
            or (min_duration is not None and (caps.max_duration or 0) < min_duration)
            or (min_outputs is not None and (caps.max_outputs or 0) < min_outputs)
        )
        not_capability = (
            license_fail + tag_fail + group_fail + kind_fail + category_fail + unit_fail
            + price_fail
        )  # fmt: skip
        others = not_capability + capability_fail
        if not others:
            statuses["deprecated" if row.deprecated else "active"] += 1
        if not not_capability and not status_fail and caps is None:
            schema_unknown += 1
        if not others and not status_fail:
            matched.append(row)
            for tag_key, tag in row.tag_pairs:
                tags[tag_key] += 1
                if tag_key not in tag_labels:
                    tag_labels[tag_key] = tag
            if caps is not None:
                capability_counts["accepts"].update(caps.accepts)
                capability_counts["has"].update(caps.has)
                capability_counts["outputs"].update(caps.outputs)
                if caps.max_duration is not None:
                    limit_seen["max_duration"].append(caps.max_duration)
                if caps.max_outputs is not None:
                    limit_seen["max_outputs"].append(caps.max_outputs)
        failed = status_fail + others
        if failed - license_fail == 0:
            licenses[row.license] += 1
        if failed - group_fail == 0 and row.group_key:
            groups[row.group_key] += 1
            if row.group_key not in group_labels:
                group_labels[row.group_key] = row.group_name
        if failed - kind_fail == 0:
            kinds[row.kind] += 1
        if failed - unit_fail == 0 and row.unit_class:
            units[row.unit_class] += 1
        if failed - category_fail == 0 and row.category:
            folded = row.category.casefold()
            categories[folded] += 1
            if folded not in category_labels:
                category_labels[folded] = row.category
    if want_category and want_category not in categories:
        categories[want_category] = 0
        category_labels[want_category] = query.category

    _sort(matched, query.sort)

    facets = {
        "category": [
            FacetOption(category_labels[c], category_labels[c], n, c == want_category)
            for c, n in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "license": [FacetOption(v, v, licenses[v], v in want_licenses) for v in LICENSES],
        "kind": [FacetOption(v, v, kinds[v], v == query.kind) for v in KINDS],
        "unit": [
            FacetOption(v, UNIT_LABELS[v], units[v], v in want_units)
            for v in UNIT_KEYS
            if units[v] or v in want_units
        ],
        "status": [
            FacetOption(v, v, statuses[v], v == query.status) for v in ("active", "deprecated")
        ],
        "tag": [
            FacetOption(tag_labels[k], tag_labels[k], n, k in want_tags)
            # Selected tags first, so that a shortened list never drops one.
            for k, n in sorted(tags.items(), key=lambda kv: (kv[0] not in want_tags, -kv[1], kv[0]))
        ][:MAX_TAGS],
    }
    for wanted in query.tags:  # a selected tag stays visible (and removable) at count 0
        if wanted.casefold() not in tags:
            facets["tag"].insert(0, FacetOption(wanted, wanted, 0, True))
    # Capabilities combine with AND: a count is what adding the option would show.
    for name, known in CAPABILITY_FACETS.items():
        chosen = getattr(query, name)
        facets[name] = [
            FacetOption(v, label, capability_counts[name][v], v in chosen)
            for v, label in known.items()
        ]
    limits = [
        LimitFilter(
            name, label, unit, getattr(query, name),
            max(limit_seen[name]) if limit_seen[name] else None,
            len(limit_seen[name]), query.url(**{name: None}),
        )
        for name, (label, unit, _) in LIMIT_FILTERS.items()
    ]  # fmt: skip
    group_options = [
        FacetOption(k, group_labels[k], n, k == want_group)
        for k, n in sorted(groups.items(), key=lambda kv: (group_labels[kv[0]].casefold(), kv[0]))
    ]
    if want_group and want_group not in groups:
        group_options.insert(0, FacetOption(query.group, query.group, 0, True))
    return GridResult(
        models=[row.model for row in matched],
        total=len(matched),
        facets=facets,
        groups=group_options,
        schema_unknown=schema_unknown,
        limits=limits,
    )


def _sort(rows: list[Row], sort: str) -> None:
    if sort == "newest":
        rows.sort(key=lambda r: r.date, reverse=True)
    elif sort == "updated":
        rows.sort(key=lambda r: r.updated, reverse=True)
    elif sort == "name":
        rows.sort(key=lambda r: r.name)
    elif sort == "price":
        # Within a unit class, cheapest first; classes in fal.units' order, vague then
        # unpriced last; ties keep fal's (or the search's) order.
        rows.sort(key=lambda r: (r.price_rank, r.per_class if r.per_class is not None else 0))


def _toggle_url(query: GridQuery, name: str, value: str) -> str:
    if name == "license":
        values = tuple(v for v in query.licenses if v != value)
        return query.url(licenses=values if value in query.licenses else (*query.licenses, value))
    if name == "unit":
        values = tuple(v for v in query.units if v != value)
        return query.url(units=values if value in query.units else (*query.units, value))
    if name in CAPABILITY_FACETS:
        chosen = getattr(query, name)
        kept = tuple(v for v in chosen if v != value)
        return query.url(**{name: kept if len(kept) != len(chosen) else (*chosen, value)})
    if name == "tag":
        folded = value.casefold()
        kept = tuple(v for v in query.tags if v.casefold() != folded)
        return query.url(tags=kept if len(kept) != len(query.tags) else (*query.tags, value))
    current = getattr(query, name)
    if name == "status":
        return query.url(status="active" if current == value else value)
    return query.url(**{name: "" if current.casefold() == value.casefold() else value})


def sort_options(query: GridQuery) -> list[tuple[str, str]]:
    """(value, label) of each sort, naming the default for what it is in this view."""
    return [(k, "Best match" if k == "default" and query.q else v) for k, v in SORTS.items()]


def active_filters(query: GridQuery) -> list[tuple[str, str]]:
    """(label, URL without it) for each active filter: the removable chips."""
    chips = []
    if query.q:
        chips.append((f"“{query.q}”", query.url(q="")))
    if query.category:
        chips.append((query.category, query.url(category="")))
    if query.status != "active":
        chips.append((f"status: {query.status}", query.url(status="active")))
    for value in query.licenses:
        chips.append((f"license: {value}", _toggle_url(query, "license", value)))
    for value in query.tags:
        chips.append((f"tag: {value}", _toggle_url(query, "tag", value)))
    if query.group:
        chips.append((f"group: {query.group}", query.url(group="")))
    if query.kind:
        chips.append((f"kind: {query.kind}", query.url(kind="")))
    for value in query.units:
        chips.append((f"unit: {UNIT_LABELS[value]}", _toggle_url(query, "unit", value)))
    if query.max_price is not None:
        chips.append((f"at most ${price_param(query.max_price)}", query.url(max_price=None)))
    for name, known in CAPABILITY_FACETS.items():
        for value in getattr(query, name):
            chips.append((f"{name}: {known[value]}", _toggle_url(query, name, value)))
    for name, (label, unit, _) in LIMIT_FILTERS.items():
        if (value := getattr(query, name)) is not None:
            chips.append(
                (f"{label.lower()} {_number_text(value)}{unit}", query.url(**{name: None}))
            )
    if query.added:
        chips.append((ADDED[query.added], query.url(added="")))
    return chips
