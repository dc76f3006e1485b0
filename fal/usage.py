"""What `/v1/models/usage` and `/v1/models/analytics` take and return: the team's own spend,
quantities, counts and latencies as frozen queries and results, and their parsing.

The contract is `fal_emulator/data/usage-openapi.json` (fal's Platform API, as mirrored).
Usage needs an admin key; analytics any key and 1-50 endpoint ids a call. Both page with
`next_cursor`/`has_more`: a time bucket may continue on the next page, so pages are merged
bucket by bucket (`merge_usage`, `merge_analytics`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from fal.errors import FalInvalidResponseError
from fal.types import MAX_IDS_PER_REQUEST

logger = logging.getLogger(__name__)

TIMEFRAMES = ("minute", "hour", "day", "week", "month")
EXPAND_TIME_SERIES = "time_series"
EXPAND_SUMMARY = "summary"
USAGE_EXPAND = (EXPAND_TIME_SERIES, EXPAND_SUMMARY, "auth_method", "auth_method_structured")
COUNT_METRICS = (
    "request_count",
    "success_count",
    "user_error_count",
    "error_count",
    "startup_error_count",
    "connection_error_count",
    "timeout_error_count",
    "runtime_error_count",
    "cold_boot_count",
)
DURATION_METRICS = (
    "p50_prepare_duration",
    "p75_prepare_duration",
    "p90_prepare_duration",
    "p95_prepare_duration",
    "p99_prepare_duration",
    "p25_duration",
    "p50_duration",
    "p75_duration",
    "p90_duration",
    "p95_duration",
    "p99_duration",
    "p50_cold_boot_duration",
    "p75_cold_boot_duration",
    "p90_cold_boot_duration",
    "total_billable_duration",
)
METRICS = COUNT_METRICS + DURATION_METRICS


# --- Queries -----------------------------------------------------------------------------------


def _moment(value: date | datetime | None, name: str) -> str | None:
    """A window bound as the contract spells it: `2025-01-01` or `2025-01-01T00:00:00Z`."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware (or a date)")
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _ids(values: Sequence[str], name: str, *, required: bool = False) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValueError(f"{name} must be a sequence of strings, not one string")
    ids = tuple(dict.fromkeys(values))
    if any(not isinstance(i, str) or not i.strip() or "," in i for i in ids):
        raise ValueError(f"Every {name} must be a non-empty string without commas")
    if required and not ids:
        raise ValueError(f"{name} needs 1-{MAX_IDS_PER_REQUEST} values")
    if len(ids) > MAX_IDS_PER_REQUEST:
        raise ValueError(f"{name} takes at most {MAX_IDS_PER_REQUEST} values a call")
    return ids


@dataclass(frozen=True, slots=True)
class _Window:
    """What both paths share: the window, its buckets and the page size."""

    start: date | datetime | None = None
    end: date | datetime | None = None  # exclusive
    timeframe: str | None = None  # None: fal picks from the window's length
    timezone: str | None = None  # None: fal's default, UTC
    bound_to_timeframe: bool | None = None  # None: fal's default, true
    limit: int | None = None

    def _check_window(self) -> None:
        if self.timeframe is not None and self.timeframe not in TIMEFRAMES:
            raise ValueError(f"timeframe must be one of {', '.join(TIMEFRAMES)}")
        if self.limit is not None and (isinstance(self.limit, bool) or self.limit < 1):
            raise ValueError("limit must be an integer >= 1")
        _moment(self.start, "start"), _moment(self.end, "end")  # aware, or a date
        start, end = self.start, self.end
        if start is not None and end is not None and type(start) is type(end) and start >= end:
            raise ValueError("start must be before end")

    def _window_params(self, cursor: str | None) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        for name in ("start", "end"):
            moment = _moment(getattr(self, name), name)
            if moment:
                pairs.append((name, moment))
        if self.timeframe:
            pairs.append(("timeframe", self.timeframe))
        if self.timezone:
            pairs.append(("timezone", self.timezone))
        if self.bound_to_timeframe is not None:
            pairs.append(("bound_to_timeframe", "true" if self.bound_to_timeframe else "false"))
        if self.limit is not None:
            pairs.append(("limit", str(self.limit)))
        if cursor:
            pairs.append(("cursor", cursor))
        return pairs


@dataclass(frozen=True, slots=True)
class UsageQuery(_Window):
    """One `GET /models/usage` request (admin key). Empty id filters: the whole team."""

    expand: tuple[str, ...] = (EXPAND_TIME_SERIES,)
    endpoint_ids: tuple[str, ...] = ()
    api_key_ids: tuple[str, ...] = ()
    login_usernames: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._check_window()
        for value in self.expand:
            if value not in USAGE_EXPAND:
                raise ValueError(f"Usage expand takes {', '.join(USAGE_EXPAND)}, not {value!r}")
        if not {EXPAND_TIME_SERIES, EXPAND_SUMMARY} & set(self.expand):
            raise ValueError("Usage expand needs 'time_series' or 'summary'")
        for name in ("expand", "endpoint_ids", "api_key_ids", "login_usernames"):
            object.__setattr__(self, name, _ids(getattr(self, name), name))

    def params(self, cursor: str | None = None) -> list[tuple[str, str]]:
        """Query string pairs; repeated keys for the lists (the contract's array form)."""
        pairs = [("endpoint_id", i) for i in self.endpoint_ids]
        pairs += [("api_key_id", i) for i in self.api_key_ids]
        pairs += [("login_username", i) for i in self.login_usernames]
        pairs += [("expand", value) for value in self.expand]
        return pairs + self._window_params(cursor)


@dataclass(frozen=True, slots=True)
class AnalyticsQuery(_Window):
    """One `GET /models/analytics` request (any key): 1-50 endpoints, the metrics asked."""

    endpoint_ids: tuple[str, ...] = ()
    expand: tuple[str, ...] = (EXPAND_TIME_SERIES, "request_count")

    def __post_init__(self) -> None:
        self._check_window()
        object.__setattr__(
            self, "endpoint_ids", _ids(self.endpoint_ids, "endpoint_ids", required=True)
        )
        expand = _ids(self.expand, "expand")
        for value in expand:
            if value not in (EXPAND_TIME_SERIES, EXPAND_SUMMARY, *METRICS):
                raise ValueError(
                    f"Analytics expand takes time_series, summary or a metric, not {value!r}"
                )
        if not {EXPAND_TIME_SERIES, EXPAND_SUMMARY} & set(expand):
            raise ValueError("Analytics expand needs 'time_series' or 'summary'")
        if not set(METRICS) & set(expand):
            raise ValueError("Analytics expand needs at least one metric")
        object.__setattr__(self, "expand", expand)

    def params(self, cursor: str | None = None) -> list[tuple[str, str]]:
        pairs = [("endpoint_id", i) for i in self.endpoint_ids]
        pairs += [("expand", value) for value in self.expand]
        return pairs + self._window_params(cursor)


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthMethod:
    """Who called: `auth_method_structured` (a key's id, a member's username, or neither)."""

    detail: str
    api_key_id: str = ""
    login_username: str = ""


@dataclass(frozen=True, slots=True)
class UsageLine:
    """One usage line item: a quantity of one unit at one price and discount.

    Amounts are as fal sent them (JSON numbers); `cost_total` is what was charged.
    `auth_method`/`auth` are set only when expanded.
    """

    endpoint_id: str
    unit: str
    quantity: float
    unit_price: float
    percent_discount: float | None
    cost_subtotal: float
    cost_discount: float
    cost_total: float
    currency: str
    auth_method: str = ""
    auth: AuthMethod | None = None


@dataclass(frozen=True, slots=True)
class UsageBucket:
    """One time bucket: `bucket` as sent (ISO 8601 with the offset of the asked timezone)."""

    bucket: str
    start: datetime
    lines: tuple[UsageLine, ...]


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Every page of one usage query, merged."""

    time_series: tuple[UsageBucket, ...] = ()
    summary: tuple[UsageLine, ...] = ()
    pages: int = 0


@dataclass(frozen=True, slots=True)
class AnalyticsRecord:
    """One endpoint's metrics for a bucket or the window; a metric not asked for is None.

    Counts are whole numbers; durations are seconds.
    """

    endpoint_id: str
    request_count: int | None = None
    success_count: int | None = None
    user_error_count: int | None = None
    error_count: int | None = None
    startup_error_count: int | None = None
    connection_error_count: int | None = None
    timeout_error_count: int | None = None
    runtime_error_count: int | None = None
    cold_boot_count: int | None = None
    p50_prepare_duration: float | None = None
    p75_prepare_duration: float | None = None
    p90_prepare_duration: float | None = None
    p95_prepare_duration: float | None = None
    p99_prepare_duration: float | None = None
    p25_duration: float | None = None
    p50_duration: float | None = None
    p75_duration: float | None = None
    p90_duration: float | None = None
    p95_duration: float | None = None
    p99_duration: float | None = None
    p50_cold_boot_duration: float | None = None
    p75_cold_boot_duration: float | None = None
    p90_cold_boot_duration: float | None = None
    total_billable_duration: float | None = None

    def metrics(self) -> dict[str, int | float | None]:
        return {name: getattr(self, name) for name in METRICS}


@dataclass(frozen=True, slots=True)
class AnalyticsBucket:
    bucket: str
    start: datetime
    records: tuple[AnalyticsRecord, ...]


@dataclass(frozen=True, slots=True)
class AnalyticsReport:
    """Every page of one analytics query, merged."""

    time_series: tuple[AnalyticsBucket, ...] = ()
    summary: tuple[AnalyticsRecord, ...] = ()
    pages: int = 0


assert tuple(f.name for f in fields(AnalyticsRecord))[1:] == METRICS  # one list of metrics


# --- Parsing: tolerate what the contract allows, reject what it does not ------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    """A finite JSON number >= 0 (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _count(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def _bucket_start(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        return None
    return start if start.tzinfo is not None else None


def parse_usage_line(data: Any) -> UsageLine | None:
    """One usage line, or None without an endpoint id or any of the required amounts."""
    if not isinstance(data, dict) or not _text(data.get("endpoint_id")):
        return None
    amounts = {
        name: _number(data.get(name))
        for name in ("quantity", "unit_price", "cost_subtotal", "cost_discount", "cost_total")
    }
    if any(amount is None for amount in amounts.values()):
        return None
    structured = data.get("auth_method_structured")
    auth = (
        AuthMethod(
            detail=_text(structured.get("detail")),
            api_key_id=_text(structured.get("api_key_id")),
            login_username=_text(structured.get("login_username")),
        )
        if isinstance(structured, dict)
        else None
    )
    discount = data.get("percent_discount")
    return UsageLine(
        endpoint_id=data["endpoint_id"],
        unit=_text(data.get("unit")),
        quantity=amounts["quantity"] or 0.0,
        unit_price=amounts["unit_price"] or 0.0,
        percent_discount=_number(discount) if discount is not None else None,
        cost_subtotal=amounts["cost_subtotal"] or 0.0,
        cost_discount=amounts["cost_discount"] or 0.0,
        cost_total=amounts["cost_total"] or 0.0,
        currency=_text(data.get("currency")),
        auth_method=_text(data.get("auth_method")),
        auth=auth,
    )


def parse_analytics_record(data: Any) -> AnalyticsRecord | None:
    """One endpoint's metrics, or None without an endpoint id; unusable metrics are None."""
    if not isinstance(data, dict) or not _text(data.get("endpoint_id")):
        return None
    values: dict[str, Any] = {name: _count(data.get(name)) for name in COUNT_METRICS}
    values.update({name: _number(data.get(name)) for name in DURATION_METRICS})
    return AnalyticsRecord(endpoint_id=data["endpoint_id"], **values)


def _same(value: Any) -> Any:
    return value


def _entries[T](raw: Any, parse: Callable[[Any], T | None], what: str) -> list[T]:
    if not isinstance(raw, list):
        raise FalInvalidResponseError("The API answered with JSON of an unexpected shape")
    entries: list[T] = []
    for item in raw:
        entry = parse(item)
        if entry is None:
            logger.warning("Skipped %s", what)
        else:
            entries.append(entry)
    return entries


def _page[T](
    data: Any, parse: Callable[[Any], T | None], what: str
) -> tuple[list[tuple[str, datetime, list[T]]], list[T]]:
    """(buckets, summary) of one 200 answer; a body of the wrong shape raises."""
    if not isinstance(data, dict) or not isinstance(data.get("has_more"), bool):
        raise FalInvalidResponseError("The API answered with JSON of an unexpected shape")
    buckets: list[tuple[str, datetime, list[T]]] = []
    for raw in _entries(data.get("time_series", []), _same, "a time bucket"):
        start = _bucket_start(raw.get("bucket")) if isinstance(raw, dict) else None
        if start is None or not isinstance(raw, dict):
            raise FalInvalidResponseError("The API answered with a time bucket without a time")
        buckets.append((raw["bucket"], start, _entries(raw.get("results"), parse, what)))
    summary = _entries(data.get("summary", []), parse, what)
    return buckets, summary


def _merged[T](
    pages: Iterable[Any], parse: Callable[[Any], T | None], what: str
) -> tuple[list[tuple[str, datetime, list[T]]], list[T], int]:
    by_start: dict[datetime, tuple[str, datetime, list[T]]] = {}
    summary: list[T] = []
    count = 0
    for data in pages:
        count += 1
        buckets, page_summary = _page(data, parse, what)
        for bucket, start, entries in buckets:
            by_start.setdefault(start, (bucket, start, []))[2].extend(entries)
        summary.extend(page_summary)
    return sorted(by_start.values(), key=lambda b: b[1]), summary, count


def merge_usage(pages: Iterable[Any]) -> UsageReport:
    """The pages of one usage query as one report (a bucket split across pages is joined)."""
    buckets, summary, count = _merged(pages, parse_usage_line, "a usage line without its amounts")
    return UsageReport(
        time_series=tuple(UsageBucket(b, s, tuple(lines)) for b, s, lines in buckets),
        summary=tuple(summary),
        pages=count,
    )


def merge_analytics(pages: Iterable[Any]) -> AnalyticsReport:
    """The pages of one analytics query as one report."""
    buckets, summary, count = _merged(
        pages, parse_analytics_record, "analytics without an endpoint id"
    )
    return AnalyticsReport(
        time_series=tuple(AnalyticsBucket(b, s, tuple(records)) for b, s, records in buckets),
        summary=tuple(summary),
        pages=count,
    )
