"""Emulated ``GET /v1/models/usage`` and ``GET /v1/models/analytics`` over a made-up demo team.

No real usage answer was ever recorded publicly (``../shared/spec/README.md``), so every
figure here is **made up**, and whatever shows it must say so ("Demo usage, made up by the
offline emulator"). The team and how its figures are made are ``fal_emulator.demo_team``.
The contract is ``fal_emulator/data/usage-openapi.json``. Where it is silent, these are
the choices:

Window and buckets
  ``start``/``end``: ``YYYY-MM-DD`` or an ISO date-time with an offset (``Z``); defaults
  24 hours ago and now; ``end`` is exclusive; anything else is 400. ``timezone``: UTC
  only (``UTC``, ``Etc/UTC``); another is 400 (the emulator buckets in UTC alone).
  ``timeframe``: as asked, else picked from the window's length as the contract says.
  ``bound_to_timeframe`` (``true``/``false``, default true) floors ``start`` and ceils
  ``end`` to the timeframe. A day's traffic counts at its midnight UTC: a day is in the
  window when its midnight is, and in minute or hour buckets the whole day falls in its
  first bucket. Weeks start on Monday. Buckets without results are left out.

Multi-day buckets and summaries
  Counts and amounts are sums. A percentile over several days is the request-weighted
  mean of the days' percentiles (cold-boot ones weighted by cold boots), to the
  millisecond: the emulator keeps no single requests to take a true percentile of.

Keys
  The route and method come first (GET; HEAD is GET without a body; else 405), then the
  key, then the parameters. No ``Authorization: Key …`` is 401 ``authorization_error``
  on both paths. Usage needs an admin key: any other key is 403 ``authorization_error``.
  Real fal knows which keys are admin keys; here an admin key is one whose text starts
  with ``admin`` (``OFFLINE_ADMIN_KEY`` is the one the app sends offline).

Filters and paging
  ``endpoint_id``, ``api_key_id``, ``login_username``: repeated, comma-separated or both,
  1-50 distinct values each (more, or an empty piece, is 400); each filter narrows (a
  caller has either a key or a username, so asking both matches nothing); unknown values
  match nothing. Analytics requires ``endpoint_id`` and gives records only for endpoints
  with requests. ``expand`` values outside the contract's are 400; usage defaults to
  ``time_series``, analytics to ``time_series`` + ``request_count``; usage needs
  ``time_series`` or ``summary``, analytics also at least one metric; only the metrics
  asked are sent. Items are time buckets (or, asked for the summary alone, summary
  entries): ``limit`` 1-100, default 50; the summary comes whole on the first page.
  Cursors are those of ``/models`` (``fal_emulator.paging``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fal.openapi import JSONObject
from fal_emulator.demo_team import (
    CALLERS,
    COLD_BOOT,
    COUNTS,
    DURATIONS,
    METRICS,
    PREPARE,
    TEAM,
    TEAM_SINCE,
    Day,
    TeamEndpoint,
    amounts,
    day_figures,
    team_prices,
)
from fal_emulator.envelope import (
    ApiError,
    Response,
    error_response,
    json_response,
    method_not_allowed,
)
from fal_emulator.paging import decode_cursor, encode_cursor, parse_limit, query_params
from fal_emulator.pricing import require_key

USAGE_SUFFIX = "/models/usage"
ANALYTICS_SUFFIX = "/models/analytics"
OFFLINE_ADMIN_KEY = "admin-offline-emulator"
ADMIN_KEY_PREFIX = "admin"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_FILTER_VALUES = 50
UTC_NAMES = ("UTC", "Etc/UTC")
SINGLE_VALUED = ("start", "end", "timezone", "timeframe", "bound_to_timeframe", "limit", "cursor")
TIME_SERIES, SUMMARY = "time_series", "summary"
USAGE_EXPAND = (TIME_SERIES, SUMMARY, "auth_method", "auth_method_structured")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- Parameters -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime  # exclusive
    timeframe: str

    def days(self, now: datetime) -> Iterator[date]:
        """The days whose midnight is in the window, from TEAM_SINCE up to `now`."""
        day = max(self.start.date(), TEAM_SINCE)
        while (midnight := _midnight(day)) < self.end and midnight <= now:
            if midnight >= self.start:
                yield day
            day += timedelta(days=1)

    def bucket(self, day: date) -> date:
        if self.timeframe == "week":
            return day - timedelta(days=day.weekday())
        if self.timeframe == "month":
            return day.replace(day=1)
        return day  # day, and the first hour or minute of the day


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _values(params: dict[str, list[str]], name: str) -> list[str]:
    """A list parameter, repeated and/or comma-separated: 1-50 distinct non-empty values."""
    values = []
    for value in params.get(name, ()):
        for piece in value.split(","):
            piece = piece.strip()
            if not piece:
                raise ApiError(f"{name} must not be empty (check for a stray comma)")
            values.append(piece)
    distinct = list(dict.fromkeys(values))
    if len(distinct) > MAX_FILTER_VALUES:
        raise ApiError(f"Too many {name} values ({len(distinct)}); at most {MAX_FILTER_VALUES}")
    return distinct


def _instant(value: str, name: str) -> datetime:
    if _DATE.fullmatch(value):
        try:
            return _midnight(date.fromisoformat(value))
        except ValueError:
            raise ApiError(f"Invalid {name} {value!r}: not a date") from None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiError(
            f"Invalid {name} {value!r}: use 2025-01-01 or 2025-01-01T00:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise ApiError(f"Invalid {name} {value!r}: a date-time needs an offset such as Z")
    return moment


def _auto_timeframe(length: timedelta) -> str:
    shorter_than = ((timedelta(hours=2), "minute"), (timedelta(days=2), "hour"),
                    (timedelta(days=64), "day"), (timedelta(days=183), "week"))  # fmt: skip
    for limit, timeframe in shorter_than:
        if length < limit:
            return timeframe
    return "month"


def _floor(moment: datetime, timeframe: str) -> datetime:
    if timeframe == "minute":
        return moment.replace(second=0, microsecond=0)
    if timeframe == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = _midnight(moment.date())
    if timeframe == "week":
        return day - timedelta(days=day.weekday())
    if timeframe == "month":
        return day.replace(day=1)
    return day


def _ceil(moment: datetime, timeframe: str) -> datetime:
    floor = _floor(moment, timeframe)
    if floor == moment:
        return moment
    if timeframe == "month":
        return (floor + timedelta(days=32)).replace(day=1)
    step = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1),
            "day": timedelta(days=1), "week": timedelta(weeks=1)}[timeframe]  # fmt: skip
    return floor + step


def _window(params: dict[str, list[str]], now: datetime) -> Window:
    timezone = params.get("timezone", ["UTC"])[0]
    if timezone not in UTC_NAMES:
        raise ApiError(f"Unsupported timezone {timezone!r}: the offline emulator buckets in UTC")
    start = _instant(params["start"][0], "start") if "start" in params else now - timedelta(days=1)
    end = _instant(params["end"][0], "end") if "end" in params else now
    if start >= end:
        raise ApiError("start must be before end")
    timeframe = params["timeframe"][0] if "timeframe" in params else _auto_timeframe(end - start)
    if timeframe not in ("minute", "hour", "day", "week", "month"):
        raise ApiError(f"Invalid timeframe {timeframe!r}: minute, hour, day, week or month")
    bound = params.get("bound_to_timeframe", ["true"])[0]
    if bound not in ("true", "false"):
        raise ApiError(f"Invalid bound_to_timeframe {bound!r}: true or false")
    if bound == "true":
        try:
            start, end = _floor(start, timeframe), _ceil(end, timeframe)
        except OverflowError:
            raise ApiError("The window reaches past the last representable date") from None
    return Window(start, end, timeframe)


def _expand(params: dict[str, list[str]], allowed: Sequence[str], default: list[str]) -> list[str]:
    expand = _values(params, "expand") if "expand" in params else default
    for value in expand:
        if value not in allowed:
            raise ApiError(f"Unsupported expand value {value!r}")
    if TIME_SERIES not in expand and SUMMARY not in expand:
        raise ApiError("expand needs 'time_series' or 'summary'")
    return expand


def _page(
    buckets: list[JSONObject], summary: list[JSONObject] | None, params: dict[str, list[str]]
) -> dict[str, Any]:
    """One page of buckets (or of the summary alone); the summary whole on the first page."""
    limit = parse_limit(params["limit"][0], MAX_LIMIT) if "limit" in params else DEFAULT_LIMIT
    page = decode_cursor(params["cursor"][0]) if params.get("cursor", [""])[0] else 1
    paged = buckets if buckets or summary is None else summary
    offset = (page - 1) * limit
    items = paged[offset : offset + limit] if offset < len(paged) else []
    has_more = offset + limit < len(paged)
    answer: dict[str, Any] = {
        "next_cursor": encode_cursor(page + 1) if has_more else None,
        "has_more": has_more,
    }
    if paged is buckets:
        answer[TIME_SERIES] = items
        if summary is not None:
            answer[SUMMARY] = summary if page == 1 else []
    else:
        answer[SUMMARY] = items
    return answer


def _bucket_text(day: date) -> str:
    return _midnight(day).isoformat()


# --- GET /models/usage ------------------------------------------------------------------------


def usage(query: list[tuple[str, str]], now: datetime) -> dict[str, Any]:
    """The usage answer (the key was checked)."""
    params = query_params(query, SINGLE_VALUED)
    expand = _expand(params, USAGE_EXPAND, [TIME_SERIES])
    window = _window(params, now)
    endpoint_ids = set(_values(params, "endpoint_id"))
    key_ids = set(_values(params, "api_key_id"))
    usernames = set(_values(params, "login_username"))
    by_caller = "auth_method" in expand or "auth_method_structured" in expand
    callers = [
        (i, c)
        for i, c in enumerate(CALLERS)
        if (not key_ids or c.api_key_id in key_ids)
        and (not usernames or c.login_username in usernames)
    ]
    team = [e for e in TEAM if not endpoint_ids or e.endpoint_id in endpoint_ids]
    # {bucket, or None for the summary: {(endpoint, caller or -1): [quantity, subtotal, discount]}}
    sums: dict[date | None, dict[tuple[TeamEndpoint, int], list[Decimal]]] = {}
    for day in window.days(now):
        for endpoint in team:
            figures = day_figures(endpoint, day)
            if figures is None:
                continue
            for index, _ in callers:
                successes = figures.successes_by_caller[index]
                if not successes:
                    continue
                quantity, subtotal, discount = amounts(endpoint, successes)
                group = (endpoint, index if by_caller else -1)
                for bucket in (window.bucket(day), None):
                    line = sums.setdefault(bucket, {}).setdefault(group, [Decimal(0)] * 3)
                    line[0] += quantity
                    line[1] += subtotal
                    line[2] += discount

    def lines(groups: dict[tuple[TeamEndpoint, int], list[Decimal]]) -> list[JSONObject]:
        out = []
        for (endpoint, index), (quantity, subtotal, discount) in sorted(
            groups.items(), key=lambda item: (item[0][0].endpoint_id, item[0][1])
        ):
            unit, price = team_prices()[endpoint.endpoint_id]
            total = float(subtotal - discount)
            line: JSONObject = {
                "endpoint_id": endpoint.endpoint_id,
                "unit": unit,
                "quantity": float(quantity),
                "unit_price": float(price),
                "percent_discount": endpoint.discount,
                "cost_subtotal": float(subtotal),
                "cost_discount": float(discount),
                "cost_total": total,
                "cost": total,
                "currency": "USD",
            }
            if "auth_method" in expand:
                line["auth_method"] = CALLERS[index].label
            if "auth_method_structured" in expand:
                line["auth_method_structured"] = CALLERS[index].structured()
            out.append(line)
        return out

    buckets = (
        [
            {"bucket": _bucket_text(bucket), "results": lines(groups)}
            for bucket, groups in sorted((b, g) for b, g in sums.items() if b is not None)
        ]
        if TIME_SERIES in expand
        else []
    )
    summary = lines(sums.get(None, {})) if SUMMARY in expand else None
    return _page(buckets, summary, params)


# --- GET /models/analytics ------------------------------------------------------------------------


def _record(endpoint_id: str, days: list[Day], metrics: list[str]) -> JSONObject:
    """Counts summed; percentiles a weighted mean of the days' (see the module's docstring)."""
    values: dict[str, float] = {}
    for name in COUNTS:
        values[name] = sum(d.counts[name] for d in days)
    values["total_billable_duration"] = round(sum(d.billable for d in days), 3)
    for group, weight in ((DURATIONS, "request_count"), (PREPARE, "request_count"),
                          (COLD_BOOT, "cold_boot_count")):  # fmt: skip
        total = sum(d.counts[weight] for d in days)
        if total:
            for name, _ in group:
                values[name] = round(
                    sum(d.durations[name] * d.counts[weight] for d in days) / total, 3
                )
    return {"endpoint_id": endpoint_id} | {m: values[m] for m in metrics if m in values}


def analytics(query: list[tuple[str, str]], now: datetime) -> dict[str, Any]:
    """The analytics answer (the key was checked)."""
    params = query_params(query, SINGLE_VALUED)
    endpoint_ids = _values(params, "endpoint_id")
    if not endpoint_ids:
        raise ApiError("endpoint_id is required: 1-50 endpoint ids, repeated or comma-separated")
    expand = _expand(params, (TIME_SERIES, SUMMARY, *METRICS), [TIME_SERIES, "request_count"])
    metrics = [m for m in METRICS if m in expand]
    if not metrics:
        raise ApiError("expand needs at least one metric, e.g. request_count")
    window = _window(params, now)
    asked = set(endpoint_ids)
    team = [e for e in TEAM if e.endpoint_id in asked]
    per_bucket: dict[date, dict[str, list[Day]]] = {}
    whole: dict[str, list[Day]] = {}
    for day in window.days(now):
        for endpoint in team:
            figures = day_figures(endpoint, day)
            if figures is not None:
                bucket = per_bucket.setdefault(window.bucket(day), {})
                bucket.setdefault(endpoint.endpoint_id, []).append(figures)
                whole.setdefault(endpoint.endpoint_id, []).append(figures)
    buckets = (
        [
            {
                "bucket": _bucket_text(bucket),
                "results": [_record(i, days, metrics) for i, days in sorted(groups.items())],
            }
            for bucket, groups in sorted(per_bucket.items())
        ]
        if TIME_SERIES in expand
        else []
    )
    summary = (
        [_record(i, days, metrics) for i, days in sorted(whole.items())]
        if SUMMARY in expand
        else None
    )
    return _page(buckets, summary, params)


# --- HTTP ----------------------------------------------------------------------------------------


def is_admin_key(authorization: str | None) -> bool:
    """Whether `Authorization: Key <key>` carries an admin key (see the module's docstring)."""
    _, _, key = (authorization or "").strip().partition(" ")
    return key.strip().startswith(ADMIN_KEY_PREFIX)


def handles(path: str) -> bool:
    return path.endswith((USAGE_SUFFIX, ANALYTICS_SUFFIX))


def dispatch(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    authorization: str | None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Response:
    """Answer one request to either path (see `handles`): route, method, key, parameters."""
    if method not in ("GET", "HEAD"):
        return method_not_allowed(method, path, ("GET", "HEAD"))
    try:
        require_key(authorization)
        if path.endswith(USAGE_SUFFIX):
            if not is_admin_key(authorization):
                raise ApiError(
                    "Access denied: usage needs an admin API key", 403, "authorization_error"
                )
            return json_response(usage(query, now()))
        return json_response(analytics(query, now()))
    except ApiError as exc:
        return error_response(exc.status, exc.kind, exc.message, **exc.headers)
