"""What a price shows and how it sorts: one fal price read once into a `CardPrice`.

fal's figure and its raw unit come from the index (`catalog.models.PriceRecord`, as last
synced for the active key); `fal.units` says what the unit means. A `CardPrice` is frozen
and hashable, so it is part of the `Card` and of the key of every rendered card. No I/O.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from fal.units import (
    UNIT_CLASSES,
    VAGUE,
    parse_unit,
    price_text,
    reference_job,
    reference_job_cost,
    round_price,
)

# Shown instead of a price when the dashboard is live but has no key to ask fal with.
NEEDS_KEY = "Prices need an API key (FAL_KEY)"
NO_PRICE = "No price from fal"
UNIT_KEYS = tuple(c.key for c in UNIT_CLASSES)
UNIT_LABELS = {c.key: c.label for c in UNIT_CLASSES}
# sort=price: unit classes in display order, vague after them, unpriced last.
NO_PRICE_RANK = len(UNIT_CLASSES)
# What the calculator asks for, per class: (the quantity's noun, class units per one of it).
_QUANTITY_NOUNS = {
    "image": ("images", Decimal(1)),
    "megapixel": ("megapixels", Decimal(1)),
    "second": ("seconds", Decimal(1)),
    "video": ("videos", Decimal(1)),
    "compute_second": ("compute seconds", Decimal(1)),
    "1k_characters": ("characters", Decimal("0.001")),
    "token": ("tokens", Decimal("0.000001")),  # the class is 1M tokens
}


def key_fingerprint(key: str) -> str:
    """What prices are stored and cached under for a key: a digest, never the key itself."""
    return hashlib.sha256(f"fal-key:{key}".encode()).hexdigest()[:24] if key else ""


def as_decimal(value: float | int | Decimal | str) -> Decimal:
    """The decimal the JSON wrote (repr of a double is the shortest text reading back as it)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


@dataclass(frozen=True, slots=True)
class CardPrice:
    """One endpoint's price as every page shows it."""

    unit_price: Decimal  # fal's figure, per fal unit
    unit: str  # fal's unit as spelled
    currency: str
    text: str  # "$0.025 / image", "price varies"
    tooltip: str  # fal's own figure and unit
    unit_class: str  # a key of fal.units.UNIT_CLASSES
    unit_label: str  # "per image", "price varies"
    reference: str  # "≈ $0.14 for a 5 s clip", or ""
    per_class: Decimal | None  # the price of one of the class (None when vague)
    shown: Decimal | None  # per_class as `text` shows it: three significant figures
    per_job: Decimal | None  # what `reference` costs, exactly (None: no typical job)

    @property
    def vague(self) -> bool:
        return self.unit_class == VAGUE.key

    @property
    def rank(self) -> int:
        return UNIT_KEYS.index(self.unit_class)

    @property
    def unit_words(self) -> str:
        """The unit in words: "per second · fal's unit: “5 seconds”"."""
        named = " ".join(self.unit.split())
        if self.vague:
            shown = f"“{named}”" if named else "no unit"
            return f"fal bills in {shown}: nothing a job's size could be priced by"
        return f"{self.unit_label} · fal's unit: “{named}”"

    @property
    def quantity_noun(self) -> str:
        """What the calculator asks for: "seconds", or fal's own unit when it is vague."""
        noun = _QUANTITY_NOUNS.get(self.unit_class)
        if noun:
            return noun[0]
        if self.unit_class == "call":
            return parse_unit(self.unit).noun + "s"
        named = " ".join(self.unit.split())
        return f"fal units (“{named}”)" if named else "fal units"

    def unit_quantity(self, quantity: Decimal) -> Decimal:
        """How many fal units `quantity` (of `quantity_noun`) is: 12 s is 2.4 × "5 seconds"."""
        if self.vague:
            return quantity
        per_one = _QUANTITY_NOUNS.get(self.unit_class, ("", Decimal(1)))[1]
        return quantity * per_one / parse_unit(self.unit).multiplier


def card_price(
    unit_price: Decimal | float, unit: str, currency: str, *, video: bool = False
) -> CardPrice:
    """Read one stored price; `video`: the model makes videos (its typical job is a clip)."""
    amount = as_decimal(unit_price).normalize()
    parsed = parse_unit(unit)
    text, tooltip = price_text(amount, unit, currency)  # type: ignore[arg-type]
    per_class = parsed.per_class_price(amount)
    return CardPrice(
        unit_price=amount,
        unit=unit,
        currency=currency,
        text=text,
        tooltip=tooltip,
        unit_class=parsed.cls.key,
        unit_label=parsed.cls.label,
        reference=reference_job(parsed, amount, currency, video=video) or "",  # type: ignore[arg-type]
        per_class=per_class,
        shown=round_price(per_class) if per_class is not None else None,
        per_job=reference_job_cost(parsed, amount, video=video),
    )


# Plain decimals only: "1e999999" is finite, and its URL form would be a million digits.
_PLAIN_AMOUNT = re.compile(r"\$?\s*(\d{1,12}(?:\.\d{0,15})?|\.\d{1,15})")


def parse_max_price(text: str) -> Decimal | None:
    """A non-negative number of dollars ("0.05", "$1", ".5"), or None."""
    match = _PLAIN_AMOUNT.fullmatch(text.strip())
    if match is None:
        return None
    try:
        return Decimal(match[1])
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None
