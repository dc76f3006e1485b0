"""Emulated ``GET /v1/models/usage`` and ``GET /v1/models/analytics`` over a made-up demo team.

No real usage answer was ever recorded publicly (``../shared/spec/README.md``), so every
figure here is **made up**, and whatever shows it must say so ("Demo usage, made up by the
offline emulator"). The contract is ``fal_emulator/data/usage-openapi.json``. Where it is
silent, these are the choices:

The demo team
  ``TEAM``: 33 endpoints, a weekday's requests each. Units and unit prices are the
  recorded prices (``fal-pricing-*.json.gz``), except ``fal-ai/sora-2/text-to-video``,
  which fal's catalog does not list (a model the team calls that is gone from the
  catalog), at a made-up $0.10 per second. ``fal-ai/wan/v2.2-a14b/text-to-video`` fails
  often (about one request in five is a server error). ``fal-ai/flux/dev`` is billed at a
  10 % discount. ``CALLERS``: three API keys (Production, Staging, CI) and two members
  calling with user tokens (alice, bob) share each day's requests 60/15/10/10/5 %.

Figures: deterministic, per day
  Each endpoint's figures for a UTC day come from a random generator seeded with the
  endpoint id and the date (``random.Random("demo-team:<id>:<YYYY-MM-DD>")``, the same in
  every process), so any window gives the same figures for the same days and no fixed
  "today" is needed: there are figures for every day from ``TEAM_SINCE`` up to the day of
  the request (none for later days). Weekly rhythm: weekdays busy, Saturday about a third,
  Sunday a quarter. Of a day's requests some are server errors (``error_count``, split
  into startup, connection, timeout and runtime errors), some user errors; the rest
  succeed and are billed: quantity = successes × the endpoint's units per call,
  ``cost_subtotal`` = quantity × unit price rounded to a millionth of a dollar,
  ``cost_discount`` likewise, ``cost_total`` = the difference (``cost`` the same).
  Latency percentiles are made up around each endpoint's typical duration.

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

import functools
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from fal.openapi import JSONObject
from fal_emulator.envelope import ApiError, Response, error_response, json_response
from fal_emulator.paging import decode_cursor, encode_cursor, parse_limit
from fal_emulator.pricing import require_key
from fal_emulator.snapshot import load_prices

USAGE_SUFFIX = "/models/usage"
ANALYTICS_SUFFIX = "/models/analytics"
OFFLINE_ADMIN_KEY = "admin-offline-emulator"
ADMIN_KEY_PREFIX = "admin"
TEAM_SINCE = date(2025, 6, 1)
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_FILTER_VALUES = 50
UTC_NAMES = ("UTC", "Etc/UTC")
SINGLE_VALUED = ("start", "end", "timezone", "timeframe", "bound_to_timeframe", "limit", "cursor")
TIME_SERIES, SUMMARY = "time_series", "summary"
USAGE_EXPAND = (TIME_SERIES, SUMMARY, "auth_method", "auth_method_structured")
COUNTS = (
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
# Each percentile as a multiple of the day's median: (metric, multiple).
DURATIONS = (("p25_duration", 0.75), ("p50_duration", 1.0), ("p75_duration", 1.3),
             ("p90_duration", 1.7), ("p95_duration", 2.1), ("p99_duration", 3.2))  # fmt: skip
PREPARE = (("p50_prepare_duration", 1.0), ("p75_prepare_duration", 1.6),
           ("p90_prepare_duration", 2.6), ("p95_prepare_duration", 3.4),
           ("p99_prepare_duration", 6.0))  # fmt: skip
COLD_BOOT = (("p50_cold_boot_duration", 1.0), ("p75_cold_boot_duration", 1.4),
             ("p90_cold_boot_duration", 2.0))  # fmt: skip
METRICS = (*COUNTS, *(m for m, _ in (*PREPARE, *DURATIONS, *COLD_BOOT)), "total_billable_duration")
# Of a weekday's requests, Monday to Sunday.
RHYTHM = (1.0, 1.05, 1.1, 1.05, 0.9, 0.35, 0.25)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MICRO = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls: an API key (its alias and id) or a member with a user token."""

    detail: str
    api_key_id: str
    login_username: str
    percent: int  # of each day's requests

    @property
    def label(self) -> str:
        return self.detail if self.api_key_id else "User token"

    def structured(self) -> dict[str, str]:
        who = {"api_key_id": self.api_key_id} if self.api_key_id else {}
        if self.login_username:
            who["login_username"] = self.login_username
        return {"detail": self.detail, **who}


CALLERS = (
    Caller("Production", "key_prod_7f3a", "", 60),
    Caller("Staging", "key_stage_19c2", "", 15),
    Caller("CI", "key_ci_44d0", "", 10),
    Caller("alice", "", "alice", 10),
    Caller("bob", "", "bob", 5),
)


@dataclass(frozen=True, slots=True)
class TeamEndpoint:
    """One endpoint the demo team calls. `unit`/`unit_price` only where fal records none."""

    endpoint_id: str
    calls: int  # requests on a busy weekday
    units_per_call: str
    p50: float  # typical execution time, seconds
    error_rate: float = 0.01
    user_error_rate: float = 0.02
    discount: int | None = None
    unit: str = ""
    unit_price: str = ""


TEAM = (
    TeamEndpoint("fal-ai/flux/dev", 420, "1.05", 3.2, discount=10),
    TeamEndpoint("fal-ai/flux/schnell", 900, "1", 0.9),
    TeamEndpoint("fal-ai/flux-pro/v1.1-ultra", 140, "1", 9.5),
    TeamEndpoint("fal-ai/flux-pro/v1.1", 90, "1", 6.1),
    TeamEndpoint("fal-ai/flux-lora", 260, "1.05", 4.4),
    TeamEndpoint("fal-ai/flux-pro/kontext", 120, "1", 7.8),
    TeamEndpoint("fal-ai/nano-banana", 310, "1", 5.2),
    TeamEndpoint("fal-ai/nano-banana/edit", 180, "1", 6.0),
    TeamEndpoint("fal-ai/gemini-25-flash-image", 40, "1", 5.5),
    TeamEndpoint("fal-ai/bytedance/seedream/v4/text-to-image", 75, "1", 8.3),
    TeamEndpoint("fal-ai/recraft/v3/text-to-image", 55, "1", 11.0),
    TeamEndpoint("fal-ai/ideogram/v3", 48, "1", 9.0),
    TeamEndpoint("fal-ai/ideogram/v2", 6, "1", 8.0),
    TeamEndpoint("fal-ai/qwen-image", 70, "1", 6.5),
    TeamEndpoint("fal-ai/fast-sdxl", 150, "2.5", 2.1),
    TeamEndpoint("fal-ai/clarity-upscaler", 35, "4", 14.0),
    TeamEndpoint("fal-ai/seedvr/upscale/image", 22, "4", 12.0),
    TeamEndpoint("fal-ai/esrgan", 60, "3", 2.8),
    TeamEndpoint("fal-ai/birefnet", 210, "1.5", 1.2),
    TeamEndpoint("fal-ai/bria/background/remove", 95, "1", 1.9),
    TeamEndpoint("fal-ai/kling-video/v2.1/master/text-to-video", 14, "5", 180.0),
    TeamEndpoint("fal-ai/kling-video/v2.5-turbo/pro/text-to-video", 30, "5", 95.0),
    TeamEndpoint("fal-ai/minimax/hailuo-02/standard/image-to-video", 26, "6", 140.0),
    TeamEndpoint("fal-ai/wan/v2.2-a14b/text-to-video", 20, "5", 160.0, error_rate=0.2),
    TeamEndpoint("fal-ai/pixverse/v4.5/text-to-video", 12, "1", 70.0),
    TeamEndpoint("fal-ai/luma-dream-machine/ray-2", 8, "1", 120.0),
    TeamEndpoint("fal-ai/ltx-video", 18, "1", 40.0),
    TeamEndpoint("fal-ai/hunyuan-video", 3, "1", 300.0),
    TeamEndpoint("fal-ai/sora-2/text-to-video", 25, "8", 210.0, unit="seconds", unit_price="0.1"),
    TeamEndpoint("fal-ai/elevenlabs/tts/multilingual-v2", 85, "0.8", 3.5),
    TeamEndpoint("fal-ai/kokoro/american-english", 130, "0.6", 1.4),
    TeamEndpoint("fal-ai/mmaudio-v2", 16, "8", 25.0),
    TeamEndpoint("fal-ai/stable-audio", 10, "20", 18.0),
)


# --- The figures of one endpoint on one day -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Day:
    """One endpoint's made-up traffic on one UTC day."""

    counts: dict[str, int]
    durations: dict[str, float]  # percentiles, seconds
    billable: float  # total_billable_duration
    successes_by_caller: tuple[int, ...]  # in CALLERS' order


@functools.lru_cache(maxsize=65536)
def day_figures(endpoint: TeamEndpoint, day: date) -> Day | None:
    """The endpoint's figures on `day`, or None on a day without requests."""
    rng = random.Random(f"demo-team:{endpoint.endpoint_id}:{day.isoformat()}")
    weekend = day.weekday() >= 5
    requests = round(endpoint.calls * RHYTHM[day.weekday()] * rng.uniform(0.75, 1.25))
    if requests <= 0:
        return None
    errors = min(requests, round(requests * endpoint.error_rate * rng.uniform(0.5, 1.5)))
    user_errors = min(
        requests - errors, round(requests * endpoint.user_error_rate * rng.uniform(0.5, 1.5))
    )
    successes = requests - errors - user_errors
    shares = [successes * caller.percent // 100 for caller in CALLERS]
    shares[0] += successes - sum(shares)
    startup, connection, timeout = (round(errors * part) for part in (0.1, 0.15, 0.25))
    cold_rate = 0.08 if weekend else 0.02
    counts = {
        "request_count": requests,
        "success_count": successes,
        "user_error_count": user_errors,
        "error_count": errors,
        "startup_error_count": startup,
        "connection_error_count": connection,
        "timeout_error_count": timeout,
        "runtime_error_count": errors - startup - connection - timeout,
        "cold_boot_count": min(requests, round(requests * cold_rate * rng.uniform(0.5, 1.5))),
    }
    median = endpoint.p50 * rng.uniform(0.85, 1.2)
    prepare = 0.25 * rng.uniform(0.6, 1.6) * (1.5 if not weekend else 1.0)
    cold = 6.0 * rng.uniform(0.8, 1.3)
    durations = {name: round(median * k, 3) for name, k in DURATIONS}
    durations |= {name: round(prepare * k, 3) for name, k in PREPARE}
    durations |= {name: round(cold * k, 3) for name, k in COLD_BOOT}
    return Day(counts, durations, round(successes * median * 1.15, 3), tuple(shares))


@functools.cache
def _prices() -> dict[str, tuple[str, Decimal]]:
    """{endpoint id: (unit, unit price)} for the team, from the recorded prices."""
    recorded = {p["endpoint_id"]: p for p in load_prices() if isinstance(p, dict)}
    prices = {}
    for endpoint in TEAM:
        if endpoint.unit_price:
            prices[endpoint.endpoint_id] = (endpoint.unit, Decimal(endpoint.unit_price))
        else:
            price = recorded[endpoint.endpoint_id]
            prices[endpoint.endpoint_id] = (price["unit"], Decimal(repr(price["unit_price"])))
    return prices


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


def _params(query: list[tuple[str, str]]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in query:
        params.setdefault(key, []).append(value)
    for key in SINGLE_VALUED:
        if len(params.get(key, ())) > 1:
            raise ApiError(f"Parameter {key!r} takes a single value")
    return params


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


def _money(value: Decimal) -> Decimal:
    return value.quantize(_MICRO, rounding=ROUND_HALF_EVEN)


def usage(query: list[tuple[str, str]], now: datetime) -> dict[str, Any]:
    """The usage answer (the key was checked)."""
    params = _params(query)
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
                _, price = _prices()[endpoint.endpoint_id]
                quantity = successes * Decimal(endpoint.units_per_call)
                subtotal = _money(quantity * price)
                discount = (
                    _money(subtotal * endpoint.discount / 100) if endpoint.discount else Decimal(0)
                )
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
            unit, price = _prices()[endpoint.endpoint_id]
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
    params = _params(query)
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
        return error_response(
            405, "validation_error", f"Method {method} is not allowed on {path}; use GET",
            Allow="GET, HEAD",
        )  # fmt: skip
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
