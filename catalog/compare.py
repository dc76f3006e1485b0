"""Side-by-side comparison of 2-6 models: overview rows, field matrices, Markdown export.

No Django here. The view hands in cards (`catalog.cards.Card`) and field tuples
(`fal.openapi`); this module decides row order, what counts as a difference, and
how a cell reads as text. A column whose schema could not be expanded is `None`: it
shows as unavailable and takes no part in the summary's counts (`Matrix.counts`).

Types compare as they read: an object by its own name (see `fal.openapi`), so one Image
under two generated component names is one type, while Audio and Video stay two though
fal gives them the same fields: the name says what the file holds.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fal.capabilities import ACCEPTS, HAS, OUTPUTS, Capabilities
from fal.openapi import SchemaField

if TYPE_CHECKING:  # Only the attributes of a card are used; no import at run time.
    from catalog.cards import Card

MAX_MODELS = 6
# Beside every compare box that is off, and in the message for a pick past the limit.
LIMIT_REASON = f"{MAX_MODELS} is the most you can compare"
MAX_SHOWN_ENUM = 8
MAX_DEFAULT_CHARS = 80
# The parts of a cell that are compared; "presence" is whether the model has the field.
ASPECTS = ("presence", "type", "required", "default", "enum", "limits")


# --- Cell text -----------------------------------------------------------------------------


def _json(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text


def _short(text: str, limit: int = MAX_DEFAULT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: int | float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def default_text(field: SchemaField) -> str:
    return _short(_json(field.default)) if field.has_default else ""


def enum_texts(field: SchemaField) -> tuple[str, ...]:
    return tuple(v if isinstance(v, str) else _json(v) for v in field.enum)


def limits_text(field: SchemaField) -> str:
    """`min 1 · max 5000`, `min > 0`, `length 1–5000`, `items ≤ 4`: what bounds a value."""
    parts = []
    if field.minimum is not None:
        parts.append(f"min {'> ' if field.exclusive_minimum else ''}{_number(field.minimum)}")
    if field.maximum is not None:
        parts.append(f"max {'< ' if field.exclusive_maximum else ''}{_number(field.maximum)}")
    unit = "items" if field.type.startswith("array") else "length"
    low, high = field.min_length, field.max_length
    if low is not None and high is not None:
        parts.append(f"{unit} {low}–{high}")
    elif low is not None:
        parts.append(f"{unit} ≥ {low}")
    elif high is not None:
        parts.append(f"{unit} ≤ {high}")
    return " · ".join(parts)


# --- Field matrix ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One model's view of one field. `odd` names the aspects in which this cell stands out
    from the others in its row (the majority, or every cell when there is none)."""

    field: SchemaField | None
    available: bool = True  # False: this model's schema could not be expanded
    odd: frozenset[str] = frozenset()

    @property
    def present(self) -> bool:
        return self.field is not None

    @property
    def differs(self) -> bool:
        return bool(self.odd)

    @property
    def default(self) -> str:
        return default_text(self.field) if self.field else ""

    @property
    def enum(self) -> tuple[str, ...]:
        return enum_texts(self.field) if self.field else ()

    @property
    def shown_enum(self) -> tuple[str, ...]:
        return self.enum[:MAX_SHOWN_ENUM]

    @property
    def more_enum(self) -> int:
        return max(0, len(self.enum) - MAX_SHOWN_ENUM)

    @property
    def limits(self) -> str:
        return limits_text(self.field) if self.field else ""

    def text(self, *, markdown: bool = False) -> str:
        """The whole cell on one line (titles; Markdown with types and defaults as code)."""
        if not self.available:
            return "schema unavailable"
        if self.field is None:
            return "—"

        def code(value: str) -> str:
            return f"`{value}`" if markdown else value

        parts = [code(self.field.type), "required" if self.field.required else "optional"]
        if self.field.has_default:
            parts.append(f"default {code(self.default)}")
        if self.enum:
            parts.append("one of " + ", ".join(code(v) for v in self.enum))
        if self.limits:
            parts.append(self.limits)
        return " · ".join(parts)


def _aspects(field: SchemaField | None) -> dict[str, Any]:
    if field is None:
        return {"presence": False}
    return {
        "presence": True,
        "type": field.type,
        "required": field.required,
        "default": (field.has_default, _json(field.default)),
        "enum": field.enum,
        "limits": limits_text(field),
    }


def _odd_ones(values: list[Any]) -> list[bool]:
    """Which values stand out: those not equal to a clear majority, or all when none."""
    counts = Counter(_json(v) for v in values)
    if len(counts) <= 1:
        return [False] * len(values)
    (top, top_count), (_, second_count) = counts.most_common(2)
    if top_count > second_count and top_count > 1:
        return [_json(v) != top for v in values]
    return [True] * len(values)


@dataclass(frozen=True)
class Row:
    name: str
    cells: tuple[Cell, ...]
    present_in: int  # how many of the models with a schema have this field
    of: int  # how many models have a schema

    @property
    def shared(self) -> bool:
        """In every model that has a schema (of two or more: one model shares nothing)."""
        return self.of > 1 and self.present_in == self.of

    @property
    def unique(self) -> bool:
        return self.of > 1 and self.present_in == 1

    @property
    def differs(self) -> bool:
        return any(cell.odd for cell in self.cells)

    @property
    def description(self) -> str:
        """The first description any model gives (a tooltip on the field name)."""
        return next(
            (c.field.description for c in self.cells if c.field and c.field.description), ""
        )


@dataclass(frozen=True)
class Matrix:
    """The fields of 2-6 models. Each field counts once in the summary: the same in every
    model, in every model but differing, or in only some models."""

    rows: tuple[Row, ...]
    available: tuple[bool, ...]  # per column: was the schema expanded

    @property
    def same(self) -> int:
        return sum(row.shared and not row.differs for row in self.rows)

    @property
    def differ(self) -> int:
        return sum(row.shared and row.differs for row in self.rows)

    @property
    def only_in_some(self) -> int:
        return sum(row.of > 1 and not row.shared for row in self.rows)

    @property
    def counts(self) -> str:
        """`5 the same, 0 differ, 11 in only some models`; "" with fewer than two schemas."""
        if sum(self.available) < 2:
            return ""
        differ = f"{self.differ} differ{'s' if self.differ == 1 else ''}"
        return f"{self.same} the same, {differ}, {self.only_in_some} in only some models"

    @property
    def differing_rows(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.differs)


def build_matrix(columns: Sequence[Sequence[SchemaField] | None]) -> Matrix:
    """One row per field name across all columns (`None`: schema unavailable).

    Order: fields every model has, in the first such model's order; then the rest, those
    most models have first, ties in order of first appearance (column by column).
    """
    available = tuple(fields is not None for fields in columns)
    by_column = [{f.name: f for f in fields} if fields is not None else {} for fields in columns]
    first_seen: dict[str, int] = {}
    for column in columns:
        for field in column or ():
            first_seen.setdefault(field.name, len(first_seen))
    of = sum(available)
    counts = {name: sum(name in fields for fields in by_column) for name in first_seen}
    names = sorted(first_seen, key=lambda n: (counts[n] != of, -counts[n], first_seen[n]))

    rows = []
    for name in names:
        fields = [by_column[i].get(name) if available[i] else None for i in range(len(columns))]
        odd: list[set[str]] = [set() for _ in columns]
        live = [i for i in range(len(columns)) if available[i]]
        for aspect in ASPECTS:
            # Presence is compared across every model with a schema; the other aspects
            # only among the models that have the field.
            idx = live if aspect == "presence" else [i for i in live if fields[i] is not None]
            values = [_aspects(fields[i])[aspect] for i in idx]
            for i, stands_out in zip(idx, _odd_ones(values), strict=True):
                if stands_out:
                    odd[i].add(aspect)
        cells = tuple(
            Cell(field=fields[i], available=available[i], odd=frozenset(odd[i]))
            for i in range(len(columns))
        )
        rows.append(Row(name=name, cells=cells, present_in=counts[name], of=of))
    return Matrix(rows=tuple(rows), available=available)


# --- Overview rows (metadata) ----------------------------------------------------------------


@dataclass(frozen=True)
class OverviewCell:
    text: str
    odd: bool = False
    cheapest: bool = False  # the lowest price of its unit class among the compared models
    title: str = ""  # a tooltip (fal's own figure for a price)
    links: tuple[tuple[str, str], ...] = ()  # (label, http(s) URL)
    items: tuple[str, ...] = ()  # tags


@dataclass(frozen=True)
class OverviewRow:
    key: str
    label: str
    cells: tuple[OverviewCell, ...]

    @property
    def differs(self) -> bool:
        if self.key in _PRICE_ROWS:  # prices are not tinted as odd, but they do differ
            return len({cell.text for cell in self.cells}) > 1
        return any(cell.odd for cell in self.cells)


_PRICE_ROWS = ("price", "reference")


def _date(value: Any) -> str:
    return value.date().isoformat() if value is not None else ""


def _links(card: Card) -> tuple[tuple[str, str], ...]:
    links = [("Open on fal.ai", card.fal_page_url), ("API docs", card.fal_docs_url)]
    links += [("API endpoint", card.model_url), ("Stream", card.stream_url)]
    links.append(("License" if card.github_is_license else "GitHub", card.github_url))
    return tuple((label, url) for label, url in links if url)


# (key, label, text of a card, compared for differences). Dates, tags and links nearly
# always differ; tinting them would hide the differences that matter.
_OVERVIEW = (
    ("category", "Category", lambda c: c.category, True),
    ("license", "License", lambda c: c.license, True),
    ("group", "Family", lambda c: c.group_key, True),
    ("role", "Role in family", lambda c: c.group_label, False),
    ("kind", "Kind", lambda c: c.kind, True),
    ("status", "Status", lambda c: c.status, True),
    ("duration", "Duration estimate", lambda c: _duration(c.duration_estimate), True),
    ("price", "Price", lambda c: c.price.text if c.price else c.price_note, False),
    ("reference", "Reference job", lambda c: c.price.reference if c.price else "", False),
    ("tags", "Tags", lambda c: ", ".join(c.tags), False),
    ("created", "Created", lambda c: _date(c.created), False),
    ("updated", "Updated", lambda c: _date(c.updated), False),
    ("links", "Links", lambda c: " · ".join(f"{label}: {url}" for label, url in _links(c)), False),
    # The team's last 30 days (rows left out when it used none of these models).
    ("our_calls", "Our calls, 30 d", lambda c: c.usage.calls_text if c.usage else "", False),
    ("our_spend", "Our spend, 30 d", lambda c: c.usage.spend_text if c.usage else "", False),
    ("our_errors", "Our error rate", lambda c: c.usage.error_rate_text if c.usage else "", False),
    (
        "our_latency",
        "Our latency p50 / p95",
        lambda c: c.usage.latency_text if c.usage else "",
        False,
    ),
)
_USAGE_ROWS = ("our_calls", "our_spend", "our_errors", "our_latency")


def _duration(minutes: float | None) -> str:
    return f"~{_number(minutes)} min" if minutes is not None else ""


def cheapest(cards: Sequence[Card]) -> list[bool]:
    """Per card: whether its price is the lowest of its unit class, among two or more models
    priced in that class that do not all cost the same (prices in other units do not compare)."""
    by_class: dict[str, list] = {}
    for card in cards:
        if card.price is not None and card.price.per_class is not None:
            by_class.setdefault(card.price.unit_class, []).append(card.price.per_class)
    lowest = {
        key: min(values)
        for key, values in by_class.items()
        if len(values) > 1 and len(set(values)) > 1
    }
    return [
        card.price is not None
        and card.price.unit_class in lowest
        and card.price.per_class == lowest[card.price.unit_class]
        for card in cards
    ]


def _title(key: str, card: Card) -> str:
    """fal's own figure for a price; where the team's figures come from."""
    if key == "price" and card.price:
        return card.price.tooltip
    return card.usage_title if key in _USAGE_ROWS else ""


def overview_rows(cards: Sequence[Card]) -> tuple[OverviewRow, ...]:
    """Metadata rows; a row no model has a value for is left out."""
    rows = []
    lowest = cheapest(cards)
    for key, label, text_of, compared in _OVERVIEW:
        texts = [text_of(card) for card in cards]
        if not any(texts):
            continue
        odd = _odd_ones(texts) if compared else [False] * len(texts)
        priced = key in _PRICE_ROWS
        cells = tuple(
            OverviewCell(
                text=text,
                odd=stands_out,
                cheapest=priced and best,
                title=_title(key, card),
                links=_links(card) if key == "links" else (),
                items=card.tags if key == "tags" else (),
            )
            for card, text, stands_out, best in zip(cards, texts, odd, lowest, strict=True)
        )
        rows.append(OverviewRow(key=key, label=label, cells=cells))
    return tuple(rows)


SCHEMA_UNKNOWN = "schema unknown"
# (key, label, text of one model's capabilities)
_CAPABILITY_ROWS = (
    ("accepts", "Accepts", lambda c: ", ".join(ACCEPTS[v] for v in ACCEPTS if v in c.accepts)),
    ("outputs", "Outputs", lambda c: ", ".join(OUTPUTS[v] for v in OUTPUTS if v in c.outputs)),
    ("has", "Has", lambda c: ", ".join(HAS[v] for v in HAS if v in c.has)),
    ("max_outputs", "Most outputs per call", lambda c: _limit(c.max_outputs, "")),
    ("max_duration", "Longest duration", lambda c: _limit(c.max_duration, " s")),
)


def _limit(value: float | int | None, unit: str) -> str:
    return f"{_number(value)}{unit}" if value is not None else ""


def capability_rows(columns: Sequence[Capabilities | None]) -> tuple[OverviewRow, ...]:
    """The "Capabilities" group: what each schema says the model does. A model without a
    schema reads "schema unknown" and takes no part in what differs."""
    rows = []
    for key, label, text_of in _CAPABILITY_ROWS:
        texts = [text_of(c) if c is not None else None for c in columns]
        if not any(texts) and key.startswith("max_"):
            continue
        known = [i for i, t in enumerate(texts) if t is not None]
        odd_known = _odd_ones([texts[i] for i in known]) if len(known) > 1 else [False] * len(known)
        odd = dict(zip(known, odd_known, strict=True))
        cells = tuple(
            OverviewCell(text=SCHEMA_UNKNOWN if t is None else t, odd=odd.get(i, False))
            for i, t in enumerate(texts)
        )
        rows.append(OverviewRow(key=key, label=label, cells=cells))
    return tuple(rows)


# --- Markdown ----------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|") or "—"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown(
    cards: Sequence[Card],
    overview: Sequence[OverviewRow],
    inputs: Matrix,
    outputs: Matrix,
    *,
    only_differences: bool = False,
    url: str = "",
) -> str:
    """The comparison as GitHub-flavoured Markdown tables, as shown (filter included)."""
    header = _md_row(["", *(f"**{_md(card.name)}**" for card in cards)])
    rule = _md_row(["---"] * (len(cards) + 1))
    lines = [f"## Comparing {len(cards)} fal models", ""]
    if url:
        lines += [f"Source: {url}", ""]
    lines += [header, rule, _md_row(["Endpoint", *(f"`{_md(c.endpoint_id)}`" for c in cards)])]
    for overview_row in overview:
        if only_differences and not overview_row.differs:
            continue
        lines.append(
            _md_row([overview_row.label, *(_md(cell.text) for cell in overview_row.cells)])
        )
    for title, matrix in (("Inputs", inputs), ("Outputs", outputs)):
        rows = matrix.differing_rows if only_differences else matrix.rows
        lines += ["", f"### {title} ({matrix.counts})" if matrix.counts else f"### {title}", ""]
        if only_differences:
            lines += ["Only the fields that differ are listed.", ""]
        lines += [header, rule]
        for row in rows:
            cells = [_md(cell.text(markdown=True)) for cell in row.cells]
            lines.append(_md_row([f"`{_md(row.name)}`", *cells]))
        if not rows:
            lines.append(_md_row(["(none)", *([""] * len(cards))]))
    return "\n".join(lines) + "\n"
