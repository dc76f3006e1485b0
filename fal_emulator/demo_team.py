"""The made-up demo team the emulator's usage and analytics answer for: who calls what, and
each endpoint's figures on each day.

No real usage answer was ever recorded publicly, so all of this is invented (see
``fal_emulator.usage`` for the paths that serve it).

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
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from fal_emulator.snapshot import load_prices

TEAM_SINCE = date(2025, 6, 1)
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
def team_prices() -> dict[str, tuple[str, Decimal]]:
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


def amounts(endpoint: TeamEndpoint, successes: int) -> tuple[Decimal, Decimal, Decimal]:
    """(quantity, cost_subtotal, cost_discount) of `successes` billed calls, each amount
    rounded to a millionth of a dollar."""
    _, price = team_prices()[endpoint.endpoint_id]
    quantity = successes * Decimal(endpoint.units_per_call)
    subtotal = (quantity * price).quantize(_MICRO, rounding=ROUND_HALF_EVEN)
    percent = endpoint.discount or 0
    discount = (subtotal * percent / 100).quantize(_MICRO, rounding=ROUND_HALF_EVEN)
    return quantity, subtotal, discount
