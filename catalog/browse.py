"""The grid's view state: parse the URL, filter, count facets and sort the models.

Every filter, facet count and sort happens here, over the rows of the catalog index (the
search in catalog.search narrows and ranks them first when there is a `q`). Pure
functions: no I/O and no Django, so they are easy to test and fast. A model without a
status counts as active.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from catalog.cards import license_of, model_tags
from catalog.compare import MAX_MODELS as MAX_COMPARE
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
}
LICENSES = ("commercial", "research", "private", "unknown")
KINDS = ("inference", "training")
# Long enough for any real value; guards the page against pathological input.
MAX_VALUE_LENGTH = 200
MAX_REPEATS = 20


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
    sort: str = "default"
    page: int = 1
    compare: tuple[str, ...] = ()
    messages: tuple[str, ...] = field(default=(), compare=False)

    @property
    def has_filters(self) -> bool:
        return bool(
            self.q or self.category or self.licenses or self.tags or self.group or self.kind
            or self.status != "active"
        )  # fmt: skip

    def params(self, **changes) -> list[tuple[str, str]]:
        """Query pairs in canonical order, defaults left out."""
        state = replace(self, **changes) if changes else self
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
    licenses = []
    for value in repeated("license"):
        if value in LICENSES:
            licenses.append(value)
        else:
            messages.append(f"Unknown license “{value}” was ignored.")
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
        sort=sort,
        page=page,
        compare=tuple(compare),
        messages=tuple(messages),
    )


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


def row_for(model: Model) -> Row:
    meta = model.metadata
    if meta is None:
        return Row(
            model, "unknown", frozenset(), (), "", "", "", "", False, "", "",
            model.endpoint_id.casefold(),
        )  # fmt: skip
    labels = model_tags(meta)  # the cards' rule: the facet offers the tags cards show
    return Row(
        model=model,
        license=license_of(meta.license_type),
        tags=frozenset(t.casefold() for t in labels),
        tag_pairs=tuple((t.casefold(), t) for t in labels),
        group_key=meta.group.key.casefold() if meta.group else "",
        group_name=meta.group.key if meta.group else "",
        kind=meta.kind or "inference",
        category=meta.category,
        deprecated=meta.status == "deprecated",
        date=meta.date,
        updated=meta.updated_at,
        name=(meta.display_name or model.endpoint_id).casefold(),
    )


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool
    url: str  # the grid URL with this option toggled


@dataclass
class GridResult:
    models: list[Model]  # every match, sorted
    total: int
    facets: dict[str, list[FacetOption]]
    groups: list[FacetOption]


def browse(query: GridQuery, rows: Sequence[Row]) -> GridResult:
    """Filter, count and sort `rows` (already narrowed and ranked by the search, if any).

    Facets are disjunctive: each option's count is what selecting it would show.
    """
    want_licenses = set(query.licenses)
    want_tags = {t.casefold() for t in query.tags}
    want_group = query.group.casefold()
    want_kind = query.kind
    want_category = query.category.casefold()
    active_only = query.status == "active"
    deprecated_only = query.status == "deprecated"
    by_license, by_tags, by_group, by_kind, by_category = (
        bool(want_licenses), bool(want_tags), bool(want_group), bool(want_kind),
        bool(want_category),
    )  # fmt: skip

    licenses: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    tag_labels: dict[str, str] = {}
    groups: Counter[str] = Counter()
    group_labels: dict[str, str] = {}
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    category_labels: dict[str, str] = {}
    matched: list[Row] = []
    # The hot loop over every model of the index: checks inlined on purpose.
    for row in rows:
        status_fail = (active_only and row.deprecated) or (deprecated_only and not row.deprecated)
        license_fail = by_license and row.license not in want_licenses
        tag_fail = by_tags and not want_tags <= row.tags
        group_fail = by_group and row.group_key != want_group
        kind_fail = by_kind and row.kind != want_kind
        category_fail = by_category and row.category.casefold() != want_category
        others = license_fail + tag_fail + group_fail + kind_fail + category_fail
        if not others:
            statuses["deprecated" if row.deprecated else "active"] += 1
        if not others and not status_fail:
            matched.append(row)
            for tag_key, tag in row.tag_pairs:
                tags[tag_key] += 1
                if tag_key not in tag_labels:
                    tag_labels[tag_key] = tag
        failed = status_fail + others
        if failed - license_fail == 0:
            licenses[row.license] += 1
        if failed - group_fail == 0 and row.group_key:
            groups[row.group_key] += 1
            if row.group_key not in group_labels:
                group_labels[row.group_key] = row.group_name
        if failed - kind_fail == 0:
            kinds[row.kind] += 1
        if failed - category_fail == 0 and row.category:
            folded = row.category.casefold()
            categories[folded] += 1
            if folded not in category_labels:
                category_labels[folded] = row.category
    if want_category and want_category not in categories:
        categories[want_category] = 0
        category_labels[want_category] = query.category

    _sort(matched, query.sort)

    def option(name: str, value: str, label: str, count: int, selected: bool) -> FacetOption:
        return FacetOption(value, label, count, selected, _toggle_url(query, name, value))

    facets = {
        "category": [
            option("category", category_labels[c], category_labels[c], n, c == want_category)
            for c, n in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "license": [option("license", v, v, licenses[v], v in want_licenses) for v in LICENSES],
        "kind": [option("kind", v, v, kinds[v], v == query.kind) for v in KINDS],
        "status": [
            option("status", v, v, statuses[v], v == query.status) for v in ("active", "deprecated")
        ],
        "tag": [
            option("tag", tag_labels[k], tag_labels[k], n, k in want_tags)
            # Selected tags first, so that a shortened list never drops one.
            for k, n in sorted(tags.items(), key=lambda kv: (kv[0] not in want_tags, -kv[1], kv[0]))
        ][:MAX_TAGS],
    }
    for wanted in query.tags:  # a selected tag stays visible (and removable) at count 0
        if wanted.casefold() not in tags:
            facets["tag"].insert(0, option("tag", wanted, wanted, 0, True))
    group_options = [
        option("group", k, group_labels[k], n, k == want_group)
        for k, n in sorted(groups.items(), key=lambda kv: (group_labels[kv[0]].casefold(), kv[0]))
    ]
    if want_group and want_group not in groups:
        group_options.insert(0, option("group", query.group, query.group, 0, True))
    return GridResult(
        models=[row.model for row in matched],
        total=len(matched),
        facets=facets,
        groups=group_options,
    )


def _sort(rows: list[Row], sort: str) -> None:
    if sort == "newest":
        rows.sort(key=lambda r: r.date, reverse=True)
    elif sort == "updated":
        rows.sort(key=lambda r: r.updated, reverse=True)
    elif sort == "name":
        rows.sort(key=lambda r: r.name)


def _toggle_url(query: GridQuery, name: str, value: str) -> str:
    if name == "license":
        values = tuple(v for v in query.licenses if v != value)
        return query.url(licenses=values if value in query.licenses else (*query.licenses, value))
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
    return chips
