"""fal's billing units: every raw spelling → a unit class and a multiplier, and how to show a price.

fal's `unit` is free text: `images`, `megapixels`, `5 seconds`, `1m tokens`,
`1000 characters ` (trailing space), `units`, `credits`, `""`, `"1"`… (28 spellings over
the 1,433 recorded prices). `parse_unit()` reads one into a `Unit`: its class (one of
`UNIT_CLASSES`, in display order) and how many of that class one fal unit is
("5 seconds" is 5 seconds, "1m tokens" 1,000,000 tokens, "minutes" 60 seconds). A vague
unit (units, credits, steps, "", "1", …) says nothing a reader could multiply by, so
`price_text()` shows "price varies" and keeps fal's own figure for a tooltip: never "$1".
A price is shown per one of its class ("$0.0007 / min" is "$0.0000117 / s", "$0.0214 /
1,000 tokens" is "$21.40 / 1M tokens"), rounded to three significant figures, so that the
prices of a class read alike; the tooltip keeps fal's own figure and unit. Money is formatted
from the decimal the JSON wrote (0.0376, not 0.03759999…). Pure Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

# --- The classes, in display order --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitClass:
    """A kind of quantity fal bills by; its prices are shown per one of it (`noun`)."""

    key: str
    label: str
    noun: str = ""  # what follows "/" in a price of the class ("s", "1M tokens")


IMAGE = UnitClass("image", "per image", "image")
MEGAPIXEL = UnitClass("megapixel", "per megapixel", "megapixel")
# Of audio or video: output, or (scene-finder) input.
SECOND = UnitClass("second", "per second", "s")
VIDEO = UnitClass("video", "per video", "video")
COMPUTE_SECOND = UnitClass("compute_second", "per compute second", "compute second")
CHARACTERS = UnitClass("1k_characters", "per 1,000 characters", "1,000 characters")
# Per million, as fal and every LLM price list quote tokens.
TOKEN = UnitClass("token", "per 1M tokens", "1M tokens")
CALL = UnitClass("call", "per call", "call")  # one output or request per call: generations…
VAGUE = UnitClass("vague", "price varies")
UNIT_CLASSES = (IMAGE, MEGAPIXEL, SECOND, VIDEO, COMPUTE_SECOND, CHARACTERS, TOKEN, CALL, VAGUE)


@dataclass(frozen=True, slots=True)
class Unit:
    """One raw fal unit, read. `multiplier`: how many of `cls` one fal unit is.

    `noun` names fal's unit ("image", "5 s", "1,000 tokens"); `per_noun` one of the class,
    as a shown price names it ("s", "s of input", "1M tokens", "generation"); `known` is
    False for a spelling the table below has never seen (it is treated as vague).
    """

    cls: UnitClass
    multiplier: Decimal
    raw: str
    noun: str = ""
    known: bool = True
    per_noun: str = ""

    @property
    def vague(self) -> bool:
        return self.cls is VAGUE

    def per_class_price(self, unit_price: float | Decimal) -> Decimal | None:
        """The price of one of `cls` ("5 seconds" → per second), to compare; None if vague."""
        if self.vague or not self.multiplier:
            return None
        return _decimal(unit_price) / self.multiplier


# --- The table: every noun seen in fal's data (singular, casefolded) ----------------------------

_ONE = Decimal(1)
# noun → (class, how many of the class one of it is, display singular, display plural)
_NOUNS: dict[str, tuple[UnitClass, Decimal, str, str]] = {
    "image": (IMAGE, _ONE, "image", "images"),
    "megapixel": (MEGAPIXEL, _ONE, "megapixel", "megapixels"),
    "processed megapixel": (MEGAPIXEL, _ONE, "megapixel", "megapixels"),  # input + output
    "second": (SECOND, _ONE, "s", "s"),
    "input second": (SECOND, _ONE, "s of input", "s of input"),
    "minute": (SECOND, Decimal(60), "min", "min"),
    "video": (VIDEO, _ONE, "video", "videos"),
    "compute second": (COMPUTE_SECOND, _ONE, "compute second", "compute seconds"),
    "character": (CHARACTERS, Decimal("0.001"), "character", "characters"),
    "token": (TOKEN, Decimal("0.000001"), "token", "tokens"),
    "generation": (CALL, _ONE, "generation", "generations"),
    "request": (CALL, _ONE, "request", "requests"),
    "audio": (CALL, _ONE, "audio", "audios"),
    "training": (CALL, _ONE, "training", "trainings"),
    "cloned voice": (CALL, _ONE, "cloned voice", "cloned voices"),
}
# Seen in the data, and saying nothing a reader could price a job with: "units" and
# "credits" are fal's internal currency, a step or segment or 16 frames has no known
# length, and "" or a bare "1" names no unit at all.
_VAGUE_NOUNS = frozenset({"", "unit", "credit", "train unit", "step", "video segment", "frame"})
_ALIASES = {"s": "second", "sec": "second", "min": "minute", "mp": "megapixel"}
# "5 seconds", "1000 characters", "1m tokens", "1,000 tokens", "1.5k characters"
_QUANTITY = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<scale>[km](?![a-z]))?\s*(?P<noun>.*)")
_SCALES = {"k": Decimal(1000), "m": Decimal(1_000_000)}
# Prices are written with at most 10 significant digits; a double computed from them
# (0.1 + 0.2 = 0.30000000000000004) is shown at 12, which drops the artefact.
_SHOWN = Context(prec=12)


def _singular(noun: str) -> str:
    head, _, last = noun.rpartition(" ")
    if len(last) > 3 and last.endswith("s") and not last.endswith("ss"):
        last = last[:-1]
    last = _ALIASES.get(last, last)
    return f"{head} {last}" if head else last


def _count(number: str, scale: str | None) -> str:
    if scale:
        return f"{number}{scale.upper()}"  # "1M", as fal writes it
    return f"{Decimal(number):,}"


def parse_unit(raw: str) -> Unit:
    """Read one raw fal unit: case, spacing, plurals and a leading count do not matter."""
    text = " ".join(str(raw).split()).casefold()
    number, scale = "1", None
    match = _QUANTITY.fullmatch(text.replace(",", ""))
    if match:
        number, scale, text = match["number"], match["scale"], match["noun"]
    count = Decimal(number) * _SCALES.get(scale or "", _ONE)
    noun = _singular(text)
    if noun in _NOUNS:
        cls, each, singular, plural = _NOUNS[noun]
        shown = singular if count == 1 else f"{_count(number, scale)} {plural}"
        multiplier = count * each
        if multiplier == multiplier.to_integral_value():
            multiplier = Decimal(int(multiplier))  # 1000 × 0.001 is 1, not 1.000
        else:
            multiplier = multiplier.normalize()  # 1000 × 0.000001 is 0.001
        # A noun that is one of its class keeps its own words ("s of input", "generation").
        return Unit(cls, multiplier, raw, shown, per_noun=singular if each == 1 else cls.noun)
    return Unit(VAGUE, count, raw, "", known=noun in _VAGUE_NOUNS)


# --- Money ------------------------------------------------------------------------------------


def _decimal(value: float | int | Decimal) -> Decimal:
    if isinstance(value, Decimal):
        return value
    # repr() is the shortest text that reads back as this double: what the JSON said.
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


def format_money(value: float | int | Decimal, currency: str = "USD") -> str:
    """Every significant digit, no float artefacts: $1, $0.50, $0.0376, $0.00006944444."""
    amount = _SHOWN.plus(_decimal(value))
    if amount == amount.to_integral_value():
        text = f"{amount.to_integral_value():,f}"  # f: never 0E+3 or 1E+3
    else:
        amount = amount.normalize()
        exponent = amount.as_tuple().exponent
        if not isinstance(exponent, int):  # NaN (infinity is integral, above): no money
            raise TypeError(f"Not an amount of money: {value!r}")
        if -exponent < 2:
            amount = amount.quantize(Decimal("0.01"))
        text = f"{amount:,f}"
    if currency in ("USD", ""):
        return f"${text}" if currency else text
    return f"{text} {currency}"


def round_price(value: Decimal) -> Decimal:
    """A price as shown: three significant figures, or to the cent when that keeps more
    ($0.0000694, $0.123, $12.35)."""
    if not value:
        return value
    quantum = Decimal(1).scaleb(min(value.adjusted() - 2, -2))
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def approximate_money(value: float | int | Decimal, currency: str = "USD") -> str:
    """Rounded for "≈": to the cent from $0.01, else to two significant digits ($0.0031)."""
    amount = _decimal(value)
    if amount >= Decimal("0.01"):
        amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    elif amount > 0:
        amount = amount.quantize(Decimal(1).scaleb(amount.adjusted() - 1), rounding=ROUND_HALF_UP)
    return format_money(amount, currency)


def price_text(unit_price: float, raw_unit: str, currency: str = "USD") -> tuple[str, str]:
    """(what to show, a tooltip with fal's own figure and unit): "$0.0000117 / s" and
    "$0.0007 per min (fal's unit: “minutes”)"; a vague unit shows "price varies" and only
    the tooltip has the number."""
    unit = parse_unit(raw_unit)
    per_class = unit.per_class_price(unit_price)
    if per_class is None:
        return "price varies", price_words(unit_price, raw_unit, currency)
    # In the singular ("per image", not "per images"), with fal's own spelling beside it.
    named = " ".join(raw_unit.split())
    shown = format_money(round_price(per_class), currency)
    return (
        f"{shown} / {unit.per_noun}",
        f"{price_words(unit_price, raw_unit, currency)} (fal's unit: “{named}”)",
    )


def price_words(unit_price: float | Decimal, raw_unit: str, currency: str) -> str:
    """A price in a sentence: "$0.025 per image", "$0.5 per 5 s"; a vague unit keeps fal's
    figure with fal's own unit in quotes ("$1 per “units” (fal's unit)"), never "$1 per units"."""
    unit = parse_unit(raw_unit)
    money = format_money(unit_price, currency)
    if not unit.vague:
        return f"{money} per {unit.noun}"
    named = " ".join(raw_unit.split())
    return f"{money} per “{named}” (fal's unit)" if named else f"{money} (fal names no unit)"


# --- A job a reader can picture -------------------------------------------------------------------

# (how many of the class the job is, how it reads); per token, per compute second and
# vague units have no job whose size is known, so they get none.
_JOBS: dict[UnitClass, tuple[Decimal, str]] = {
    IMAGE: (_ONE, "for one image"),
    MEGAPIXEL: (Decimal("1.048576"), "for a 1024×1024 image"),
    SECOND: (Decimal(5), "for a 5 s clip"),
    VIDEO: (_ONE, "for one video"),
    CHARACTERS: (_ONE, "for 1,000 characters"),
}


# A video priced per megapixel is billed for every frame's pixels: its job is the clip those
# models make by default (121 frames, about 5 s; fal's LTX schemas), at 1280×720.
_VIDEO_MEGAPIXELS = (Decimal(121) * Decimal("0.9216"), "for a 121-frame 1280×720 clip (about 5 s)")


def _job(unit: Unit, video: bool) -> tuple[Decimal, str] | None:
    if video and unit.cls is MEGAPIXEL:
        return _VIDEO_MEGAPIXELS
    return _JOBS.get(unit.cls)


def reference_job_cost(
    unit: Unit | str, unit_price: float | Decimal, *, video: bool = False
) -> Decimal | None:
    """What a typical job costs, exactly (one image, a 1024×1024 image's megapixels, a 5 s
    clip…), or None where no job of a known size exists (tokens, compute seconds, vague).
    `video`: the model makes videos, so its megapixels are those of a clip's frames."""
    if isinstance(unit, str):
        unit = parse_unit(unit)
    per_class = unit.per_class_price(unit_price)
    if per_class is None:
        return None
    if unit.cls is CALL:
        return per_class
    job = _job(unit, video)
    return per_class * job[0] if job else None


def reference_job(
    unit: Unit | str, unit_price: float, currency: str = "USD", *, video: bool = False
) -> str | None:
    """What a typical job costs ("≈ $0.14 for a 5 s clip"), or None where its size is unknown."""
    if isinstance(unit, str):
        unit = parse_unit(unit)
    cost = reference_job_cost(unit, unit_price, video=video)
    if cost is None:
        return None
    job = _job(unit, video)
    phrase = job[1] if job is not None and unit.cls is not CALL else f"for one {unit.noun}"
    return f"≈ {approximate_money(cost, currency)} {phrase}"
