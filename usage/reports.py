"""The usage page's figures: the team's spend, calls and latencies of a window, per endpoint
and per day, read from the tables the usage sync fills (never from fal), in a few queries.

`parse_usage_view` reads the URL (`days`, `key`, `user`, `sort`) into a `UsageView`;
`usage_report` answers it. Spend and quantities are sums of `UsageLine` rows (exact: money
in billionths); calls, errors, latency percentiles and cold boots are fal's own summary of
the window (`AnalyticsSummary`), as given; fal's analytics do not split by key or member,
so a key or member filter narrows spend and quantities only. The window ends where the last
sync that fetched the figures ended.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from usage.models import AnalyticsDay, AnalyticsSummary, UsageLine, UsageSyncRun, from_nanos
from usage.upstream import OFFLINE_BASE_URL

WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
TOP_SERIES = 5  # the chart stacks the top five endpoints; the rest is "other"
OTHER = "other"
MAX_FILTER_LENGTH = 200  # as the columns hold


def _rate(part: int | None, whole: int | None) -> float | None:
    return part / whole if part is not None and whole else None


@dataclass(frozen=True)
class EndpointWindow:
    """One endpoint's figures over the window, a row of the table: None where missing."""

    endpoint_id: str
    spend: Decimal | None = None
    quantities: tuple[tuple[Decimal, str], ...] = ()  # (quantity, unit), most first
    calls: int | None = None  # fal's request_count
    successes: int | None = None
    errors: int | None = None  # fal's error_count (server side)
    user_errors: int | None = None
    p50: float | None = None  # seconds
    p95: float | None = None
    cold_boots: int | None = None
    whole_team: bool = True  # False: spend is one key's or member's, calls the team's

    @property
    def error_rate(self) -> float | None:
        return _rate(self.errors, self.calls)

    @property
    def user_error_rate(self) -> float | None:
        return _rate(self.user_errors, self.calls)

    @property
    def cost_per_call(self) -> Decimal | None:
        """Spend per successful call (failed calls are not billed); only for the whole team,
        whose calls fal counts."""
        if self.spend is None or not self.successes or not self.whole_team:
            return None
        return self.spend / self.successes


# sort= : (what the table sorts by, biggest first?)
SORTS: dict[str, tuple[Callable[[EndpointWindow], Any], bool]] = {
    "spend": (lambda r: r.spend, True),
    "calls": (lambda r: r.calls, True),
    "cost": (lambda r: r.cost_per_call, True),
    "errors": (lambda r: r.error_rate, True),
    "p50": (lambda r: r.p50, True),
    "p95": (lambda r: r.p95, True),
    "cold": (lambda r: r.cold_boots, True),
    "model": (lambda r: r.endpoint_id, False),
}
DEFAULT_SORT = "spend"


@dataclass(frozen=True)
class UsageView:
    """What the URL asks for; `url()` spells it back (defaults left out)."""

    days: int = DEFAULT_WINDOW
    key: str = ""
    user: str = ""
    sort: str = DEFAULT_SORT

    def params(self, **changes: Any) -> dict[str, str]:
        view = replace(self, **changes)
        pairs = {"days": str(view.days) if view.days != DEFAULT_WINDOW else "",
                 "key": view.key, "user": view.user,
                 "sort": view.sort if view.sort != DEFAULT_SORT else ""}  # fmt: skip
        return {name: value for name, value in pairs.items() if value}

    @property
    def filtered(self) -> bool:
        return bool(self.key or self.user)


def parse_usage_view(params: Mapping[str, str]) -> tuple[UsageView, list[str]]:
    """The view the URL asks for, and a sentence for each value it could not take."""
    messages: list[str] = []
    days = DEFAULT_WINDOW
    raw_days = params.get("days", "").strip()
    if raw_days:
        if raw_days.isdigit() and int(raw_days) in WINDOWS:
            days = int(raw_days)
        else:
            choices = ", ".join(map(str, WINDOWS[:-1])) + f" or {WINDOWS[-1]}"
            messages.append(f"A window is {choices} days; showing the last {DEFAULT_WINDOW} days.")
    sort = params.get("sort", "").strip() or DEFAULT_SORT
    if sort not in SORTS:
        messages.append(f"Unknown sort “{sort}”: sorted by spend (or {', '.join(SORTS)}).")
        sort = DEFAULT_SORT
    found = {}
    for name in ("key", "user"):
        value = params.get(name, "").strip()
        if len(value) > MAX_FILTER_LENGTH or not value.isprintable():
            messages.append(f"That {name} is not one fal could have named; showing every {name}.")
            value = ""
        found[name] = value
    if found["key"] and found["user"]:
        messages.append("A call is made with a key or by a member, not both: showing the key's.")
        found["user"] = ""
    return UsageView(days=days, key=found["key"], user=found["user"], sort=sort), messages


@dataclass(frozen=True)
class PartState:
    """One part of the figures (spend, or analytics): the run its figures come from, and
    why the latest run did not fetch it."""

    good: UsageSyncRun | None  # the latest run that fetched it
    missing: str = ""  # the latest run had no key for it
    failed: str = ""  # the latest run asked and fal failed
    failed_at: datetime | None = None

    @property
    def demo(self) -> bool:
        return self.good is not None and self.good.source == OFFLINE_BASE_URL


@dataclass(frozen=True)
class ChartSeries:
    label: str  # an endpoint id, or OTHER
    values: tuple[Decimal | int, ...]  # one per day


@dataclass(frozen=True)
class DailyChart:
    """Spend (or, without spend, calls) per day, stacked by the top endpoints."""

    metric: str  # "spend" or "calls"
    days: tuple[date, ...]
    series: tuple[ChartSeries, ...]

    @property
    def totals(self) -> tuple[Decimal | int, ...]:
        return tuple(sum(values) for values in zip(*(s.values for s in self.series), strict=True))

    def rows(self) -> list[tuple[date, tuple[Decimal | int, ...], Decimal | int]]:
        """(day, each series' figure, the day's total): the chart as a table."""
        columns = [s.values for s in self.series]
        return [
            (day, tuple(c[i] for c in columns), total)
            for i, (day, total) in enumerate(zip(self.days, self.totals, strict=True))
        ]


@dataclass(frozen=True)
class UsageReport:
    view: UsageView
    since: date  # the window, `until` exclusive
    until: date
    rows: list[EndpointWindow]
    chart: DailyChart | None
    usage: PartState
    analytics: PartState
    keys: list[tuple[str, str]]  # (api_key_id, fal's label)
    users: list[str]
    messages: list[str] = field(default_factory=list)

    @property
    def total_spend(self) -> Decimal | None:
        spends = [r.spend for r in self.rows if r.spend is not None]
        return sum(spends, Decimal(0)) if self.usage.good else None

    @property
    def total_calls(self) -> int | None:
        calls = [r.calls for r in self.rows if r.calls is not None]
        return sum(calls) if self.analytics.good else None

    @property
    def demo(self) -> bool:
        return self.usage.demo or self.analytics.demo

    @property
    def empty(self) -> bool:
        return self.usage.good is None and self.analytics.good is None


def usage_report(
    view: UsageView, *, messages: list[str] | None = None, with_chart: bool = True
) -> UsageReport:
    """The figures `view` asks for, from the database alone (the chart's only if asked)."""
    messages = list(messages or [])
    usage, analytics = _part_states()
    keys, users = _callers()
    if view.key and view.key not in dict(keys):
        messages.append("No stored usage was made with that key; showing every key.")
        view = replace(view, key="")
    if view.user and view.user not in users:
        messages.append("No stored usage was made by that member; showing every member.")
        view = replace(view, user="")
    if view.sort == "spend" and usage.good is None:  # nothing to sort by: the most called first
        view = replace(view, sort="calls")
    anchor = usage.good or analytics.good
    until = anchor.until if anchor else date.today()
    since = until - timedelta(days=view.days)
    lines = UsageLine.objects.filter(day__gte=since, day__lt=until)
    if view.key:
        lines = lines.filter(api_key_id=view.key)
    if view.user:
        lines = lines.filter(login_username=view.user)
    rows = _rows(view, lines if usage.good else None, analytics.good is not None)
    days = tuple(since + timedelta(days=n) for n in range(view.days)) if with_chart else ()
    chart = _daily_chart(days, lines if usage.good else None, analytics.good is not None)
    key, descending = SORTS[view.sort]
    present = [r for r in rows if key(r) is not None]
    present.sort(key=key, reverse=descending)
    absent = sorted((r for r in rows if key(r) is None), key=lambda r: r.endpoint_id)
    return UsageReport(view, since, until, present + absent, chart, usage, analytics, keys,
                       users, messages)  # fmt: skip


def _part_states() -> tuple[PartState, PartState]:
    """Each part's state from the latest finished run (one query), and, for a part it did not
    fetch, the last run that did (one query more)."""
    latest = UsageSyncRun.objects.filter(finished_at__isnull=False).first()
    states = []
    for part in ("usage", "analytics"):
        if latest is None:
            states.append(PartState(good=None))
            continue
        outcome, error = getattr(latest, part), getattr(latest, f"{part}_error")
        if outcome == UsageSyncRun.Part.FETCHED:
            states.append(PartState(good=latest))
            continue
        good = UsageSyncRun.objects.filter(finished_at__isnull=False, **{part: "fetched"}).first()
        if outcome == UsageSyncRun.Part.MISSING:
            states.append(PartState(good=good, missing=error))
        else:
            states.append(PartState(good=good, failed=error, failed_at=latest.finished_at))
    return states[0], states[1]


def _callers() -> tuple[list[tuple[str, str]], list[str]]:
    """The keys (id, fal's label) and members the stored usage names."""
    found = UsageLine.objects.order_by().values_list("api_key_id", "login_username", "caller")
    keys: dict[str, str] = {}
    users: set[str] = set()
    for key, user, caller in found.distinct():
        if key:
            keys[key] = caller or key
        elif user:
            users.add(user)
    return sorted(keys.items(), key=lambda kv: kv[1].casefold()), sorted(users)


def _rows(view: UsageView, lines: Any, with_analytics: bool) -> list[EndpointWindow]:
    """Each endpoint's row: spend and quantities summed per unit, fal's summary beside them.
    With a key or member filter, only endpoints that caller used."""
    spend: dict[str, int] = defaultdict(int)
    quantities: dict[str, list[tuple[Decimal, str]]] = defaultdict(list)
    if lines is not None:
        sums = lines.values_list("endpoint_id", "unit").annotate(
            quantity=Sum("quantity"), total=Sum("cost_total")
        )
        for endpoint_id, unit, quantity, total in sums:
            spend[endpoint_id] += total
            quantities[endpoint_id].append((Decimal(quantity), unit))
    summaries = {}
    if with_analytics:
        found = AnalyticsSummary.objects.filter(days=view.days)
        if view.filtered:
            found = found.filter(endpoint_id__in=list(spend))
        summaries = {s.endpoint_id: s for s in found}
    endpoint_ids = set(spend) | (set() if view.filtered else set(summaries))
    rows = []
    for endpoint_id in endpoint_ids:
        summary = summaries.get(endpoint_id)
        figures: dict[str, Any] = {}
        if summary is not None:
            figures = {"calls": summary.request_count, "successes": summary.success_count,
                       "errors": summary.error_count, "user_errors": summary.user_error_count,
                       "p50": summary.p50_duration, "p95": summary.p95_duration,
                       "cold_boots": summary.cold_boot_count}  # fmt: skip
        rows.append(
            EndpointWindow(
                endpoint_id,
                spend=from_nanos(spend[endpoint_id]) if lines is not None else None,
                quantities=tuple(sorted(quantities[endpoint_id], reverse=True)),
                whole_team=not view.filtered,
                **figures,
            )
        )
    return rows


def _daily_chart(days: tuple[date, ...], lines: Any, with_analytics: bool) -> DailyChart | None:
    """Spend per day from the usage lines; without them, calls per day from analytics."""
    if not days:
        return None
    if lines is not None:
        per_day = lines.values_list("day", "endpoint_id").annotate(total=Sum("cost_total"))
        return _chart("spend", days, ((d, e, from_nanos(t)) for d, e, t in per_day), Decimal(0))
    if with_analytics:
        calls = AnalyticsDay.objects.filter(day__gte=days[0], day__lte=days[-1])
        per_day_calls = calls.values_list("day", "endpoint_id", "request_count")
        return _chart("calls", days, ((d, e, n or 0) for d, e, n in per_day_calls), 0)
    return None


def _chart[N: (Decimal, int)](
    metric: str, days: tuple[date, ...], figures: Any, zero: N
) -> DailyChart | None:
    """Per-day figures of each endpoint, the top `TOP_SERIES` by the window's sum as their own
    series (biggest first), the rest added up as OTHER; None when the window has none."""
    by_endpoint: dict[str, dict[date, N]] = defaultdict(dict)
    for day, endpoint_id, value in figures:
        by_endpoint[endpoint_id][day] = by_endpoint[endpoint_id].get(day, zero) + value
    if not by_endpoint:
        return None
    ranked = sorted(by_endpoint, key=lambda e: (-sum(by_endpoint[e].values()), e))
    top, rest = ranked[:TOP_SERIES], ranked[TOP_SERIES:]
    series = [ChartSeries(e, tuple(by_endpoint[e].get(d, zero) for d in days)) for e in top]
    if rest:
        other = tuple(sum((by_endpoint[e].get(d, zero) for e in rest), zero) for d in days)
        series.append(ChartSeries(OTHER, other))
    return DailyChart(metric, days, tuple(series))
