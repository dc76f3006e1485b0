"""The grid's facets as data: `FACETS`, one entry per filter, and the rail they make."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any, Protocol

from catalog.cards import LICENSES as KNOWN_LICENSES
from catalog.prices import UNIT_KEYS, UNIT_LABELS, parse_max_price
from catalog.rail import SCHEMA, Box, Control, Panel, RailOption, layout, option
from fal.capabilities import ACCEPTS, HAS, OUTPUTS
from fal.units import VAGUE, format_money

# What a facet's counts are taken over (`Facet.counts`): the rows that pass every other
# facet (a choice that replaces or adds to this facet's values: each option's count is what
# choosing it would show), or the matches themselves (a value that narrows them further).
OTHERS, MATCHED = "others", "matched"
MAX_TAGS = 60  # the rail lists the most common tags (selected ones always)
SHOWN_TAGS = 10  # the rest fold under "More tags"

_SHOWN_PRICE = attrgetter("shown_price")
_JOB_PRICE = attrgetter("job_price")
_TAG_PAIRS = attrgetter("tag_pairs")
_TAGS = attrgetter("tags")
_ENDPOINT_ID = attrgetter("model.endpoint_id")


# What catalog.browse hands the facets; described here, so that this module needs nothing
# of that one. Rows are catalog.browse.Row: a facet reads them by attribute name (`key`).
Rows = Sequence[Any]
Test = Callable[[Rows], Iterable[bool]]  # a facet's test for one query: does each row pass


class Reader(Protocol):
    """How a facet reads its GET parameters (catalog.browse.Reader)."""

    def single(self, name: str) -> str: ...
    def repeated(self, name: str) -> list[str]: ...
    def warn(self, name: str, message: str) -> None: ...


class Query(Protocol):
    """The grid's state (catalog.browse.GridQuery)."""

    @property
    def has_capability_filters(self) -> bool: ...
    def value(self, name: str) -> Any: ...
    def url(self, **changes: Any) -> str: ...


class Counted(Protocol):
    """A grid's counts (catalog.browse.GridResult)."""

    facets: dict[str, Any]
    schema_unknown: int


@dataclass(frozen=True)
class Context:
    """What filtering needs besides the rows and the query."""

    added_ids: frozenset[str] | None = None  # the endpoints added in the `added` window
    # The team's figures of the last 30 days (usage.figures.TeamUsage's): endpoint id →
    # (spend, calls) of each endpoint it used; None before any usage sync.
    used: Mapping[str, tuple[Decimal, int]] | None = None


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Stated:
    """How many of the matches state a limit, and the largest they state."""

    count: int
    largest: float | int | None


# --- Facets -----------------------------------------------------------------------------


class Facet:
    """One filter of the grid: its URL name and default, how it reads, tests, counts, is
    removed as a chip and is shown in the rail. Subclasses are the shapes a facet takes."""

    default: Any = ""  # the value when the URL has none; left out of every URL
    counts = ""  # OTHERS, MATCHED, or "" for no counts
    schema = False  # a filter on what the schema states: a model without one fails it

    def __init__(self, name: str, *, box: Box | None = None, chip: str = "{name}: {label}"):
        self.name, self.box, self.chip = name, box, chip

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def parse(self, read: Reader) -> Any:
        raise NotImplementedError

    def pairs(self, value: Any) -> list[tuple[str, str]]:
        """The URL's pairs for a value other than the default."""
        return [(self.name, value)]

    def label(self, value: Any) -> str:
        return str(value)

    def chips(self, query: Query, value: Any) -> list[tuple[str, str]]:
        """(label, URL without it) for a value other than the default."""
        label = self.chip.format(name=self.name, label=self.label(value))
        return [(label, query.url(**{self.name: self.default}))]

    def test(self, value: Any, context: Context) -> Test | None:
        """The test for this value, built once per query; None when it lets every row through."""
        raise NotImplementedError

    def test_choosing(self, other: str, value: Any) -> Test | None:
        """The test while the options of the facet named `other` are counted, when choosing
        one would change what this value means; None when it would not."""
        return None

    def rail_value(self, query: Query) -> Any:
        """The value its rail control shows."""
        return query.value(self.name)

    def summary(self, value: Any, rows: Rows, context: Context) -> Any:
        """What the rail shows of this facet, from the rows it counts (`counts`)."""
        return None

    def control(self, value: Any, summary: Any, empty: str = "") -> Control:
        raise NotImplementedError


class _FixedChoices(Facet):
    """Values from a fixed table (`choices`: value → label), compared with a row attribute;
    an unknown one is dropped with the message `unknown`."""

    counts = OTHERS

    def __init__(
        self,
        name: str,
        *,
        choices: Mapping[str, str],
        unknown: str,
        key: str = "",  # the Row attribute it compares and counts
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self.key, self.choices, self.unknown = attrgetter(key or name), choices, unknown


class Pick(_FixedChoices):
    """One of a few fixed values (radio buttons)."""

    def __init__(
        self,
        name: str,
        *,
        default: str = "",
        unfiltered: str = "",  # the value that lets every row through (shown uncounted)
        any_choice: tuple[str, str] = ("", ""),  # (id suffix, label) of the "" choice
        chip_labels: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self.default, self.unfiltered, self.any_choice = default, unfiltered, any_choice
        self.chip_labels = chip_labels

    def parse(self, read: Reader) -> str:
        value = read.single(self.name) or self.default
        if value != self.default and value not in self.choices:
            read.warn(self.name, self.unknown.format(name=self.name, value=value))
            return self.default
        return value

    def label(self, value: str) -> str:
        return self.chip_labels[value] if self.chip_labels else value

    def test(self, value: str, context: Context) -> Test | None:
        if value == self.unfiltered:
            return None
        is_value, key = value.__eq__, self.key
        return lambda rows: map(is_value, map(key, rows))

    def summary(self, value: str, rows: Rows, context: Context) -> list[FacetOption]:
        counts = Counter(map(self.key, rows))
        return [
            FacetOption(v, label, counts[v], v == value)
            for v, label in self.choices.items()
            if v != self.unfiltered
        ]

    def control(self, value: str, summary: Any, empty: str = "") -> Control:
        counts = {o.value: o.count for o in summary} if summary is not None else {}
        options = [
            option(v, label, f"{self.name}-{v}", v == value, counts.get(v))
            for v, label in self.choices.items()
        ]
        if not self.unfiltered:
            suffix, label = self.any_choice
            options.insert(0, option("", label, f"{self.name}-{suffix}", not value))
        return Control(self.name, "radio", options)


class Added(Pick):
    """Models added in a window; the caller reads which from the history (`Context`)."""

    counts = ""

    def test(self, value: str, context: Context) -> Test | None:
        if not value:
            return None
        added = (context.added_ids or frozenset()).__contains__
        return lambda rows: map(added, map(_ENDPOINT_ID, rows))


class Used(Pick):
    """Models the team used in the last 30 days (the caller hands their ids in `Context`)."""

    def test(self, value: str, context: Context) -> Test | None:
        if not value:
            return None
        used = (context.used or {}).__contains__
        return lambda rows: map(used, map(_ENDPOINT_ID, rows))

    def summary(self, value: str, rows: Rows, context: Context) -> list[FacetOption]:
        used = (context.used or {}).__contains__
        count = sum(map(used, map(_ENDPOINT_ID, rows)))
        return [FacetOption(v, label, count, v == value) for v, label in self.choices.items()]

    def control(self, value: str, summary: Any, empty: str = "") -> Control:
        # `empty`: there are no figures to filter by (no usage synced yet).
        return (
            Control(self.name, "radio", [], empty=empty)
            if empty
            else super().control(value, summary)
        )


class Among(Facet):
    """One of the values the rows have (matched case-insensitively): options as the first
    of them spells each, with the chosen value kept even when no row has it."""

    counts = OTHERS

    def __init__(
        self,
        name: str,
        *,
        key: str,  # the case-folded value
        spelled: str,  # the value as written
        by_count: bool = True,  # most common first; else by name, a missing choice first
        option_value: str = "spelled",  # or "key": what an option puts in the URL
        any_label: str = "All",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self.key, self.spelled, self.by_count = attrgetter(key), attrgetter(spelled), by_count
        self.option_value, self.any_label = option_value, any_label

    def parse(self, read: Reader) -> str:
        return read.single(self.name)

    def test(self, value: str, context: Context) -> Test | None:
        if not value:
            return None
        is_value, key = value.casefold().__eq__, self.key
        return lambda rows: map(is_value, map(key, rows))

    def summary(self, value: str, rows: Rows, context: Context) -> list[FacetOption]:
        keys = list(map(self.key, rows))
        counts = Counter(keys)
        labels = dict(zip(reversed(keys), map(self.spelled, reversed(rows)), strict=True))
        counts.pop("", None)
        want = value.casefold()
        if self.by_count:
            if want and want not in counts:
                counts[want], labels[want] = 0, value
            order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        else:
            order = sorted(counts.items(), key=lambda kv: (labels[kv[0]].casefold(), kv[0]))
        options = [
            FacetOption(k if self.option_value == "key" else labels[k], labels[k], n, k == want)
            for k, n in order
        ]
        if want and want not in counts:
            options.insert(0, FacetOption(value, value, 0, True))
        return options

    def control(self, value: str, summary: list[FacetOption], empty: str = "") -> Control:
        if self.box is not None and self.box.style == "field":
            options = [option(o.value, o.label, "", o.selected, o.count) for o in summary]
            return Control(self.name, "select", options, any_label=self.any_label)
        options = [option("", self.any_label, f"{self.name}-all", not value)] + [
            option(o.value, o.label, f"{self.name}-{n}", o.selected, o.count)
            for n, o in enumerate(summary, 1)
        ]
        return Control(self.name, "radio", options)


class AnyOf(_FixedChoices):
    """Any of several fixed values (checkboxes)."""

    default = ()

    def __init__(
        self,
        name: str,
        *,
        hide_empty: bool = False,  # list only options some row has (or chosen ones)
        dots: bool = False,  # a coloured dot per option, class "{name}-{value}"
        empty: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        self.hide_empty, self.dots, self.empty = hide_empty, dots, empty

    def parse(self, read: Reader) -> tuple[str, ...]:
        kept = []
        for value in read.repeated(self.name):
            if value in self.choices:
                kept.append(value)
            else:
                read.warn(self.name, self.unknown.format(name=self.name, value=value))
        return tuple(kept)

    def pairs(self, value: tuple[str, ...]) -> list[tuple[str, str]]:
        return [(self.name, v) for v in value]

    def label(self, value: str) -> str:
        return self.choices[value]

    def chips(self, query: Query, value: tuple[str, ...]) -> list[tuple[str, str]]:
        return [
            (
                self.chip.format(name=self.name, label=self.label(v)),
                query.url(**{self.name: tuple(other for other in value if other != v)}),
            )
            for v in value
        ]

    def test(self, value: tuple[str, ...], context: Context) -> Test | None:
        if not value:
            return None
        is_one, key = frozenset(value).__contains__, self.key
        return lambda rows: map(is_one, map(key, rows))

    def counter(self, rows: Rows) -> Counter[str]:
        return Counter(map(self.key, rows))

    def summary(self, value: tuple[str, ...], rows: Rows, context: Context) -> list[FacetOption]:
        counts = self.counter(rows)
        return [
            FacetOption(v, label, counts[v], v in value)
            for v, label in self.choices.items()
            if not self.hide_empty or counts[v] or v in value
        ]

    def control(self, value: Any, summary: list[FacetOption], empty: str = "") -> Control:
        options = [
            option(
                o.value, o.label, f"{self.name}-{o.value}", o.selected, o.count,
                f"{self.name}-{o.value}" if self.dots else "",
            )
            for o in summary
        ]  # fmt: skip
        return Control(self.name, "checkbox", options, empty=empty or self.empty, dots=self.dots)


class AllOf(AnyOf):
    """Several of the things a schema states (a Capabilities set): a model must have all."""

    counts = MATCHED
    schema = True

    def __init__(self, name: str, choices: Mapping[str, str], **kwargs: Any) -> None:
        unknown = "Unknown “{name}” value “{value}” was ignored."
        super().__init__(
            name, choices=choices, unknown=unknown, key=f"capabilities.{name}", **kwargs
        )

    def test(self, value: tuple[str, ...], context: Context) -> Test | None:
        if not value:
            return None
        # A model without a schema states nothing: it has none of them.
        has_all, stated = frozenset(value).issubset, self.key
        return lambda rows: map(has_all, map(stated, rows))

    def counter(self, rows: Rows) -> Counter[str]:
        return Counter(chain.from_iterable(map(self.key, rows)))


class Tags(Facet):
    """Tags as the cards show them: a model must have every chosen one (any case)."""

    default = ()
    counts = MATCHED

    def parse(self, read: Reader) -> tuple[str, ...]:
        return tuple(read.repeated(self.name))

    def pairs(self, value: tuple[str, ...]) -> list[tuple[str, str]]:
        return [(self.name, v) for v in value]

    def chips(self, query: Query, value: tuple[str, ...]) -> list[tuple[str, str]]:
        return [
            (
                self.chip.format(name=self.name, label=v),
                query.url(**{self.name: tuple(o for o in value if o.casefold() != v.casefold())}),
            )
            for v in value
        ]

    def test(self, value: tuple[str, ...], context: Context) -> Test | None:
        if not value:
            return None
        has_all = frozenset(v.casefold() for v in value).issubset
        return lambda rows: map(has_all, map(_TAGS, rows))

    def summary(self, value: tuple[str, ...], rows: Rows, context: Context) -> list[FacetOption]:
        pairs = list(chain.from_iterable(map(_TAG_PAIRS, rows)))
        counts = Counter(map(itemgetter(0), pairs))
        labels = dict(reversed(pairs))  # the first spelling of each
        want = {v.casefold() for v in value}
        # Selected tags first, so that a shortened list never drops one.
        order = sorted(counts.items(), key=lambda kv: (kv[0] not in want, -kv[1], kv[0]))
        options = [FacetOption(labels[k], labels[k], n, k in want) for k, n in order][:MAX_TAGS]
        for wanted in value:  # a selected tag stays visible (and removable) at count 0
            if wanted.casefold() not in counts:
                options.insert(0, FacetOption(wanted, wanted, 0, True))
        return options

    def control(self, value: Any, summary: list[FacetOption], empty: str = "") -> Control:
        def options(shown: list[FacetOption], prefix: str) -> list[RailOption]:
            return [
                option(o.value, o.label, f"{prefix}-{n}", o.selected, o.count)
                for n, o in enumerate(shown, 1)
            ]

        return Control(
            self.name, "checkbox", options(summary[:SHOWN_TAGS], self.name),
            more=options(summary[SHOWN_TAGS:], f"{self.name}-more"), more_label="More tags",
            more_class="more-tags", empty=empty or "No tags in these results",
        )  # fmt: skip


def price_param(value: Decimal) -> str:
    """A max price as the URL writes it: 0.05, 1, 0 (never 5E-2 or 1.00)."""
    return f"{value.normalize():f}"


TYPICAL_JOB = "for a typical job"


@dataclass(frozen=True)
class PriceCap:
    """A max price and the unit classes chosen with it, which it is per (none: per job)."""

    amount: Decimal | None  # None only in the rail, before a max is typed
    units: tuple[str, ...] = ()

    @property
    def per(self) -> str:
        """What it is per: "per second", "per image or per second", "for a typical job"."""
        if not self.units:
            return TYPICAL_JOB
        # A price that varies has no unit to be per, and no maximum keeps it.
        priced = [UNIT_LABELS[unit] for unit in self.units if unit != VAGUE.key]
        return " or ".join(priced) or "per fal unit"


@dataclass(frozen=True)
class LeftOut:
    """The models a max price per typical job leaves out though they pass every other
    filter: those priced in a class that has no such job, per class."""

    counts: tuple[tuple[str, int], ...] = ()  # (unit class, models), in UNIT_KEYS order

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def text(self) -> str:
        """What the grid says: "23 models left out: priced per compute second (20) or …"."""
        priced = [
            f"{'with no fixed unit' if unit == VAGUE.key else UNIT_LABELS[unit]} ({n:,})"
            for unit, n in self.counts
        ]
        listed = f"{', '.join(priced[:-1])} or {priced[-1]}" if len(priced) > 1 else priced[0]
        them = "it" if self.total == 1 else "them"
        return (
            f"{self.total:,} model{'' if self.total == 1 else 's'} left out: priced {listed}, "
            f"which no typical job measures. Choose a unit to cap {them} too."
        )


class MaxPrice(Facet):
    """Models whose price is at most this many dollars per the unit chosen with it (in the
    facet named `units`: each chosen class per its own unit), or, without one, whose typical
    job (fal.units' reference job: one image, a 5 s clip…) costs at most that."""

    default = None
    counts = OTHERS  # what a max per typical job leaves out (`LeftOut`)

    def __init__(self, name: str, *, units: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.units = units

    def _units(self, read: Reader) -> tuple[str, ...]:
        chosen = set(read.repeated(self.units))  # the unit facet warns of unknown ones
        return tuple(unit for unit in UNIT_KEYS if unit in chosen)

    def parse(self, read: Reader) -> PriceCap | None:
        text = read.single(self.name)
        value = parse_max_price(text) if text else None
        if text and value is None:
            read.warn(
                self.name,
                f"“{text}” was ignored: a maximum price is a number of dollars, 0 or more.",
            )
        return PriceCap(value, self._units(read)) if value is not None else None

    def pairs(self, value: PriceCap) -> list[tuple[str, str]]:
        return [(self.name, price_param(value.amount))] if value.amount is not None else []

    def label(self, value: PriceCap) -> str:
        return f"{format_money(value.amount or 0)} {value.per}"

    @staticmethod
    def _at_most(amount: Decimal, *, per_unit: bool) -> Test:
        # Per unit: the price as the card shows it, so that a figure typed from a card keeps
        # it. A vague or missing price, or no typical job, cannot be held to a maximum.
        key = _SHOWN_PRICE if per_unit else _JOB_PRICE
        return lambda rows: [p is not None and p <= amount for p in map(key, rows)]

    def test(self, value: PriceCap | None, context: Context) -> Test | None:
        if value is None or value.amount is None:
            return None
        return self._at_most(value.amount, per_unit=bool(value.units))

    def test_choosing(self, other: str, value: PriceCap | None) -> Test | None:
        # Choosing a unit turns a max per typical job into one per that unit.
        if other != self.units or value is None or value.amount is None or value.units:
            return None
        return self._at_most(value.amount, per_unit=True)

    def rail_value(self, query: Query) -> PriceCap:
        value = query.value(self.name)
        return value if value is not None else PriceCap(None, query.value(self.units))

    def summary(self, value: PriceCap | None, rows: Rows, context: Context) -> LeftOut:
        if value is None or value.units:
            return LeftOut()
        classes = Counter(row.unit_class for row in rows if row.job_price is None)
        return LeftOut(tuple((unit, classes[unit]) for unit in UNIT_KEYS if classes[unit]))

    def control(self, value: PriceCap, summary: Any, empty: str = "") -> Control:
        amount = value.amount
        return Control(
            self.name, "text", label=f"At most $ {value.per}", css="price-filter",
            placeholder="e.g. 0.05", value=price_param(amount) if amount is not None else "",
            note="" if value.units else (
                "A typical job: one image, a 1024×1024 image, a 5 s clip, one video, "
                "1,000 characters or one call. Choose a unit above to cap the price per unit."
            ),
        )  # fmt: skip


def _number_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


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


class AtLeast(Facet):
    """Models whose schema states a limit of at least this (a Capabilities number)."""

    default = None
    counts = MATCHED
    schema = True

    def __init__(
        self, name: str, *, title: str, unit: str = "", largest: int, whole: bool, **kwargs: Any
    ) -> None:
        super().__init__(name, chip="{label}", **kwargs)
        self.key, self.title, self.unit = attrgetter(f"capabilities.{name}"), title, unit
        self.largest, self.whole = largest, whole

    def parse(self, read: Reader) -> float | int | None:
        text = read.single(self.name)
        if not text:
            return None
        number = _positive_number(text, self.largest, whole=self.whole)
        if number is None:
            kind = "a whole number" if self.whole else "a number of seconds"
            read.warn(
                self.name,
                f"“{self.name}” must be {kind} from 1 to {self.largest:,}; “{text}” was ignored.",
            )
        return number

    def pairs(self, value: float | int) -> list[tuple[str, str]]:
        return [(self.name, _number_text(value))]

    def label(self, value: float | int) -> str:
        return f"{self.title.lower()} {_number_text(value)}{self.unit}"

    def test(self, value: float | int | None, context: Context) -> Test | None:
        if value is None:
            return None
        # A model without a schema, or whose schema states no limit, fails.
        stated = self.key
        return lambda rows: [n is not None and n >= value for n in map(stated, rows)]

    def summary(self, value: Any, rows: Rows, context: Context) -> Stated:
        found = [n for n in map(self.key, rows) if n is not None]
        return Stated(len(found), max(found) if found else None)

    def control(self, value: float | int | None, summary: Stated, empty: str = "") -> Control:
        return Control(
            self.name, "number", label=self.title, css="limit-filter", value=value,
            unit=self.unit, stating=summary.count, largest=summary.largest,
        )  # fmt: skip


PRICE = Box(40, "Price")
LIMITS = Box(
    74, "Limits", "fold", "facet-limits", "Limits the schema states", folded=True, group=SCHEMA
)

# Every facet, in the order of the URL's parameters and of the chips. Adding a facet is
# one entry here (a Row attribute for it to read, if it needs a new one) and its test.
FACETS: tuple[Facet, ...] = (
    Among(
        "category", key="category_key", spelled="category", chip="{label}",
        box=Box(10, "Category"),
    ),
    Pick(
        "status", default="active", unfiltered="all",
        choices={"active": "active", "deprecated": "deprecated", "gone": "gone from fal",
                 "all": "all"},
        unknown="Unknown status “{value}”: showing active models.", box=Box(60, "Status"),
    ),
    AnyOf(
        "license", choices={v: v for v in (*KNOWN_LICENSES, "unknown")},
        unknown="Unknown license “{value}” was ignored.", dots=True, box=Box(20, "License"),
    ),
    Tags("tag", box=Box(80, "Tags")),
    Among(
        "group", key="group_key", spelled="group_name", by_count=False, option_value="key",
        any_label="Any group", box=Box(90, "Group", "field"),
    ),
    Pick(
        "kind", choices={"inference": "inference", "training": "training"},
        unknown="Unknown kind “{value}”: choose inference or training.",
        any_choice=("all", "Any"), box=Box(30, "Kind"),
    ),
    AnyOf(
        "unit", key="unit_class", choices=UNIT_LABELS, hide_empty=True,
        unknown=f"Unknown unit “{{value}}” was ignored: choose one of {', '.join(UNIT_KEYS)}.",
        empty="No prices in these results", box=PRICE,
    ),
    MaxPrice("max_price", units="unit", chip="at most {label}", box=PRICE),
    AllOf("accepts", ACCEPTS, box=Box(71, "Accepts", "fold", "facet-accepts", group=SCHEMA)),
    AllOf("has", HAS, box=Box(72, "Has", "fold", "facet-has", folded=True, group=SCHEMA)),
    AllOf("outputs", OUTPUTS, box=Box(73, "Outputs", "fold", "facet-outputs", group=SCHEMA)),
    AtLeast(
        "max_duration", title="Longest duration at least", unit="s", largest=100_000,
        whole=False, box=LIMITS,
    ),
    AtLeast(
        "max_outputs", title="Outputs per call at least", largest=1_000, whole=True, box=LIMITS
    ),
    Used(
        "used", choices={"1": "used by us"}, chip_labels={"1": "used by us, last 30 days"},
        unknown="Unknown “used” value “{value}”: choose 1 for the models the team used.",
        chip="{label}", any_choice=("any", "Any"), box=Box(55, "Our usage (30 d)"),
    ),
    Added(
        "added", choices={"7": "last 7 days", "30": "last 30 days",
                                       "new": "since your last visit"},
        chip_labels={"7": "added in the last 7 days", "30": "added in the last 30 days",
                     "new": "new since your last visit"},
        unknown="Unknown “added” value “{value}”: choose 7, 30 or new.", chip="{label}",
        any_choice=("any", "Any time"), box=Box(50, "Added"),
    ),
)  # fmt: skip
FACETS_BY_NAME = {facet.name: facet for facet in FACETS}


def rail(query: Query, grid: Counted, empty: Mapping[str, str] | None = None) -> list[Panel]:
    """The rail for this query and its grid: every facet's control in its box, boxes in
    order; `empty` overrides what a facet without options says (name → text)."""
    empty = empty or {}
    placed = []
    for facet in FACETS:
        if facet.box is not None:
            value = facet.rail_value(query)
            control = facet.control(value, grid.facets.get(facet.name), empty.get(facet.name, ""))
            placed.append((facet.box, control, query.value(facet.name) != facet.default))
    unknown = grid.schema_unknown
    note = (
        f"{unknown} model{'' if unknown == 1 else 's'} here: schema unknown"
        f"{', left out by these filters' if query.has_capability_filters else ''}."
    )
    return layout(placed, {SCHEMA: note})
