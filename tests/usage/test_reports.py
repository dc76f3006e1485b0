"""usage/reports.py's pure parts: how the URL is read and how money reads."""

from __future__ import annotations

from decimal import Decimal

import pytest

from usage.figures import cost_text, money_text
from usage.reports import UsageView, parse_usage_view


@pytest.mark.parametrize(
    ("amount", "text"),
    [("0.8", "$0.80"), ("0.0177", "$0.0177"), ("0.00004", "$0.00"), ("0.12345", "$0.1235"),
     ("1.405", "$1.41"), ("1234.5", "$1,234.50")],
)  # fmt: skip
def test_a_cost_per_call_reads_to_four_decimals_below_a_dollar(amount, text):
    assert cost_text(Decimal(amount)) == text


def test_money_is_shown_to_the_cent_half_up():
    assert money_text(Decimal("3467.225")) == "$3,467.23"
    assert money_text(Decimal("0.6"), "EUR") == "0.60 EUR"
    assert money_text(None) == "—"


def test_the_url_is_read_into_a_view_and_spelled_back_without_defaults():
    view, messages = parse_usage_view({"days": "90", "key": "k-ops", "sort": "p95"})
    assert (view, messages) == (UsageView(days=90, key="k-ops", sort="p95"), [])
    longest = "k" * 200  # as long as a filter may be
    assert parse_usage_view({"key": longest}) == (UsageView(key=longest), [])
    assert view.params(sort="spend") == {"days": "90", "key": "k-ops"}
    assert parse_usage_view({})[0].params() == {}


@pytest.mark.parametrize(
    ("params", "said"),
    [({"days": "8"}, "A window is 7, 30 or 90 days"), ({"days": "-7"}, "A window is"),
     ({"sort": "price"}, "Unknown sort “price”: sorted by spend"),
     ({"key": "x" * 201}, "not one fal could have named"),
     ({"user": "a\nb"}, "not one fal could have named"),
     ({"key": "k", "user": "alice"}, "not both")],
)  # fmt: skip
def test_a_value_the_page_cannot_take_is_said_and_dropped(params, said):
    view, messages = parse_usage_view(params)
    assert len(messages) == 1 and said in messages[0]
    assert view.days == 30 and view.sort == "spend" and not view.user
