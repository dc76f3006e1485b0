"""The emulator's usage and analytics (fal_emulator/usage.py): the contract's key rules, a
deterministic and plausible demo team, windows, filters and paging."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fal_emulator import load_prices, snapshot_emulator
from fal_emulator.demo_team import CALLERS, TEAM, TEAM_SINCE
from fal_emulator.snapshot import load_snapshot
from fal_emulator.usage import OFFLINE_ADMIN_KEY

ADMIN = f"Key {OFFLINE_ADMIN_KEY}"
MEMBER = "Key some-ordinary-key"
USAGE = "/v1/models/usage"
ANALYTICS = "/v1/models/analytics"
WINDOW = [("start", "2026-09-01"), ("end", "2026-12-01"), ("timeframe", "day"), ("limit", "100")]
SORA = "fal-ai/sora-2/text-to-video"
WAN = "fal-ai/wan/v2.2-a14b/text-to-video"


def ask(path: str, query: list[tuple[str, str]], authorization: str | None = ADMIN):
    status, headers, body = snapshot_emulator().handle(
        "GET", path, query, authorization=authorization
    )
    return status, json.loads(body)


def ok(path: str, query: list[tuple[str, str]], authorization: str = ADMIN) -> dict:
    status, body = ask(path, query, authorization)
    assert status == 200, body
    return body


def every_page(path: str, query: list[tuple[str, str]]) -> list[dict]:
    pages, cursor = [], None
    while True:
        page = ok(path, query + ([("cursor", cursor)] if cursor else []))
        pages.append(page)
        if not page["has_more"]:
            return pages
        cursor = page["next_cursor"]


def team_ids(count: int = 50) -> list[tuple[str, str]]:
    return [("endpoint_id", e.endpoint_id) for e in TEAM[:count]]


def money(value: float) -> Decimal:
    return Decimal(repr(value))


# --- Keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [USAGE, ANALYTICS])
@pytest.mark.parametrize("authorization", [None, "", "Key ", "Bearer admin-x"])
def test_without_a_key_both_paths_answer_401_with_the_envelope(path, authorization):
    status, body = ask(path, [*team_ids(1)], authorization)
    assert status == 401
    assert body["error"]["type"] == "authorization_error"
    assert body["error"]["message"] and body["error"]["request_id"]


def test_usage_with_a_key_that_is_not_an_admin_key_is_403():
    status, body = ask(USAGE, WINDOW, MEMBER)
    assert status == 403
    assert body["error"]["type"] == "authorization_error"
    assert "admin" in body["error"]["message"]


def test_analytics_answers_any_key():
    body = ok(ANALYTICS, WINDOW + team_ids(3), MEMBER)
    assert body["time_series"] and body["has_more"] is False


def test_the_key_is_checked_before_the_parameters():
    status, _ = ask(USAGE, [("timezone", "Mars/Base")], MEMBER)
    assert status == 403
    status, _ = ask(ANALYTICS, [], None)  # no endpoint_id either
    assert status == 401


def test_a_method_other_than_get_is_405():
    status, headers, _ = snapshot_emulator().handle("POST", USAGE, [], authorization=ADMIN)
    assert status == 405 and ("Allow", "GET, HEAD") in headers


# --- The demo team ---------------------------------------------------------------------------


def test_the_same_window_gives_the_same_bytes_and_each_day_its_own_figures():
    first = snapshot_emulator().handle("GET", USAGE, WINDOW, authorization=ADMIN)[2]
    again = snapshot_emulator().handle("GET", USAGE, WINDOW, authorization=ADMIN)[2]
    assert first == again
    wide = {b["bucket"]: b["results"] for b in ok(USAGE, WINDOW)["time_series"]}
    narrow = ok(USAGE, [("start", "2026-10-05"), ("end", "2026-10-08"), ("timeframe", "day")])
    assert [b["bucket"][:10] for b in narrow["time_series"]] == [
        "2026-10-05", "2026-10-06", "2026-10-07"
    ]  # fmt: skip
    for bucket in narrow["time_series"]:
        assert bucket["results"] == wide[bucket["bucket"]]


def test_the_team_calls_a_few_dozen_endpoints_one_of_them_gone_from_the_catalog():
    used = {r["endpoint_id"] for b in ok(USAGE, WINDOW)["time_series"] for r in b["results"]}
    assert 24 <= len(used) <= 48
    catalog = {m["endpoint_id"] for m in load_snapshot()[0]}
    assert used - catalog == {SORA}


def test_the_team_pays_fal_s_recorded_prices():
    recorded = {p["endpoint_id"]: p for p in load_prices()}
    summary = ok(USAGE, [*WINDOW, ("expand", "summary")])["summary"]
    for line in summary:
        if line["endpoint_id"] != SORA:
            price = recorded[line["endpoint_id"]]
            assert (line["unit_price"], line["unit"]) == (price["unit_price"], price["unit"])


def test_weekdays_are_busier_than_weekends():
    calls = defaultdict(list)
    body = ok(
        ANALYTICS, WINDOW + team_ids() + [("expand", "time_series"), ("expand", "request_count")]
    )
    for bucket in body["time_series"]:
        weekday = datetime.fromisoformat(bucket["bucket"]).weekday()
        calls[weekday >= 5].append(sum(r["request_count"] for r in bucket["results"]))
    weekday_mean = sum(calls[False]) / len(calls[False])
    weekend_mean = sum(calls[True]) / len(calls[True])
    assert weekend_mean < weekday_mean / 2


def test_one_endpoint_fails_often_and_the_others_seldom():
    query = WINDOW + team_ids() + [("expand", "summary"), ("expand", "request_count"),
                                   ("expand", "error_count")]  # fmt: skip
    rates = {
        r["endpoint_id"]: r["error_count"] / r["request_count"]
        for r in ok(ANALYTICS, query)["summary"]
    }
    assert rates[WAN] > 0.15
    assert max(rate for endpoint_id, rate in rates.items() if endpoint_id != WAN) < 0.03


def test_a_discounted_line_charges_its_subtotal_less_its_discount():
    query = [*WINDOW, ("expand", "summary"), ("endpoint_id", "fal-ai/flux/dev")]
    (line,) = ok(USAGE, query)["summary"]
    subtotal, discount = money(line["cost_subtotal"]), money(line["cost_discount"])
    assert line["percent_discount"] == 10
    assert money(line["cost_total"]) == subtotal - discount
    assert abs(discount - subtotal / 10) < Decimal("0.001")  # each day's rounded to 1e-6


def test_no_figures_before_the_team_started_or_after_today():
    first, second = TEAM_SINCE.isoformat(), (TEAM_SINCE + timedelta(days=1)).isoformat()
    before = (TEAM_SINCE - timedelta(days=5)).isoformat()
    body = ok(USAGE, [("start", before), ("end", (TEAM_SINCE + timedelta(days=2)).isoformat())])
    assert [b["bucket"][:10] for b in body["time_series"]] == [first, second]
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    future = [("start", tomorrow.isoformat()), ("end", (tomorrow + timedelta(days=9)).isoformat())]
    assert ok(USAGE, future)["time_series"] == []


# --- Sums, filters and paging -------------------------------------------------------------------


def test_the_summary_is_the_sum_of_the_time_series():
    body = ok(USAGE, [*WINDOW, ("expand", "time_series"), ("expand", "summary")])
    per_endpoint: dict[str, Decimal] = defaultdict(Decimal)
    for bucket in body["time_series"]:
        for line in bucket["results"]:
            per_endpoint[line["endpoint_id"]] += money(line["cost_total"])
    assert {
        line["endpoint_id"]: money(line["cost_total"]) for line in body["summary"]
    } == per_endpoint


def test_lines_per_caller_add_up_to_the_lines_of_the_endpoint():
    day = [("start", "2026-11-02"), ("end", "2026-11-03"), ("timeframe", "day")]
    whole = ok(USAGE, [*day, ("endpoint_id", "fal-ai/flux/schnell")])["time_series"][0]["results"]
    expand = [("expand", e) for e in ("time_series", "auth_method", "auth_method_structured")]
    split = ok(USAGE, [*day, ("endpoint_id", "fal-ai/flux/schnell"), *expand])
    lines = split["time_series"][0]["results"]
    assert {line["auth_method_structured"]["detail"] for line in lines} == {
        c.detail for c in CALLERS
    }
    assert {line["auth_method"] for line in lines} >= {"Production", "User token"}
    assert sum(money(line["quantity"]) for line in lines) == money(whole[0]["quantity"])
    assert sum(money(line["cost_total"]) for line in lines) == money(whole[0]["cost_total"])


def test_the_key_and_member_filters_narrow_to_that_caller():
    by_key = ok(USAGE, [*WINDOW, ("api_key_id", "key_ci_44d0"), ("expand", "summary"),
                        ("expand", "auth_method_structured")])["summary"]  # fmt: skip
    assert {line["auth_method_structured"]["api_key_id"] for line in by_key} == {"key_ci_44d0"}
    by_member = ok(USAGE, [*WINDOW, ("login_username", "alice,bob"), ("expand", "summary"),
                           ("expand", "auth_method_structured")])["summary"]  # fmt: skip
    assert {line["auth_method_structured"]["login_username"] for line in by_member} == {
        "alice",
        "bob",
    }


def test_pages_of_ten_buckets_give_the_same_buckets_as_one_page():
    days = WINDOW[:3]  # without a limit
    pages = every_page(USAGE, [*days, ("limit", "10")])
    assert len(pages) == 10  # 91 days
    one_page = ok(USAGE, WINDOW)
    assert [b for p in pages for b in p["time_series"]] == one_page["time_series"]
    assert one_page["next_cursor"] is None and pages[0]["next_cursor"] == "Mg"


def test_week_and_month_buckets_hold_the_sum_of_their_days():
    days = ok(USAGE, [("start", "2026-11-01"), ("end", "2026-12-01"), ("timeframe", "day")])
    month = ok(USAGE, [("start", "2026-11-01"), ("end", "2026-12-01"), ("timeframe", "month")])
    total = sum(money(line["cost_total"]) for b in days["time_series"] for line in b["results"])
    (bucket,) = month["time_series"]
    assert bucket["bucket"] == "2026-11-01T00:00:00+00:00"
    assert sum(money(line["cost_total"]) for line in bucket["results"]) == total
    weeks = ok(USAGE, [("start", "2026-11-01"), ("end", "2026-12-01"), ("timeframe", "week")])
    assert all(datetime.fromisoformat(b["bucket"]).weekday() == 0 for b in weeks["time_series"])


def test_analytics_gives_only_the_metrics_asked_and_only_endpoints_with_requests():
    body = ok(ANALYTICS, WINDOW + [("endpoint_id", "fal-ai/flux/dev,nobody/nothing"),
                                   ("expand", "summary"), ("expand", "p95_duration")])  # fmt: skip
    assert "time_series" not in body
    assert body["summary"] == [
        {"endpoint_id": "fal-ai/flux/dev", "p95_duration": body["summary"][0]["p95_duration"]}
    ]
    metrics = ("request_count", "success_count", "user_error_count", "error_count")
    expand = [("expand", "time_series"), *(("expand", m) for m in metrics)]
    counts = ok(ANALYTICS, WINDOW + team_ids(2) + expand)
    for bucket in counts["time_series"]:
        for record in bucket["results"]:
            parts = record["success_count"] + record["user_error_count"] + record["error_count"]
            assert parts == record["request_count"]


@pytest.mark.parametrize(
    "path, query, message",
    [
        (USAGE, [("timezone", "Europe/Paris")], "UTC"),
        (USAGE, [("start", "2026-12-01"), ("end", "2026-11-01")], "before"),
        (USAGE, [("start", "2026-11-01T00:00:00")], "offset"),
        (USAGE, [("start", "yesterday")], "start"),
        (USAGE, [("timeframe", "year")], "timeframe"),
        (USAGE, [("expand", "auth_method")], "time_series"),
        (USAGE, [("expand", "everything")], "expand"),
        (USAGE, [("endpoint_id", "a/b,")], "empty"),
        (USAGE, [("limit", "0")], "limit"),
        (USAGE, [("cursor", "not a cursor")], "cursor"),
        (USAGE, [("start", "2026-01-01"), ("start", "2026-02-01")], "single"),
        (USAGE, [("endpoint_id", f"a/{i}") for i in range(51)], "at most 50"),
        (ANALYTICS, [], "endpoint_id is required"),
        (ANALYTICS, [("endpoint_id", "a/b"), ("expand", "summary")], "metric"),
    ],
)
def test_parameters_the_contract_refuses_are_400(path, query, message):
    status, body = ask(path, query)
    assert status == 400
    assert body["error"]["type"] == "validation_error"
    assert message in body["error"]["message"]
