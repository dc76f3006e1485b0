"""`fal.units` over every unit fal wrote in the recorded prices: classes, multipliers, text."""

from __future__ import annotations

import collections
import re
from decimal import Decimal

import pytest

from fal.units import (
    CALL,
    CHARACTERS,
    COMPUTE_SECOND,
    IMAGE,
    MEGAPIXEL,
    SECOND,
    TOKEN,
    UNIT_CLASSES,
    VAGUE,
    VIDEO,
    approximate_money,
    format_money,
    parse_unit,
    price_text,
    price_words,
    reference_job,
    reference_job_cost,
    round_price,
)
from fal_emulator import load_prices

PRICES = load_prices()
SPELLINGS = sorted({p["unit"] for p in PRICES})
# Endpoints per class in the 2026-08-10 recording; a changed table or data shows up here.
EXPECTED_COUNTS = {
    "image": 212,
    "megapixel": 273,
    "second": 307,
    "video": 77,
    "compute_second": 227,
    "1k_characters": 40,
    "token": 21,
    "call": 89,
    "vague": 187,
}


def test_the_classes_come_in_display_order():
    assert [c.label for c in UNIT_CLASSES] == [
        "per image",
        "per megapixel",
        "per second",
        "per video",
        "per compute second",
        "per 1,000 characters",
        "per 1M tokens",
        "per call",
        "price varies",
    ]


def test_the_data_has_the_28_spellings_the_issue_counted():
    assert len(PRICES) == 1433
    assert len(SPELLINGS) == 28


@pytest.mark.parametrize("raw", SPELLINGS)
def test_every_spelling_in_the_data_is_in_the_table(raw):
    """A spelling fal starts using fails here until the table says what it means."""
    unit = parse_unit(raw)
    assert unit.known, f"{raw!r} is not in fal.units' table"
    assert unit.cls in UNIT_CLASSES
    assert unit.raw == raw


def test_endpoints_per_class(capsys):
    by_class = collections.Counter(parse_unit(p["unit"]).cls.key for p in PRICES)
    spellings = collections.defaultdict(set)
    for p in PRICES:
        spellings[parse_unit(p["unit"]).cls.key].add(p["unit"])
    with capsys.disabled():
        print("\nendpoints per unit class (fal pricing, 2026-08-10):")
        for cls in UNIT_CLASSES:
            shown = ", ".join(repr(s) for s in sorted(spellings[cls.key]))
            print(f"  {cls.label:<22} {by_class[cls.key]:>4}  {shown}")
    assert dict(by_class) == EXPECTED_COUNTS
    assert sum(by_class.values()) == 1433


@pytest.mark.parametrize(
    ("raw", "cls", "multiplier"),
    [
        ("5 seconds", SECOND, 5),
        ("10 seconds", SECOND, 10),
        ("30 seconds", SECOND, 30),
        ("minutes", SECOND, 60),
        ("input seconds", SECOND, 1),
        ("1m tokens", TOKEN, 1),
        ("1000 tokens", TOKEN, Decimal("0.001")),
        ("1000 characters ", CHARACTERS, 1),
        ("1000 characters", CHARACTERS, 1),
        ("megapixels", MEGAPIXEL, 1),
        ("processed megapixels", MEGAPIXEL, 1),
        ("images", IMAGE, 1),
        ("videos", VIDEO, 1),
        ("compute seconds", COMPUTE_SECOND, 1),
        ("audios", CALL, 1),
        ("generations", CALL, 1),
        ("requests", CALL, 1),
        # Short spellings read as the full noun, even after another word.
        ("5 s", SECOND, 5),
        ("10 secs", SECOND, 10),
        ("mins", SECOND, 60),
        ("2 min", SECOND, 120),
        ("mp", MEGAPIXEL, 1),
        ("input secs", SECOND, 1),
        ("compute secs", COMPUTE_SECOND, 1),
        ("processed mp", MEGAPIXEL, 1),
    ],
)
def test_multipliers(raw, cls, multiplier):
    unit = parse_unit(raw)
    assert (unit.cls, unit.multiplier, unit.known) == (cls, Decimal(multiplier), True)


@pytest.mark.parametrize(
    "raw", ["units", "credits", "", "1", "train units", "steps", "video segments", "16 frames"]
)
def test_vague_spellings(raw):
    assert parse_unit(raw).cls is VAGUE and parse_unit(raw).known


@pytest.mark.parametrize("raw", [" Images", "IMAGE", "image", "images ", "  images  "])
def test_case_spacing_and_plurals_do_not_matter(raw):
    assert parse_unit(raw).cls is IMAGE


def test_other_spellings_of_counts_read_the_same():
    assert parse_unit("1,000 Characters").multiplier == 1
    assert parse_unit("1M tokens").multiplier == parse_unit("1000k tokens").multiplier
    assert parse_unit("2 minutes").multiplier == 120
    assert parse_unit("characters").multiplier == Decimal("0.001")


def test_an_unknown_spelling_is_vague_and_flagged():
    unit = parse_unit("gigawatt hours")
    assert unit.cls is VAGUE and not unit.known
    assert price_text(2, "gigawatt hours")[0] == "price varies"


def test_the_per_class_price_divides_by_the_multiplier():
    assert parse_unit("1000 tokens").per_class_price(0.0214) == Decimal("21.4")  # per 1M tokens
    assert parse_unit("5 seconds").per_class_price(0.5) == Decimal("0.1")
    assert parse_unit("units").per_class_price(1) is None


# --- text ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit_price", "raw", "text"),
    [
        (0.025, "images", "$0.025 / image"),
        (0.28, "seconds", "$0.28 / s"),
        (0.025, "megapixels", "$0.025 / megapixel"),
        (0.025, "processed megapixels", "$0.025 / megapixel"),
        (0.00111, "compute seconds", "$0.00111 / compute second"),
        (0.0376, "audios", "$0.0376 / audio"),
        (40, "trainings", "$40 / training"),
        (0.0042, "input seconds", "$0.0042 / s of input"),
        # One unit per class: per second, per 1,000 characters, per 1M tokens.
        (0.5, "5 seconds", "$0.10 / s"),
        (0.8, "minutes", "$0.0133 / s"),
        (0.0007, "minutes", "$0.0000117 / s"),
        (1.2, "1m tokens", "$1.20 / 1M tokens"),
        (0.0214, "1000 tokens", "$21.40 / 1M tokens"),
        (0.06, "1000 characters ", "$0.06 / 1,000 characters"),
        (0.00003, "characters", "$0.03 / 1,000 characters"),
        # Rounded to three significant figures (never fewer than the cent's).
        (6.944444e-05, "seconds", "$0.0000694 / s"),
        (12.345, "videos", "$12.35 / video"),
        (0.123456, "images", "$0.123 / image"),
    ],
)
def test_price_text_shows_one_unit_per_class_rounded_to_three_figures(unit_price, raw, text):
    assert price_text(unit_price, raw)[0] == text


def test_prices_of_one_class_in_several_units_compare_as_shown():
    """$0.00001 / s, $0.0007 / min and $0.00006944444 / s, in the one unit the class shows."""
    shown = [price_text(p, raw)[0] for p, raw in [(1e-05, "seconds"), (0.0007, "minutes"),
                                                  (6.944444e-05, "seconds")]]  # fmt: skip
    assert shown == ["$0.00001 / s", "$0.0000117 / s", "$0.0000694 / s"]


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (Decimal("0.00006944444"), Decimal("0.0000694")),
        (Decimal("0.0376"), Decimal("0.0376")),
        (Decimal("0.12345"), Decimal("0.123")),
        (Decimal("0.0125"), Decimal("0.0125")),
        (Decimal("0.00125"), Decimal("0.00125")),
        (Decimal("12.345"), Decimal("12.35")),
        (Decimal("1234.5"), Decimal("1234.50")),
        (Decimal("2.5"), Decimal("2.5")),
        (Decimal("0.0000116666"), Decimal("0.0000117")),
        (Decimal("0.0000125"), Decimal("0.0000125")),
        (Decimal("0.00001235"), Decimal("0.0000124")),  # half up
        (Decimal(0), Decimal(0)),
    ],
)
def test_a_shown_price_keeps_three_significant_figures_or_the_cent(value, rounded):
    assert round_price(value) == rounded


def test_a_vague_unit_says_price_varies_with_fals_figure_in_the_tooltip():
    assert price_text(1, "units") == ("price varies", "$1 per “units” (fal's unit)")
    assert price_text(0.02, "") == ("price varies", "$0.02 (fal names no unit)")
    assert price_text(0.005, "1") == ("price varies", "$0.005 per “1” (fal's unit)")


@pytest.mark.parametrize(
    ("raw", "tooltip"),
    [
        ("images", "$0.04 per image (fal's unit: “images”)"),
        ("compute seconds", "$0.04 per compute second (fal's unit: “compute seconds”)"),
        ("5 seconds", "$0.04 per 5 s (fal's unit: “5 seconds”)"),
        ("1000  characters ", "$0.04 per 1,000 characters (fal's unit: “1000 characters”)"),
    ],
)
def test_a_tooltip_names_the_unit_in_the_singular_beside_fals_spelling(raw, tooltip):
    assert price_text(0.04, raw)[1] == tooltip


@pytest.mark.parametrize("price", [p for p in PRICES if parse_unit(p["unit"]).cls is VAGUE])
def test_no_vague_price_in_the_data_is_ever_shown_as_a_figure(price):
    text, tooltip = price_text(price["unit_price"], price["unit"])
    assert text == "price varies"
    assert "$" not in text
    assert tooltip.startswith(format_money(price["unit_price"]))


def test_every_price_in_the_data_keeps_fals_figure_in_its_tooltip_and_shows_it_rounded():
    for price in PRICES:
        text, tooltip = price_text(price["unit_price"], price["unit"])
        exact = re.match(r"\$([0-9,.]+)", tooltip)[1].replace(",", "")
        assert Decimal(exact) == Decimal(repr(price["unit_price"])), price
        assert "e" not in exact.lower()
        unit = parse_unit(price["unit"])
        if unit.vague:
            assert text == "price varies"
            continue
        shown = Decimal(re.match(r"\$([0-9,.]+) / ", text)[1].replace(",", ""))
        per_class = unit.per_class_price(price["unit_price"])
        assert shown == round_price(per_class) and text.endswith(f" / {unit.per_noun}")
        # At most three significant figures past the cent: never "$0.00006944444".
        assert len(shown.normalize().as_tuple().digits) <= 3 or shown >= 1, price


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "$1"),
        (40, "$40"),
        (0.5, "$0.50"),
        (2.5, "$2.50"),
        (0.0376, "$0.0376"),
        (0.003, "$0.003"),
        (6.944444e-05, "$0.00006944444"),
        (1e-05, "$0.00001"),
        (0.1 + 0.2, "$0.30"),
        (1234.5, "$1,234.50"),
        (0, "$0"),
    ],
)
def test_money_keeps_its_significant_digits_and_no_float_artefacts(value, text):
    assert format_money(value) == text


def test_money_in_another_currency_is_named():
    assert format_money(0.5, "EUR") == "0.50 EUR"


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0262144, "$0.03"), (0.7, "$0.70"), (0.0031457, "$0.0031"), (0.000125, "$0.00013")],
)
def test_approximations_round_to_the_cent_or_two_significant_digits(value, text):
    assert approximate_money(value) == text


# --- reference jobs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "unit_price", "job"),
    [
        ("seconds", 0.028, "≈ $0.14 for a 5 s clip"),
        ("5 seconds", 0.5, "≈ $0.50 for a 5 s clip"),
        ("minutes", 0.8, "≈ $0.07 for a 5 s clip"),
        ("megapixels", 0.025, "≈ $0.03 for a 1024×1024 image"),  # 1.048576 MP
        ("megapixels", 0.003, "≈ $0.0031 for a 1024×1024 image"),
        ("images", 0.04, "≈ $0.04 for one image"),
        ("videos", 0.4, "≈ $0.40 for one video"),
        ("1000 characters ", 0.1, "≈ $0.10 for 1,000 characters"),
        ("audios", 0.0376, "≈ $0.04 for one audio"),
        ("requests", 0.3, "≈ $0.30 for one request"),
    ],
)
def test_reference_jobs(raw, unit_price, job):
    assert reference_job(parse_unit(raw), unit_price) == job
    assert reference_job(raw, unit_price) == job


@pytest.mark.parametrize(
    ("raw", "unit_price", "cost"),
    [
        ("seconds", 0.028, "0.14"),
        ("minutes", 0.6, "0.05"),
        ("megapixels", 0.025, "0.0262144"),
        ("images", 0.04, "0.04"),
        ("1000 characters", 0.1, "0.1"),
        ("generations", 0.3, "0.3"),
        ("compute seconds", 0.001, None),
        ("1m tokens", 1, None),
        ("units", 1, None),
    ],
)
def test_a_reference_jobs_cost_is_exact_where_the_class_has_one(raw, unit_price, cost):
    """What a max price "for a typical job" is held against (the text rounds it)."""
    assert reference_job_cost(parse_unit(raw), unit_price) == (Decimal(cost) if cost else None)


@pytest.mark.parametrize(
    ("raw", "unit_price", "job", "cost"),
    [
        # Every frame's pixels: 121 frames of 1280×720 are 111.5136 megapixels.
        ("megapixels", 0.0008, "≈ $0.09 for a 121-frame 1280×720 clip (about 5 s)", "0.08921088"),
        ("megapixels", 0.0024075, "≈ $0.27 for a 121-frame 1280×720 clip (about 5 s)", None),
        # Other units of a video model read as before.
        ("seconds", 0.028, "≈ $0.14 for a 5 s clip", "0.14"),
        ("videos", 0.4, "≈ $0.40 for one video", "0.4"),
    ],
)
def test_a_video_models_typical_job_is_a_clip_not_an_image(raw, unit_price, job, cost):
    assert reference_job(raw, unit_price, video=True) == job
    if cost is not None:
        assert reference_job_cost(raw, unit_price, video=True) == Decimal(cost)
    assert reference_job_cost(raw, unit_price, video=True) >= reference_job_cost(raw, unit_price)


@pytest.mark.parametrize(
    "raw", ["units", "credits", "", "1m tokens", "1000 tokens", "compute seconds"]
)
def test_no_reference_job_where_the_arithmetic_is_not_exact(raw):
    assert reference_job(raw, 1) is None


def test_every_price_in_the_data_gets_a_job_unless_its_class_has_none():
    no_job = {VAGUE, TOKEN, COMPUTE_SECOND}
    for price in PRICES:
        unit = parse_unit(price["unit"])
        job = reference_job(unit, price["unit_price"])
        assert (job is None) == (unit.cls in no_job), price
        assert job is None or job.startswith("≈ $")


@pytest.mark.parametrize(
    ("price", "unit", "currency", "words"),
    [
        (0.025, "images", "USD", "$0.025 per image"),
        (0.5, "5 seconds", "USD", "$0.50 per 5 s"),
        (1, "units", "USD", "$1 per “units” (fal's unit)"),
        (2, " gpu\t units ", "USD", "$2 per “gpu units” (fal's unit)"),
        (0.2, "", "USD", "$0.20 (fal names no unit)"),
    ],
)
def test_price_words_name_the_unit_or_fals_own(price, unit, currency, words):
    assert price_words(price, unit, currency) == words


# --- What mutation testing found untested ---------------------------------------------------------


def test_a_three_letter_word_ending_in_s_is_not_taken_for_a_plural():
    """Only words of four letters or more lose an "s": "mps" is not "mp" (megapixels)."""
    unit = parse_unit("mps")
    assert unit.cls is VAGUE and not unit.known


@pytest.mark.parametrize(
    ("raw", "cls", "multiplier", "text"),
    [
        ("1,000 characters", CHARACTERS, 1, "$0.06 / 1,000 characters"),
        ("1,000 tokens", TOKEN, Decimal("0.001"), "$60 / 1M tokens"),
    ],
)
def test_a_count_written_with_a_thousands_comma_is_the_count(raw, cls, multiplier, text):
    unit = parse_unit(raw)
    assert (unit.cls, unit.multiplier) == (cls, Decimal(multiplier))
    assert price_text(0.06, raw)[0] == text


@pytest.mark.parametrize(
    ("raw", "count"), [("16 frames", 16), ("units", 1), ("1000 credits", 1000)]
)
def test_a_vague_unit_keeps_fals_count_and_has_no_noun(raw, count):
    unit = parse_unit(raw)
    assert (unit.cls, unit.multiplier, unit.noun) == (VAGUE, Decimal(count), "")


def test_an_integer_price_is_read_exactly_not_through_a_float():
    big = 2**53 + 1  # the first integer a float cannot hold
    assert parse_unit("images").per_class_price(big) == Decimal(big)


@pytest.mark.parametrize(("value", "text"), [(0.125, "$0.13"), (0.145, "$0.15")])
def test_an_approximation_rounds_half_a_cent_up(value, text):
    assert approximate_money(value) == text


def test_money_with_no_currency_is_a_bare_number():
    assert format_money(0.5, "") == "0.50"
    assert format_money(1234.5, "") == "1,234.50"


def test_a_price_in_another_currency_names_it_in_every_text():
    assert approximate_money(0.7, "EUR") == "0.70 EUR"
    assert price_text(0.5, "images", "EUR") == (
        "0.50 EUR / image",
        "0.50 EUR per image (fal's unit: “images”)",
    )
    assert reference_job("images", 0.04, "EUR") == "≈ 0.04 EUR for one image"


@pytest.mark.parametrize(
    ("amount", "shown"), [(Decimal("0E+3"), "$0"), (Decimal("1E+3"), "$1,000"), (0, "$0")]
)
def test_a_whole_amount_is_written_out_never_in_scientific_notation(amount, shown):
    # A price divided by a unit below 1 (0 / 0.001) is a Decimal with a positive exponent.
    assert format_money(amount) == shown
    assert approximate_money(amount) == shown
