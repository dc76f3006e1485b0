"""The team's figures per endpoint as pages show them: plain values, no Django (cards and
the grid's pure functions hold them). `usage.selectors` reads them from the tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

WINDOW_DAYS = 30
DEMO_NOTE = "Demo usage, made up by the offline emulator"
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class EndpointUsage:
    """One endpoint's last 30 days: spend and quantity (usage lines, None without them),
    calls and errors (fal's 30-day analytics summary, None without it), latency as given."""

    endpoint_id: str
    spend: Decimal | None = None
    currency: str = ""
    quantity: Decimal | None = None
    unit: str = ""
    calls: int | None = None
    errors: int | None = None
    user_errors: int | None = None
    p50: float | None = None  # seconds
    p95: float | None = None

    @property
    def error_rate(self) -> float | None:
        """fal's error_count / request_count (user errors apart)."""
        return self.errors / self.calls if self.calls and self.errors is not None else None

    @property
    def used(self) -> bool:
        return bool(self.calls or self.spend)

    @property
    def sort_spend(self) -> Decimal:
        return self.spend or Decimal(0)

    # As pages write them ("" when fal gave no figure), as /usage/ writes them too.

    @property
    def calls_text(self) -> str:
        return count_text(self.calls) if self.calls is not None else ""

    @property
    def spend_text(self) -> str:
        return money_text(self.spend, self.currency) if self.spend is not None else ""

    @property
    def quantity_text(self) -> str:
        return quantity_text(self.quantity, self.unit) if self.quantity is not None else ""

    @property
    def error_rate_text(self) -> str:
        rate = self.error_rate
        return percent_text(rate) if rate is not None else ""

    @property
    def latency_text(self) -> str:
        """p50 / p95 in seconds."""
        if self.p50 is None and self.p95 is None:
            return ""
        return f"{seconds_text(self.p50)} / {seconds_text(self.p95)}"


# Every page writes the team's figures with these ("—" where fal gave none).


def money_text(amount: Decimal | None, currency: str = "USD") -> str:
    """ "$1,234.57": to the cent, half up."""
    if amount is None:
        return "—"
    cents = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"${cents:,.2f}" if currency in ("USD", "") else f"{cents:,.2f} {currency}"


def cost_text(amount: Decimal | None) -> str:
    """A cost per call: to the cent from a dollar up, else to four decimals ("$0.0378",
    "$0.80")."""
    if amount is None:
        return "—"
    if amount >= 1:
        return money_text(amount)
    digits = f"{amount.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):f}".rstrip("0")
    return "$" + digits.ljust(4, "0")  # "0.8" → "$0.80"


def count_text(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def percent_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def quantity_text(quantity: Decimal, unit: str) -> str:
    """ "1,580 seconds"; "3 × 5 seconds" where fal's unit has a number of its own."""
    joiner = " × " if unit[:1].isdigit() else " "
    return f"{quantity.normalize():,f}{joiner}{unit}".strip()


def seconds_text(value: float | None) -> str:
    """fal's percentile as given (to the millisecond it is sent with)."""
    return "—" if value is None else f"{value:,.3f}".rstrip("0").rstrip(".") + " s"


@dataclass(frozen=True)
class TeamUsage:
    """The figures of one usage run's window; `run_id` None: no usage synced yet."""

    run_id: int | None
    since: date | None = None
    until: date | None = None  # exclusive
    demo: bool = False  # made up by the offline emulator
    by_endpoint: dict[str, EndpointUsage] | None = None

    def get(self, endpoint_id: str) -> EndpointUsage | None:
        return (self.by_endpoint or {}).get(endpoint_id)

    @cached_property
    def ranking(self) -> dict[str, tuple[Decimal, int]]:
        """(spend, calls) of each endpoint the team used: what the grid sorts and filters by."""
        return {
            endpoint_id: (usage.sort_spend, usage.calls or 0)
            for endpoint_id, usage in (self.by_endpoint or {}).items()
            if usage.used
        }

    @property
    def synced(self) -> bool:
        return self.run_id is not None


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: date
    spend: Decimal | None  # None: no usage line that day
    calls: int | None  # None: no analytics that day


NO_USAGE = TeamUsage(run_id=None)
