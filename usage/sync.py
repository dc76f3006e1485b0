"""The usage sync: the team's last 90 days from fal's usage and analytics APIs into the tables.

A run asks usage once for the window's daily lines per endpoint, key and member (admin
key; a few pages at most), then analytics in batches of 50 endpoints for the daily figures
and the 90-day summary of every endpoint the team may call (the catalog's, named by
`USAGE_SYNC_CANDIDATES`, and every endpoint it has used, catalog or not), then the 7- and
30-day summaries of the endpoints that had requests. Each part replaces its figures of the
window in one transaction, so a re-run leaves no duplicates; a part fal fails keeps the
last good figures, and the run records the failure (`UsageSyncRun`). Without an admin key
usage is not asked and the run says spend and quantities are missing.

One usage sync at a time (a cache lock); the catalog's sync is apart and may run meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.locks import cache_lock
from fal.errors import FalAPIError, FalAuthenticationError, FalPermissionDeniedError
from fal.types import id_batches
from fal.usage import (
    EXPAND_SUMMARY,
    EXPAND_TIME_SERIES,
    METRICS,
    AnalyticsQuery,
    AnalyticsRecord,
    UsageQuery,
    UsageReport,
)
from usage.models import AnalyticsDay, AnalyticsSummary, UsageLine, UsageSyncRun, to_nanos
from usage.upstream import UsageClients, usage_clients

logger = logging.getLogger(__name__)

SYNC_DAYS = 90
SUMMARY_WINDOWS = (7, 30, SYNC_DAYS)
PAGE_LIMIT = 100  # the most buckets a page may hold: 90 days fit in one
LOCK_KEY = "usage:sync:lock"
LOCK_TTL = 3600  # frees the lock of a sync whose process died
NO_ADMIN_KEY = "Spend and quantities need an admin key (FAL_ADMIN_KEY), and none is set."
NO_KEY = "Analytics need an API key (FAL_KEY or FAL_ADMIN_KEY), and none is set."


class UsageSyncBusy(Exception):
    """Another usage sync is running."""


def candidate_endpoints() -> list[str]:
    """The endpoints `USAGE_SYNC_CANDIDATES` ("app_label.Model.field") names: config wires
    the catalog in, so this app imports no catalog code."""
    spec = settings.USAGE_SYNC_CANDIDATES
    if not spec:
        return []
    label, _, field_name = spec.rpartition(".")
    model = apps.get_model(label)
    return list(model.objects.values_list(field_name, flat=True))


def _amount(value: float) -> Decimal:
    """A JSON number as the decimal it was written as (0.1, not 0.1000000000000000055…)."""
    return Decimal(repr(value))


@dataclass
class _Run:
    run: UsageSyncRun
    clients: UsageClients
    used: set[str] = field(default_factory=set)  # endpoints with usage in the window

    @property
    def since(self) -> date:
        return self.run.since

    @property
    def until(self) -> date:
        return self.run.until

    def failure(self, error: FalAPIError, what: str) -> str:
        logger.warning("Usage sync %s: %s not fetched: %s", self.run.pk, what, error.message)
        if isinstance(error, FalPermissionDeniedError | FalAuthenticationError):
            return f"fal refused the key for {what} ({error.status}): {error.message}"
        return f"{type(error).__name__}: {error.message}"[:2000]


def usage_sync(
    *, trigger: str = "manual", today: date | None = None, skip_if_synced_within: float = 0
) -> UsageSyncRun | None:
    """Run one usage sync and return its run (None when skipped: one that fal answered
    started within `skip_if_synced_within` seconds).

    Raises UsageSyncBusy when another is running; fal's failures are recorded on the run.
    """
    if skip_if_synced_within:
        recent = timezone.now() - timedelta(seconds=skip_if_synced_within)
        failed = UsageSyncRun.Part.FAILED
        good = UsageSyncRun.objects.filter(started_at__gte=recent, finished_at__isnull=False)
        if good.exclude(usage=failed).exclude(analytics=failed).exists():
            return None
    with cache_lock(LOCK_KEY, ttl=LOCK_TTL, wait=0) as held:
        if not held:
            raise UsageSyncBusy("Another usage sync is running.")
        until = (today or timezone.now().date()) + timedelta(days=1)
        clients = usage_clients()
        run = UsageSyncRun.objects.create(
            trigger=trigger,
            source=clients.base_url,
            since=until - timedelta(days=SYNC_DAYS),
            until=until,
        )
        state = _Run(run, clients)
        try:
            _sync_usage(state)
            _sync_analytics(state)
        except Exception as error:  # a bug: recorded on the run, then raised
            for part in ("usage", "analytics"):
                if not getattr(run, part):
                    setattr(run, part, UsageSyncRun.Part.FAILED)
                    setattr(run, f"{part}_error", f"{type(error).__name__}: {error}"[:2000])
            raise
        finally:
            run.finished_at = timezone.now()
            run.save()
        return run


def _sync_usage(state: _Run) -> None:
    run, client = state.run, state.clients.usage
    if client is None:
        run.usage, run.usage_error = UsageSyncRun.Part.MISSING, NO_ADMIN_KEY
        state.used = set(UsageLine.objects.values_list("endpoint_id", flat=True).distinct())
        return
    query = UsageQuery(
        start=state.since,
        end=state.until,
        timeframe="day",
        timezone="UTC",
        expand=(EXPAND_TIME_SERIES, "auth_method_structured"),
        limit=PAGE_LIMIT,
    )
    try:
        report = client.usage(query)
    except FalAPIError as error:
        run.upstream_calls += 1  # the call that failed (its retries are not counted)
        run.usage, run.usage_error = UsageSyncRun.Part.FAILED, state.failure(error, "usage")
        state.used = set(UsageLine.objects.values_list("endpoint_id", flat=True).distinct())
        return
    run.upstream_calls += report.pages
    rows = _usage_rows(report)
    with transaction.atomic():
        UsageLine.objects.filter(day__gte=state.since, day__lt=state.until).delete()
        UsageLine.objects.bulk_create(rows, batch_size=1000)
    run.usage, run.usage_lines = UsageSyncRun.Part.FETCHED, len(rows)
    state.used = {row.endpoint_id for row in rows} | set(
        UsageLine.objects.values_list("endpoint_id", flat=True).distinct()
    )


def _usage_rows(report: UsageReport) -> list[UsageLine]:
    """One row per day and distinct line; lines fal split (across pages) are added up."""
    rows: dict[tuple, UsageLine] = {}
    for bucket in report.time_series:
        day = bucket.start.date()
        for line in bucket.lines:
            auth = line.auth
            discount = line.percent_discount
            key = (day, line.endpoint_id, line.unit, line.currency, _amount(line.unit_price),
                   None if discount is None else _amount(discount),
                   auth.api_key_id if auth else "", auth.login_username if auth else "",
                   auth.detail if auth else line.auth_method)  # fmt: skip
            row = rows.get(key)
            if row is None:
                rows[key] = UsageLine(
                    day=day,
                    endpoint_id=line.endpoint_id,
                    unit=line.unit,
                    currency=line.currency,
                    unit_price=key[4],
                    percent_discount=key[5],
                    api_key_id=key[6],
                    login_username=key[7],
                    caller=key[8],
                    quantity=_amount(line.quantity),
                    cost_subtotal=to_nanos(_amount(line.cost_subtotal)),
                    cost_discount=to_nanos(_amount(line.cost_discount)),
                    cost_total=to_nanos(_amount(line.cost_total)),
                )
            else:
                row.quantity += _amount(line.quantity)
                row.cost_subtotal += to_nanos(_amount(line.cost_subtotal))
                row.cost_discount += to_nanos(_amount(line.cost_discount))
                row.cost_total += to_nanos(_amount(line.cost_total))
    return list(rows.values())


def _sync_analytics(state: _Run) -> None:
    run, client = state.run, state.clients.analytics
    if client is None:
        run.analytics, run.analytics_error = UsageSyncRun.Part.MISSING, NO_KEY
        return
    known = set(AnalyticsSummary.objects.values_list("endpoint_id", flat=True))
    asked = sorted(set(candidate_endpoints()) | state.used | known)
    run.endpoints_asked = len(asked)
    days: list[AnalyticsDay] = []
    summaries: list[AnalyticsSummary] = []
    try:
        for batch in id_batches(asked):
            report = client.analytics(
                _analytics_query(state, batch, SYNC_DAYS, (EXPAND_TIME_SERIES, EXPAND_SUMMARY))
            )
            run.upstream_calls += report.pages
            for bucket in report.time_series:
                days += [
                    AnalyticsDay(day=bucket.start.date(), endpoint_id=r.endpoint_id, **r.metrics())
                    for r in bucket.records
                ]
            summaries += _summaries(state, SYNC_DAYS, report.summary)
        used = sorted({s.endpoint_id for s in summaries})
        for window in SUMMARY_WINDOWS:
            if window == SYNC_DAYS:
                continue
            for batch in id_batches(used):
                report = client.analytics(_analytics_query(state, batch, window, (EXPAND_SUMMARY,)))
                run.upstream_calls += report.pages
                summaries += _summaries(state, window, report.summary)
    except FalAPIError as error:
        run.analytics = UsageSyncRun.Part.FAILED
        run.analytics_error = state.failure(error, "analytics")
        return
    with transaction.atomic():
        AnalyticsDay.objects.filter(day__gte=state.since, day__lt=state.until).delete()
        AnalyticsDay.objects.bulk_create(_distinct(days), batch_size=1000)
        AnalyticsSummary.objects.all().delete()
        AnalyticsSummary.objects.bulk_create(_distinct(summaries), batch_size=1000)
    run.analytics, run.endpoints_used = UsageSyncRun.Part.FETCHED, len(used)


def _analytics_query(
    state: _Run, batch: tuple[str, ...], window: int, parts: tuple[str, ...]
) -> AnalyticsQuery:
    return AnalyticsQuery(
        endpoint_ids=batch,
        start=state.until - timedelta(days=window),
        end=state.until,
        timeframe="day",
        timezone="UTC",
        expand=(*parts, *METRICS),
        limit=PAGE_LIMIT,
    )


def _summaries(
    state: _Run, window: int, records: Iterable[AnalyticsRecord]
) -> list[AnalyticsSummary]:
    """The window's summary rows of endpoints with requests (fal may list idle ones too)."""
    return [
        AnalyticsSummary(
            days=window,
            endpoint_id=record.endpoint_id,
            since=state.until - timedelta(days=window),
            until=state.until,
            **record.metrics(),
        )
        for record in records
        if record.request_count
    ]


def _distinct[M: AnalyticsDay | AnalyticsSummary](rows: list[M]) -> list[M]:
    """The last row of each day (or window) and endpoint: an endpoint fal repeated is kept once."""
    by_key: dict[tuple, M] = {}
    for row in rows:
        key = (getattr(row, "day", None), getattr(row, "days", None), row.endpoint_id)
        by_key[key] = row
    return list(by_key.values())
