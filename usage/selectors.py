"""The team's last 30 days per endpoint, as the pages beside the catalog show it.

`team_usage(run_id)` reads every used endpoint's figures in two queries and keeps them per
process, keyed by the latest usage sync run that fetched anything (`latest_run_id`): the
tables change only in such a run, so a page learns that id (the catalog reads it with its
state, in the same statement) and pays nothing else. `daily` is one endpoint's figures per
day, one query, kept likewise. The window is the run's last `WINDOW_DAYS` days.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import date, timedelta
from functools import cache

from django.db import connection
from django.db.models import Q, Sum

from usage.figures import NO_USAGE, WINDOW_DAYS, DayFigures, EndpointUsage, TeamUsage
from usage.models import AnalyticsDay, AnalyticsSummary, UsageLine, UsageSyncRun, from_nanos
from usage.upstream import OFFLINE_BASE_URL

DAILY_KEPT = 256  # endpoints whose daily figures a process keeps


def good_runs_filter() -> Q:
    """The runs that changed the tables: finished, with a part fetched."""
    fetched = UsageSyncRun.Part.FETCHED
    return Q(finished_at__isnull=False) & (Q(usage=fetched) | Q(analytics=fetched))


def latest_run_id() -> int | None:
    """The latest usage sync run that fetched anything (one small query)."""
    runs = UsageSyncRun.objects.filter(good_runs_filter()).order_by("-pk")  # created as started
    return runs.values_list("pk", flat=True).first()


_kept: dict[int, TeamUsage] = {}
_daily: OrderedDict[tuple[int, str], tuple[DayFigures, ...]] = OrderedDict()
_lock = threading.Lock()


def team_usage(run_id: int | None) -> TeamUsage:
    """Every used endpoint's figures as of run `run_id` (built once per process and run)."""
    if run_id is None:
        return NO_USAGE
    if (kept := _kept.get(run_id)) is not None:
        return kept
    built = _build(run_id)
    with _lock:
        _kept.clear()  # only the latest run is asked for
        _kept[run_id] = built
    return built


def _build(run_id: int) -> TeamUsage:
    run = UsageSyncRun.objects.filter(pk=run_id).values("until", "source").first()
    if run is None:
        return NO_USAGE
    until: date = run["until"]
    since = until - timedelta(days=WINDOW_DAYS)
    found: dict[str, EndpointUsage] = {}
    lines = (
        UsageLine.objects.filter(day__gte=since, day__lt=until)
        .values("endpoint_id", "unit", "currency")
        .annotate(spend=Sum("cost_total"), quantity=Sum("quantity"))
        .order_by("endpoint_id", "-spend")
    )
    for row in lines:
        endpoint_id = row["endpoint_id"]
        if endpoint_id in found:  # a second unit or currency: the biggest spend's is shown
            kept = found[endpoint_id]
            if kept.currency == row["currency"]:
                found[endpoint_id] = replace(kept, spend=kept.sort_spend + from_nanos(row["spend"]))
            continue
        found[endpoint_id] = EndpointUsage(
            endpoint_id,
            spend=from_nanos(row["spend"]),
            currency=row["currency"],
            quantity=row["quantity"],
            unit=row["unit"],
        )
    summaries = AnalyticsSummary.objects.filter(days=WINDOW_DAYS).values_list(
        "endpoint_id", "request_count", "error_count", "user_error_count", "p50_duration",
        "p95_duration",
    )  # fmt: skip
    for endpoint_id, calls, errors, user_errors, p50, p95 in summaries:
        found[endpoint_id] = replace(
            found.get(endpoint_id) or EndpointUsage(endpoint_id),
            calls=calls, errors=errors, user_errors=user_errors, p50=p50, p95=p95,
        )  # fmt: skip
    return TeamUsage(
        run_id=run_id,
        since=since,
        until=until,
        demo=run["source"] == OFFLINE_BASE_URL,
        by_endpoint=found,
    )


def daily(usage: TeamUsage, endpoint_id: str) -> tuple[DayFigures, ...]:
    """The endpoint's spend and calls on each day of the window that has either (one
    query, kept per run and endpoint)."""
    if usage.run_id is None or usage.get(endpoint_id) is None:
        return ()
    key = (usage.run_id, endpoint_id)
    with _lock:
        if key in _daily:
            _daily.move_to_end(key)
            return _daily[key]
    with connection.cursor() as cursor:
        cursor.execute(_daily_sql(), [endpoint_id, usage.since, usage.until] * 2)
        rows = cursor.fetchall()
    days: dict[date, list] = {}
    for day, nanos, count in rows:
        figures = days.setdefault(_as_date(day), [None, None])
        if nanos is not None:
            figures[0] = from_nanos(nanos)
        if count is not None:
            figures[1] = count
    found = tuple(DayFigures(day, *days[day]) for day in sorted(days))
    with _lock:
        _daily[key] = found
        while len(_daily) > DAILY_KEPT:
            _daily.popitem(last=False)
    return found


@cache
def _daily_sql() -> str:
    """Spend per day (usage lines) and calls per day (analytics) of one endpoint, in one
    statement: a union Django's ORM would not build over two models' grouped values."""
    lines, days = UsageLine._meta.db_table, AnalyticsDay._meta.db_table
    return f"""
        SELECT day, SUM(cost_total), NULL FROM {lines}
        WHERE endpoint_id = %s AND day >= %s AND day < %s GROUP BY day
        UNION ALL
        SELECT day, NULL, request_count FROM {days}
        WHERE endpoint_id = %s AND day >= %s AND day < %s
    """  # noqa: S608


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
