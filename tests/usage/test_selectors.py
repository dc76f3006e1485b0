"""The team's 30-day figures per endpoint (usage/selectors.py): keyed by the latest run that
fetched anything, read in two queries once per process and run, and exactly the tables' sums."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from usage import selectors
from usage.figures import WINDOW_DAYS
from usage.models import AnalyticsDay, AnalyticsSummary, UsageLine, UsageSyncRun, from_nanos
from usage.sync import usage_sync

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
FETCHED, FAILED = UsageSyncRun.Part.FETCHED, UsageSyncRun.Part.FAILED


@pytest.fixture(autouse=True)
def fresh_memo():
    selectors._kept.clear()
    selectors._daily.clear()


def test_the_latest_run_is_the_newest_that_fetched_anything():
    assert selectors.latest_run_id() is None
    assert selectors.team_usage(None).synced is False
    good = usage_sync()
    today = timezone.now().date()
    UsageSyncRun.objects.create(  # failed: the tables keep the good run's figures
        trigger="t", source="x", since=today, until=today, usage=FAILED, analytics=FAILED,
        finished_at=timezone.now(),
    )  # fmt: skip
    UsageSyncRun.objects.create(trigger="t", source="x", since=today, until=today)  # running
    assert selectors.latest_run_id() == good.pk


def test_the_figures_are_the_tables_sums_over_the_runs_last_30_days():
    run = usage_sync()
    since = run.until - timedelta(days=WINDOW_DAYS)
    with CaptureQueriesContext(connection) as queries:
        usage = selectors.team_usage(run.pk)
    assert len(queries) == 3  # the run, the lines, the summaries
    lines = UsageLine.objects.filter(day__gte=since, day__lt=run.until)
    spend = dict(lines.values_list("endpoint_id").annotate(Sum("cost_total")))
    calls = dict(
        AnalyticsSummary.objects.filter(days=30).values_list("endpoint_id", "request_count")
    )
    assert set(usage.ranking) == set(spend) | set(calls)
    for endpoint_id, figures in usage.by_endpoint.items():
        assert figures.spend == from_nanos(spend[endpoint_id])
        assert figures.calls == calls[endpoint_id]
    with CaptureQueriesContext(connection) as queries:
        assert selectors.team_usage(run.pk) is usage  # kept: no query
    assert len(queries) == 0


def test_an_endpoints_days_add_up_to_its_window_in_one_query():
    run = usage_sync()
    usage = selectors.team_usage(run.pk)
    endpoint_id = next(iter(usage.ranking))
    with CaptureQueriesContext(connection) as queries:
        days = selectors.daily(usage, endpoint_id)
        assert selectors.daily(usage, endpoint_id) is days
    assert len(queries) == 1
    window = {"endpoint_id": endpoint_id, "day__gte": usage.since, "day__lt": usage.until}
    assert sum(d.spend for d in days if d.spend) == usage.get(endpoint_id).spend
    analytics = AnalyticsDay.objects.filter(**window).aggregate(n=Sum("request_count"))["n"]
    assert sum(d.calls for d in days if d.calls) == analytics
    assert [d.day for d in days] == sorted({d.day for d in days})
    assert selectors.daily(usage, "fal-ai/never-called") == ()
