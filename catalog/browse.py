"""The grid's view state: parse the URL, filter, count facets, sort and page the models.

The API filters only by q, category and status; license, tag, group and kind filters,
facet counts, sorting and paging happen here, on every page of the upstream result.
Pure functions over `Model`s: no I/O and no Django, so they are easy to test and fast.
"""

from __future__ import annotations

import threading
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from catalog.cards import fold_tags, license_of
from fal.types import Model, is_endpoint_id

PAGE_SIZE = 48
MAX_TAGS = 60  # the rail lists the most common tags (selected ones always)
MAX_Q_LENGTH = 200
MAX_PAGE = 10_000
MAX_COMPARE = 6
STATUSES = ("active", "deprecated", "all")
SORTS = {"default": "API order", "newest": "Newest", "updated": "Recently updated", "name": "Name"}
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
    def upstream_status(self) -> str:
        # Entries without a status (metadata is optional) count as active, so "active" is
        # filtered here rather than upstream; "deprecated" is asked of the API itself.
        return "deprecated" if self.status == "deprecated" else ""

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
class _Row:
    """What filtering needs of one model, computed once per upstream result."""

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


def _row(model: Model) -> _Row:
    meta = model.metadata
    if meta is None:
        return _Row(
            model,
            "unknown",
            frozenset(),
            (),
            "",
            "",
            "",
            "",
            False,
            "",
            "",
            model.endpoint_id.casefold(),
        )
    labels = fold_tags(meta.tags)
    return _Row(
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


_rows_memo: dict[int, tuple[Sequence[Model], list[_Row]]] = {}
_rows_lock = threading.Lock()


def _rows(models: Sequence[Model]) -> list[_Row]:
    """Rows for a result list, memoised while the same list object is in use (warm caches)."""
    key = id(models)
    with _rows_lock:
        hit = _rows_memo.get(key)
        if hit is not None and hit[0] is models:
            return hit[1]
    rows = [_row(m) for m in models]
    with _rows_lock:
        if len(_rows_memo) >= 16:
            _rows_memo.pop(next(iter(_rows_memo)))
        _rows_memo[key] = (models, rows)
    return rows


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


_grid_memo: OrderedDict[tuple, tuple[Sequence[Model], Sequence[Model] | None, GridResult]] = (
    OrderedDict()
)
GRID_MEMO_SIZE = 64


def browse(
    query: GridQuery, models: Sequence[Model], category_models: Sequence[Model] | None = None
) -> GridResult:
    """Filter, count and sort. `category_models`: the same search without `category`, for
    category counts (None: count categories in `models`).

    Memoised per query while the same result lists are in use: services hands warm
    requests the very same lists, so a repeated view, or its next page, costs nothing here.
    """
    # Keyed by the query alone, so that a refetched list replaces the entry of the list it
    # supersedes rather than pinning it in memory until 64 others have come along.
    key = tuple(query.params(page=1))
    with _rows_lock:
        hit = _grid_memo.get(key)
        if hit is not None and hit[0] is models and hit[1] is category_models:
            _grid_memo.move_to_end(key)
            return hit[2]
    grid = _browse(query, models, category_models)
    with _rows_lock:
        _grid_memo[key] = (models, category_models, grid)
        while len(_grid_memo) > GRID_MEMO_SIZE:
            _grid_memo.popitem(last=False)
    return grid


def _browse(
    query: GridQuery, models: Sequence[Model], category_models: Sequence[Model] | None
) -> GridResult:
    want_licenses = set(query.licenses)
    want_tags = {t.casefold() for t in query.tags}
    want_group = query.group.casefold()
    want_kind = query.kind
    active_only = query.status == "active"
    by_license, by_tags, by_group, by_kind = (
        bool(want_licenses), bool(want_tags), bool(want_group), bool(want_kind)
    )  # fmt: skip

    def failures(row: _Row) -> tuple[bool, bool, bool, bool, bool]:
        return (
            active_only and row.deprecated,
            by_license and row.license not in want_licenses,
            by_tags and not want_tags <= row.tags,
            by_group and row.group_key != want_group,
            by_kind and row.kind != want_kind,
        )

    licenses: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    tag_labels: dict[str, str] = {}
    groups: Counter[str] = Counter()
    group_labels: dict[str, str] = {}
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    matched: list[_Row] = []
    # The hot loop over every model of the upstream result: checks inlined on purpose.
    for row in _rows(models):
        status_fail = active_only and row.deprecated
        license_fail = by_license and row.license not in want_licenses
        tag_fail = by_tags and not want_tags <= row.tags
        group_fail = by_group and row.group_key != want_group
        kind_fail = by_kind and row.kind != want_kind
        others = license_fail + tag_fail + group_fail + kind_fail
        if not others:
            statuses["deprecated" if row.deprecated else "active"] += 1
        if not others and not status_fail:
            matched.append(row)
            for tag_key, tag in row.tag_pairs:
                tags[tag_key] += 1
                if tag_key not in tag_labels:
                    tag_labels[tag_key] = tag
        # Disjunctive facets: an option's count is what selecting it would show.
        if status_fail + others - license_fail == 0:
            licenses[row.license] += 1
        if status_fail + others - group_fail == 0 and row.group_key:
            groups[row.group_key] += 1
            if row.group_key not in group_labels:
                group_labels[row.group_key] = row.group_name
        if status_fail + others - kind_fail == 0:
            kinds[row.kind] += 1

    categories: Counter[str] = Counter()
    for row in _rows(category_models if category_models is not None else models):
        if not any(failures(row)) and row.category:
            categories[row.category] += 1
    if query.category and query.category not in categories:
        categories[query.category] = 0

    _sort(matched, query.sort)

    def option(name: str, value: str, label: str, count: int, selected: bool) -> FacetOption:
        return FacetOption(value, label, count, selected, _toggle_url(query, name, value))

    facets = {
        "category": [
            option("category", c, c, n, c == query.category)
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


def _sort(rows: list[_Row], sort: str) -> None:
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
