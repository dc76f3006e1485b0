"""/usage/ (catalog/views/usage.py, usage/reports.py): the page and its CSV show exactly the
sums fal's usage and analytics APIs answered, over the emulator's demo team and over a fake
with figures of its own, for every window and filter; what is missing or failed is said,
with the last good figures and their date; the page asks fal nothing, in a few queries."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import unescape
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fal.client import FalModelsClient
from fal.usage import METRICS, AnalyticsQuery, UsageQuery
from fal_emulator import WSGITransport, snapshot_emulator
from fal_emulator.demo_team import TEAM
from fal_emulator.usage import OFFLINE_ADMIN_KEY
from usage.models import UsageSyncRun
from usage.sync import usage_sync

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 30)
UNTIL = TODAY + timedelta(days=1)
FAKE = "https://api.fal.test/v1"
DEMO = "Demo usage, made up by the offline emulator"
NEEDS_ADMIN_KEY = "Spend and quantities need an admin key"


class UsageTable(HTMLParser):
    """The page's figures: each table row's cells by class, the totals, the chart's table."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.order: list[str] = []
        self.totals: dict[str, str] = {}
        self.chart_rows: list[list[str]] = []
        self._row: str | None = None
        self._cell: str | None = None
        self._text: list[str] = []
        self._in_chart = False
        self._chart_row: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "tr" and attrs.get("data-endpoint"):
            self._row = attrs["data-endpoint"]
            self.rows[self._row] = {}
            self.order.append(self._row)
        elif tag == "details" and "usage-chart-table" in classes:
            self._in_chart = True
        elif tag == "tr" and self._in_chart:
            self._chart_row = []
        elif tag in ("td", "th", "dd"):
            named = [c for c in classes if c.startswith("usage-")]
            self._cell = named[0] if named else tag
            self._text = []

    def handle_data(self, data):
        if self._cell is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th", "dd") and self._cell is not None:
            text = " ".join("".join(self._text).split())
            if tag == "dd":
                self.totals[self._cell] = text
            elif self._chart_row is not None:
                self._chart_row.append(text)
            elif self._row is not None:
                self.rows[self._row][self._cell] = text
            self._cell = None
        elif tag == "tr":
            if self._chart_row is not None and self._chart_row and self._chart_row[0] != "Day":
                self.chart_rows.append(self._chart_row)
            self._row, self._chart_row = None, None
        elif tag == "details":
            self._in_chart = False


def cents(amount: Decimal) -> str:
    return f"${amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def page(client, url: str) -> tuple[str, UsageTable]:
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    return html, UsageTable(html)


def emulator() -> FalModelsClient:
    return FalModelsClient(
        base_url="http://fal-emulator.invalid/v1",
        key=OFFLINE_ADMIN_KEY,
        transport=WSGITransport(snapshot_emulator()),
    )


def api_spend(days: int, **filters) -> dict[str, Decimal]:
    """What the emulator's usage API answers for the window, summed per endpoint."""
    query = UsageQuery(start=UNTIL - timedelta(days=days), end=UNTIL, timeframe="day",
                       limit=100, **filters)  # fmt: skip
    spend: dict[str, Decimal] = defaultdict(Decimal)
    for bucket in emulator().usage(query).time_series:
        for line in bucket.lines:
            spend[line.endpoint_id] += Decimal(repr(line.cost_total))
    return spend


def api_summary(days: int) -> dict:
    """The emulator's analytics summary of the window, per endpoint."""
    team = tuple(e.endpoint_id for e in TEAM)
    query = AnalyticsQuery(endpoint_ids=team, start=UNTIL - timedelta(days=days), end=UNTIL,
                           timeframe="day", expand=("summary", *METRICS))  # fmt: skip
    return {r.endpoint_id: r for r in emulator().analytics(query).summary}


def seconds(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".") + " s"


# --- Over the emulator's demo team --------------------------------------------------------------


@pytest.fixture
def demo_team():
    run = usage_sync(today=TODAY)
    assert (run.usage, run.analytics) == ("fetched", "fetched")
    return run


@pytest.mark.parametrize("days", [7, 30, 90])
def test_each_window_shows_exactly_what_the_emulator_answered(member_client, demo_team, days):
    html, table = page(member_client, f"/usage/?days={days}")
    spend = api_spend(days)
    summary = api_summary(days)
    assert table.totals["usage-total-spend"] == cents(sum(spend.values()))
    calls = sum(r.request_count for r in summary.values())
    assert table.totals["usage-total-calls"] == f"{calls:,}"
    assert set(table.rows) == set(spend) == set(summary)
    for endpoint_id, cells in table.rows.items():
        record = summary[endpoint_id]
        assert cells["usage-spend"] == cents(spend[endpoint_id])
        assert cells["usage-calls"] == f"{record.request_count:,}"
        assert cells["usage-p50"] == seconds(record.p50_duration)
        assert cells["usage-p95"] == seconds(record.p95_duration)
        assert cells["usage-cold"] == f"{record.cold_boot_count:,}"
        errors = f"{record.error_count / record.request_count * 100:.1f} %"
        assert cells["usage-errors"].startswith(errors)
    high = {e for e, r in summary.items() if r.error_count / r.request_count >= 0.05}
    assert high == {"fal-ai/wan/v2.2-a14b/text-to-video"}  # the demo team's failing model
    for endpoint_id in high:
        assert f'data-endpoint="{endpoint_id}"' in html
    assert html.count("usage-errors errors-high") == len(high)
    ranked = sorted(spend, key=lambda e: spend[e], reverse=True)
    assert table.order == ranked  # most spent first
    assert DEMO in html


def test_a_key_or_a_member_narrows_spend_to_what_fal_answered_for_it(member_client, demo_team):
    for params, filters in (
        ("key=key_prod_7f3a", {"api_key_ids": ("key_prod_7f3a",)}),
        ("user=alice&days=7", {"login_usernames": ("alice",)}),
    ):
        html, table = page(member_client, f"/usage/?{params}")
        days = 7 if "days=7" in params else 30
        spend = api_spend(days, **filters)
        assert table.totals["usage-total-spend"] == cents(sum(spend.values()))
        assert {e: c["usage-spend"] for e, c in table.rows.items()} == {
            e: cents(s) for e, s in spend.items()
        }
        assert all(c["usage-cost"] == "—" for c in table.rows.values())
        assert "usage-total-calls" not in table.totals
        assert "the whole team" in html


def test_the_chart_and_its_table_hold_the_same_figures_as_the_api(member_client, demo_team):
    html, table = page(member_client, "/usage/?days=7")
    data = json.loads(
        unescape(
            re.search(r'id="usage-chart-data" type="application/json">(.*?)</script>', html)[1]
        )
    )
    assert data["metric"] == "spend" and len(data["days"]) == 7
    assert len(data["series"]) == 6 and data["series"][-1]["label"] == "Other models"
    per_day: dict[str, Decimal] = defaultdict(Decimal)
    query = UsageQuery(start=UNTIL - timedelta(days=7), end=UNTIL, timeframe="day", limit=100)
    for bucket in emulator().usage(query).time_series:
        for line in bucket.lines:
            per_day[bucket.start.date().isoformat()] += Decimal(repr(line.cost_total))
    assert [row[-1] for row in table.chart_rows] == [cents(per_day[d]) for d in data["days"]]
    for i, day in enumerate(data["days"]):  # the canvas's figures add up to the same day
        drawn = sum(Decimal(repr(s["values"][i])) for s in data["series"])
        assert cents(drawn) == cents(per_day[day])


def test_sorting_by_a_column_orders_the_rows_by_it(member_client, demo_team):
    summary = api_summary(30)
    _, table = page(member_client, "/usage/?sort=p95")
    assert table.order == sorted(summary, key=lambda e: summary[e].p95_duration, reverse=True)
    _, table = page(member_client, "/usage/?sort=model")
    assert table.order == sorted(summary)


def test_a_model_gone_from_fal_s_catalog_is_flagged_and_every_row_links_to_its_page(
    member_client, demo_team
):
    html, table = page(member_client, "/usage/")
    sora = table.rows["fal-ai/sora-2/text-to-video"]["th"]
    assert "gone from fal's catalog" in sora
    assert "gone from fal's catalog" not in table.rows["fal-ai/flux/dev"]["th"]
    assert sum("gone from fal's catalog" in cells["th"] for cells in table.rows.values()) == 1
    for endpoint_id in table.rows:
        assert f'href="/models/{endpoint_id}/"' in html


def test_cost_per_call_is_spend_over_successful_calls_beside_the_list_price(
    member_client, demo_team
):
    _, table = page(member_client, "/usage/")
    spend, summary = api_spend(30), api_summary(30)
    dev = table.rows["fal-ai/flux/dev"]
    per_call = spend["fal-ai/flux/dev"] / summary["fal-ai/flux/dev"].success_count
    assert Decimal(dev["usage-cost"].lstrip("$")) == per_call.quantize(
        Decimal("0.0001"), ROUND_HALF_UP
    )
    assert dev["usage-price"].startswith("$0.025")
    luma = table.rows["fal-ai/luma-dream-machine/ray-2"]["usage-quantity"]
    assert re.fullmatch(r"[\d,]+ × 5 seconds", luma)  # fal's unit is "5 seconds"


def test_the_csv_has_the_page_s_figures_exactly(member_client, demo_team):
    spend, summary = api_spend(90), api_summary(90)
    for url in ("/usage.csv?days=90", "/usage/?days=90&format=csv"):
        response = member_client.get(url)
        assert response["Content-Type"].startswith("text/csv")
        rows = {r["endpoint_id"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
        assert set(rows) == set(spend)
        for endpoint_id, row in rows.items():
            assert Decimal(row["spend_usd"]) == spend[endpoint_id]
            assert int(row["calls"]) == summary[endpoint_id].request_count
            assert float(row["p95_seconds"]) == summary[endpoint_id].p95_duration
        assert rows["fal-ai/sora-2/text-to-video"]["in_catalog"] == "no"


def test_bad_values_are_said_and_dropped_never_a_500(member_client, demo_team):
    html, table = page(member_client, "/usage/?days=13&sort=price&key=nobody&user=%01x")
    assert "A window is 7, 30 or 90 days" in html and "Unknown sort" in html
    assert "No stored usage was made with that key" in html
    assert "not one fal could have named" in html
    assert table.totals["usage-total-spend"] == cents(sum(api_spend(30).values()))
    html, _ = page(member_client, "/usage/?key=key_ci_44d0&user=alice")
    assert "not both" in html


def test_opening_the_page_asks_fal_nothing_in_a_few_queries(
    member_client, demo_team, count_upstream, capsys
):
    member_client.get("/usage/")  # the session and the index, as on any first page
    with CaptureQueriesContext(connection) as queries:
        response = member_client.get("/usage/?days=90&key=key_prod_7f3a&sort=p95")
    assert response.status_code == 200
    assert count_upstream == []
    assert len(queries) <= 10
    with CaptureQueriesContext(connection) as csv_queries:
        member_client.get("/usage.csv?days=90&key=key_prod_7f3a")
    assert len(csv_queries) < len(queries)  # no chart, no top bar
    with capsys.disabled():
        print(f"\n/usage/ (90 days, a key filter): {len(queries)} queries, its CSV "
              f"{len(csv_queries)}, 0 calls to fal")  # fmt: skip


def test_the_top_bar_links_to_the_page(member_client):
    assert 'href="/usage/"' in member_client.get("/changes/").content.decode()


def test_before_any_usage_sync_the_page_says_how_to_run_one(member_client):
    html, _ = page(member_client, "/usage/")
    assert "No usage synced yet" in html and "manage.py usage_sync" in html


# --- Over a fake with figures of its own ---------------------------------------------------------


def fake_usage(mock) -> None:
    line = {"unit": "images", "unit_price": 0.0398, "percent_discount": None, "currency": "USD"}
    body = {"next_cursor": None, "has_more": False, "time_series": [
        {"bucket": "2026-11-29T00:00:00+00:00", "results": [
            {**line, "endpoint_id": "fal-ai/flux/dev", "quantity": 4, "cost_subtotal": 0.1592,
             "cost_discount": 0, "cost_total": 0.1592, "cost": 0.1592,
             "auth_method_structured": {"detail": "Ops", "api_key_id": "k-ops"}}]},
        {"bucket": "2026-11-30T00:00:00+00:00", "results": [
            {**line, "endpoint_id": "acme/retired", "quantity": 7.5, "unit_price": 0.1,
             "percent_discount": 20, "cost_subtotal": 0.75, "cost_discount": 0.15,
             "cost_total": 0.6, "cost": 0.6,
             "auth_method_structured": {"detail": "bob", "login_username": "bob"}}]},
        {"bucket": "2026-11-10T00:00:00+00:00", "results": [
            {**line, "endpoint_id": "fal-ai/flux/dev", "quantity": 100, "cost_subtotal": 3.98,
             "cost_discount": 0, "cost_total": 3.98, "cost": 3.98,
             "auth_method_structured": {"detail": "Ops", "api_key_id": "k-ops"}}]}]}  # fmt: skip
    mock.get(f"{FAKE}/models/usage", json=body)


def fake_analytics(mock) -> None:
    """fal-ai/flux/dev: 12 calls over 7 days, 120 over 30 (figures of their own per window)."""

    def answer(request):
        start = re.search(r"start=([0-9-]+)", request.url)[1]
        days = (UNTIL - date.fromisoformat(start)).days
        calls = {7: 12, 30: 120, 90: 130}[days]
        record = {"endpoint_id": "fal-ai/flux/dev", "request_count": calls,
                  "success_count": calls - 3, "user_error_count": 1, "error_count": 2,
                  "cold_boot_count": 3, "p50_duration": 1.5,
                  "p95_duration": 3.25 * days}  # fmt: skip
        found = "endpoint_id=fal-ai%2Fflux%2Fdev" in request.url
        series = [{"bucket": "2026-11-29T00:00:00Z", "results": [record]}] if found else []
        body = {"next_cursor": None, "has_more": False, "time_series": series,
                "summary": [record] if found else []}  # fmt: skip
        return 200, {}, json.dumps(body)

    mock.add_callback("GET", f"{FAKE}/models/analytics", callback=answer)


@pytest.fixture
def fake(settings, no_internet):
    settings.FAL_API_URL = FAKE
    settings.FAL_KEY = "plain-key"
    settings.FAL_ADMIN_KEY = "admin-key"
    settings.USAGE_SYNC_CANDIDATES = ""
    return no_internet


def test_a_fake_s_own_figures_are_shown_exactly_per_window(member_client, fake):
    fake_usage(fake)
    fake_analytics(fake)
    assert usage_sync(today=TODAY).usage == "fetched"
    html, table = page(member_client, "/usage/?days=7")
    dev = table.rows["fal-ai/flux/dev"]
    assert table.totals["usage-total-spend"] == "$0.76"  # 0.1592 + 0.6
    assert (dev["usage-spend"], dev["usage-calls"], dev["usage-quantity"]) == (
        "$0.16", "12", "4 images"
    )  # fmt: skip
    assert dev["usage-cost"] == "$0.0177"  # 0.1592 / 9 successful calls
    assert dev["usage-errors"] == "16.7 % · user 8.3 %"  # 2 and 1 of 12
    assert (dev["usage-p50"], dev["usage-p95"], dev["usage-cold"]) == ("1.5 s", "22.75 s", "3")
    retired = table.rows["acme/retired"]
    assert "gone from fal's catalog" in retired["th"]
    assert (retired["usage-spend"], retired["usage-calls"]) == ("$0.60", "—")
    assert DEMO not in html
    _, table = page(member_client, "/usage/?days=30")
    dev = table.rows["fal-ai/flux/dev"]
    assert (dev["usage-spend"], dev["usage-calls"], dev["usage-p95"]) == ("$4.14", "120", "97.5 s")
    assert table.totals["usage-total-spend"] == "$4.74"
    _, table = page(member_client, "/usage/?user=bob")
    assert list(table.rows) == ["acme/retired"]


def test_without_the_admin_key_one_sentence_says_so_and_analytics_are_shown(
    member_client, fake, settings
):
    settings.FAL_ADMIN_KEY = ""
    fake_analytics(fake)
    settings.USAGE_SYNC_CANDIDATES = "catalog.CatalogEntry.endpoint_id"
    assert usage_sync(today=TODAY).usage == "missing"
    html, table = page(member_client, "/usage/?days=7")
    assert html.count(NEEDS_ADMIN_KEY) == 1 and "FAL_ADMIN_KEY" in html
    assert "usage-total-spend" not in table.totals
    dev = table.rows["fal-ai/flux/dev"]
    assert (dev["usage-calls"], dev["usage-spend"], dev["usage-p95"]) == ("12", "—", "22.75 s")
    assert "Calls per day" in html
    chart = re.search(r'id="usage-chart-data" type="application/json">(.*?)</script>', html)[1]
    data = json.loads(unescape(chart))
    assert data["metric"] == "calls" and sum(sum(s["values"]) for s in data["series"]) > 0
    assert re.search(r'aria-sort="descending"><a href="[^"]*sort=calls">Calls', html)
    assert "admin-key" not in html and "plain-key" not in html


def test_a_key_removed_after_a_good_sync_keeps_the_last_figures_with_their_date(
    member_client, fake, settings
):
    fake_usage(fake)
    fake_analytics(fake)
    good = usage_sync(today=TODAY)
    settings.FAL_ADMIN_KEY = ""
    assert usage_sync(today=TODAY).usage == "missing"
    html, table = page(member_client, "/usage/?days=7")
    assert html.count(NEEDS_ADMIN_KEY) == 1
    assert table.totals["usage-total-spend"] == "$0.76"
    assert f'from the sync of <time datetime="{good.finished_at.isoformat()}' in html


def test_a_failed_sync_is_said_and_the_last_good_figures_stay_with_their_date(member_client, fake):
    fake_usage(fake)
    fake_analytics(fake)
    good = usage_sync(today=TODAY)
    for path, message in (("usage", "usage is down"), ("analytics", "analytics is down")):
        error = {"error": {"type": "server_error", "message": message}}
        fake.replace("GET", f"{FAKE}/models/{path}", status=500, json=error)
    failed = usage_sync(today=TODAY)
    assert (failed.usage, failed.analytics) == ("failed", "failed")
    html, table = page(member_client, "/usage/?days=7")
    assert "could not fetch spend and quantities" in html and "usage is down" in html
    assert "could not fetch calls, errors and latency" in html
    assert f'from the sync of <time datetime="{good.finished_at.isoformat()}' in html
    assert table.totals["usage-total-spend"] == "$0.76"
    assert table.rows["fal-ai/flux/dev"]["usage-calls"] == "12"
    assert UsageSyncRun.objects.count() == 2


def test_a_sync_that_found_no_calls_shows_an_empty_window(member_client, fake):
    fake.get(f"{FAKE}/models/usage", json={"next_cursor": None, "has_more": False,
                                           "time_series": []})  # fmt: skip
    run = usage_sync(today=TODAY)  # no endpoint used: analytics are asked about none
    assert run.usage == "fetched" and run.usage_lines == 0
    html, table = page(member_client, "/usage/?days=7")
    assert table.totals["usage-total-spend"] == "$0.00"
    assert 'id="usage-chart"' not in html  # nothing to draw
    assert table.rows == {} and "No calls in this window" in html


def test_what_fal_names_is_escaped_on_the_page_and_kept_text_in_the_csv(member_client, fake):
    hostile = '=HYPERLINK("x")/<script>alert(1)</script>'
    line = {"unit": "<b>images</b>", "unit_price": 0.01, "percent_discount": None,
            "currency": "USD", "endpoint_id": hostile, "quantity": 1, "cost_subtotal": 0.01,
            "cost_discount": 0, "cost_total": 0.01, "cost": 0.01,
            "auth_method_structured": {"detail": "<i>Ops</i>", "api_key_id": 'k"ops'}}  # fmt: skip
    series = [{"bucket": "2026-11-29T00:00:00+00:00", "results": [line]}]
    fake.get(f"{FAKE}/models/usage", json={"has_more": False, "time_series": series})
    fake_analytics(fake)
    assert usage_sync(today=TODAY).usage == "fetched"
    html, table = page(member_client, "/usage/?days=7")
    assert "<script>alert" not in html and "<b>images" not in html and "<i>Ops" not in html
    assert list(table.rows) == [hostile]
    assert "&lt;i&gt;Ops&lt;/i&gt;" in html  # the key's label, as text
    rows = list(csv.DictReader(io.StringIO(member_client.get("/usage.csv").content.decode())))
    assert rows[0]["endpoint_id"] == "'" + hostile  # a spreadsheet reads it as text
