"""The usage sync (usage/sync.py): what it stores is exactly what fal answered, over the
emulator and over a fake with figures of its own; re-runs replace; missing keys and every
failure of fal keep the last good figures and say so; and how many calls it makes."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from django.db.models import Sum

from core.locks import cache_lock
from fal.client import FalModelsClient
from fal.usage import METRICS, AnalyticsQuery, UsageQuery
from fal_emulator import WSGITransport, snapshot_emulator
from fal_emulator.demo_team import TEAM
from fal_emulator.testing import FAILURE_MODES, WAITING_MODES, FaultUpstream, counting_emulator
from fal_emulator.usage import OFFLINE_ADMIN_KEY
from usage.models import AnalyticsDay, AnalyticsSummary, UsageLine, UsageSyncRun, from_nanos
from usage.sync import LOCK_KEY, NO_ADMIN_KEY, NO_KEY, SYNC_DAYS, UsageSyncBusy, usage_sync

pytestmark = pytest.mark.django_db
FETCHED, MISSING, FAILED = (UsageSyncRun.Part.FETCHED, UsageSyncRun.Part.MISSING,
                            UsageSyncRun.Part.FAILED)  # fmt: skip
TODAY = date(2026, 11, 30)
FAKE = "https://api.fal.test/v1"
SORA = "fal-ai/sora-2/text-to-video"


def emulator_client() -> FalModelsClient:
    return FalModelsClient(
        base_url="http://fal-emulator.invalid/v1",
        key=OFFLINE_ADMIN_KEY,
        transport=WSGITransport(snapshot_emulator()),
    )


def window(today: date = TODAY) -> tuple[date, date]:
    until = today + timedelta(days=1)
    return until - timedelta(days=SYNC_DAYS), until


def spend_by_endpoint() -> dict[str, Decimal]:
    rows = UsageLine.objects.values("endpoint_id").annotate(spend=Sum("cost_total"))
    return {row["endpoint_id"]: from_nanos(row["spend"]) for row in rows}


def figures() -> tuple:
    """Everything the tables hold, to compare before and after."""
    return (
        spend_by_endpoint(),
        UsageLine.objects.count(),
        list(AnalyticsDay.objects.values_list("endpoint_id", "day", "request_count")),
        list(AnalyticsSummary.objects.values_list("days", "endpoint_id", "p95_duration")),
    )


# --- Over the emulator --------------------------------------------------------------------------


def test_a_sync_stores_exactly_the_sums_the_emulator_answered():
    run = usage_sync(today=TODAY)
    assert (run.usage, run.analytics) == (FETCHED, FETCHED)
    since, until = window()
    assert (run.since, run.until) == (since, until)
    report = emulator_client().usage(UsageQuery(start=since, end=until, timeframe="day", limit=100))
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for bucket in report.time_series:
        for line in bucket.lines:
            expected[line.endpoint_id] += Decimal(repr(line.cost_total))
    assert spend_by_endpoint() == expected  # to the billionth, so to the cent
    assert sum(expected.values()) > 1000
    team = tuple(e.endpoint_id for e in TEAM)
    query = AnalyticsQuery(
        endpoint_ids=team, start=since, end=until, timeframe="day", expand=("summary", *METRICS)
    )
    summary = emulator_client().analytics(query).summary
    stored = {s.endpoint_id: s for s in AnalyticsSummary.objects.filter(days=SYNC_DAYS)}
    assert set(stored) == set(team)
    for record in summary:
        row = stored[record.endpoint_id]
        assert {m: getattr(row, m) for m in METRICS} == record.metrics()  # as given
    assert run.endpoints_used == len(TEAM) and run.endpoints_asked == 1434 + 1  # + Sora 2
    assert 0 < AnalyticsSummary.objects.filter(days=7).count() <= len(TEAM)


def test_lines_per_key_and_member_add_up_to_the_endpoint_s_spend():
    usage_sync(today=TODAY)
    per_caller = UsageLine.objects.values("api_key_id", "login_username").annotate(
        spend=Sum("cost_total")
    )
    callers = {(r["api_key_id"], r["login_username"]) for r in per_caller}
    assert ("key_prod_7f3a", "") in callers and ("", "alice") in callers
    total = sum(r["spend"] for r in per_caller)
    assert from_nanos(total) == sum(spend_by_endpoint().values())


def test_a_re_run_replaces_the_window_without_duplicates():
    usage_sync(today=TODAY)
    before = figures()
    usage_sync(today=TODAY)
    assert figures() == before
    assert UsageSyncRun.objects.count() == 2


def test_a_later_run_keeps_the_days_before_its_window():
    usage_sync(today=TODAY)
    oldest = UsageLine.objects.filter(day=window()[0]).count()
    usage_sync(today=TODAY + timedelta(days=1))
    assert UsageLine.objects.filter(day=window()[0]).count() == oldest
    assert UsageLine.objects.filter(day=TODAY + timedelta(days=1)).exists()


def test_one_sync_at_a_time():
    with cache_lock(LOCK_KEY, ttl=60, wait=0) as held:
        assert held
        with pytest.raises(UsageSyncBusy):
            usage_sync(today=TODAY)
    assert not UsageSyncRun.objects.exists()


def test_a_bug_midway_is_recorded_on_the_run_and_raised(monkeypatch):
    def broken(state):
        raise RuntimeError("no such column")

    monkeypatch.setattr("usage.sync._sync_analytics", broken)
    with pytest.raises(RuntimeError):
        usage_sync(today=TODAY)
    run = UsageSyncRun.objects.get()
    assert run.usage == FETCHED and run.finished_at is not None
    assert (run.analytics, run.analytics_error) == (FAILED, "RuntimeError: no such column")


# --- Over a fake with figures of its own ---------------------------------------------------------


def fake_usage_pages(no_internet) -> list[dict]:
    line = {"unit": "images", "unit_price": 0.0398, "percent_discount": None, "currency": "USD"}
    pages = [
        {"next_cursor": "p2", "has_more": True, "time_series": [
            {"bucket": "2026-11-29T00:00:00+00:00", "results": [
                {**line, "endpoint_id": "acme/rocket", "quantity": 3, "cost_subtotal": 0.1194,
                 "cost_discount": 0, "cost_total": 0.1194, "cost": 0.1194,
                 "auth_method_structured": {"detail": "Ops", "api_key_id": "k-ops"}}]}]},
        {"next_cursor": None, "has_more": False, "time_series": [
            {"bucket": "2026-11-29T00:00:00+00:00", "results": [
                {**line, "endpoint_id": "acme/rocket", "quantity": 1, "cost_subtotal": 0.0398,
                 "cost_discount": 0, "cost_total": 0.0398, "cost": 0.0398,
                 "auth_method_structured": {"detail": "Ops", "api_key_id": "k-ops"}}]},
            {"bucket": "2026-11-30T00:00:00+00:00", "results": [
                {**line, "endpoint_id": "acme/retired", "quantity": 7.5, "unit_price": 0.1,
                 "percent_discount": 20, "cost_subtotal": 0.75, "cost_discount": 0.15,
                 "cost_total": 0.6, "cost": 0.6,
                 "auth_method_structured": {"detail": "bob", "login_username": "bob"}}]}]},
    ]  # fmt: skip
    no_internet.get(f"{FAKE}/models/usage", json=pages[0])
    no_internet.get(f"{FAKE}/models/usage", json=pages[1])
    return pages


def fake_analytics(no_internet) -> list[list[str]]:
    """Analytics for `acme/rocket` only: 12 requests, 2 errors, p95 3.25 s; the ids asked."""
    asked: list[list[str]] = []

    def answer(request):
        query = parse_qsl(urlsplit(request.url).query)
        ids = [v for k, v in query if k == "endpoint_id"]
        asked.append(ids)
        record = {"endpoint_id": "acme/rocket", "request_count": 12, "success_count": 9,
                  "user_error_count": 1, "error_count": 2, "p50_duration": 1.5,
                  "p95_duration": 3.25}  # fmt: skip
        found = "acme/rocket" in ids
        body = {
            "next_cursor": None,
            "has_more": False,
            "time_series": [{"bucket": "2026-11-29T00:00:00Z", "results": [record]}]
            if found
            else [],
            "summary": [record] if found else [],
        }
        return 200, {}, json.dumps(body)

    no_internet.add_callback(responses.GET, f"{FAKE}/models/analytics", callback=answer)
    return asked


@pytest.fixture
def fake(settings, no_internet):
    settings.FAL_API_URL = FAKE
    settings.FAL_KEY = "plain-key"
    settings.FAL_ADMIN_KEY = "admin-key"
    settings.USAGE_SYNC_CANDIDATES = ""  # the endpoints the fake's usage names
    return no_internet


def test_a_fake_s_own_figures_are_stored_exactly(fake):
    fake_usage_pages(fake)
    asked = fake_analytics(fake)
    run = usage_sync(today=TODAY)
    assert (run.usage, run.analytics) == (FETCHED, FETCHED)
    assert spend_by_endpoint() == {"acme/rocket": Decimal("0.1592"), "acme/retired": Decimal("0.6")}
    rocket = UsageLine.objects.get(endpoint_id="acme/rocket")  # two pages, one day: one line
    assert (rocket.quantity, rocket.api_key_id, rocket.caller) == (4, "k-ops", "Ops")
    retired = UsageLine.objects.get(endpoint_id="acme/retired")
    assert (retired.percent_discount, retired.login_username) == (20, "bob")
    assert from_nanos(retired.cost_discount) == Decimal("0.15")
    assert sorted(asked[0]) == ["acme/retired", "acme/rocket"]
    day = AnalyticsDay.objects.get()
    assert (day.day, day.request_count, day.error_count, day.p95_duration) == (
        date(2026, 11, 29), 12, 2, 3.25
    )  # fmt: skip
    assert set(AnalyticsSummary.objects.values_list("days", flat=True)) == {7, 30, 90}
    assert run.upstream_calls == 2 + 3  # two usage pages; analytics for 90, 30 and 7 days
    usage_request = fake.calls[0].request
    assert usage_request.headers["Authorization"] == "Key admin-key"
    assert fake.calls[2].request.headers["Authorization"] == "Key plain-key"


def test_without_an_admin_key_only_analytics_are_synced_and_the_run_says_so(fake, settings):
    settings.FAL_ADMIN_KEY = ""
    settings.USAGE_SYNC_CANDIDATES = "catalog.CatalogEntry.endpoint_id"
    asked = fake_analytics(fake)
    run = usage_sync(today=TODAY)
    assert (run.usage, run.usage_error) == (MISSING, NO_ADMIN_KEY)
    assert run.analytics == FETCHED
    assert not any("/models/usage" in c.request.url for c in fake.calls)
    assert sum(len(ids) for ids in asked[:29]) == 1434  # the catalog, 50 a call
    assert AnalyticsSummary.objects.filter(endpoint_id="acme/rocket").count() == 0


def test_without_any_key_nothing_is_asked_and_the_run_says_what_is_missing(fake, settings):
    settings.FAL_KEY = settings.FAL_ADMIN_KEY = ""
    run = usage_sync(today=TODAY)
    assert (run.usage, run.usage_error) == (MISSING, NO_ADMIN_KEY)
    assert (run.analytics, run.analytics_error) == (MISSING, NO_KEY)
    assert run.upstream_calls == 0 and len(fake.calls) == 0


# --- When fal fails -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upstream():
    with FaultUpstream(stall_seconds=2) as server:
        yield server


@pytest.fixture
def live(settings, upstream):
    settings.FAL_API_URL = upstream.url
    settings.FAL_KEY = "plain-key"
    settings.FAL_ADMIN_KEY = "admin-team-key"
    settings.FAL_API_TIMEOUT = 30  # the failing modes but two answer at once
    settings.CATALOG_SYNC_MAX_RETRIES = 1
    settings.USAGE_SYNC_CANDIDATES = ""  # analytics for the team's endpoints: one batch
    upstream.set_mode("healthy")
    yield upstream
    upstream.set_mode("healthy")


def test_a_key_fal_refuses_for_usage_keeps_the_last_spend(live, settings):
    assert usage_sync(today=TODAY).usage == FETCHED
    before = spend_by_endpoint()
    settings.FAL_ADMIN_KEY = "not-an-admin-key"
    run = usage_sync(today=TODAY)
    assert run.usage == FAILED and run.analytics == FETCHED
    assert "refused the key for usage (403)" in run.usage_error
    assert spend_by_endpoint() == before
    last_good = UsageSyncRun.objects.filter(usage=FETCHED).latest()
    assert last_good.finished_at < run.finished_at


@pytest.mark.parametrize("mode", FAILURE_MODES)
def test_every_failure_of_fal_keeps_the_last_good_figures(live, settings, mode):
    good = usage_sync(today=TODAY)
    assert (good.usage, good.analytics) == (FETCHED, FETCHED)
    before = figures()
    if mode in WAITING_MODES:
        settings.FAL_API_TIMEOUT = 0.3
    live.set_mode(mode)
    started = time.monotonic()
    run = usage_sync(today=TODAY)
    assert time.monotonic() - started < 10
    if mode == "find404":  # only requests naming endpoints fail: analytics, not usage
        assert run.usage == FETCHED
    else:
        assert run.usage == FAILED and run.usage_error
    assert run.analytics == FAILED and run.analytics_error
    assert run.finished_at is not None
    assert figures() == before
    assert UsageSyncRun.objects.filter(analytics=FETCHED).latest() == good


# --- How many calls ----------------------------------------------------------------------------


def test_ninety_days_for_the_whole_catalog_take_a_few_dozen_calls(settings, capsys):
    with counting_emulator(emulator=snapshot_emulator()) as (server, counter):
        settings.FAL_API_URL = server.url
        settings.FAL_ADMIN_KEY = "admin-team-key"
        started = time.monotonic()
        run = usage_sync()
        seconds = time.monotonic() - started
    assert (run.usage, run.analytics) == (FETCHED, FETCHED)
    assert counter.count == run.upstream_calls
    # 1 usage page, 29 analytics batches of the 1,435 endpoints, the 7- and 30-day summaries
    assert counter.count == 1 + 29 + 2
    with capsys.disabled():
        print(f"\nusage sync of {SYNC_DAYS} days, {run.endpoints_asked} endpoints: "
              f"{counter.count} calls to fal, {seconds:.1f} s")  # fmt: skip
