"""The team's usage as the last good usage sync stored it, and a row per sync run.

Pages read these tables only (fal is asked by `usage.sync` alone). One query answers each
question of a usage page: spend and quantities per endpoint, key, member or day are sums
over `UsageLine` rows of the window (money in integer billionths: `from_nanos`); calls
and errors per day are sums over `AnalyticsDay`; latency percentiles of a window are an
`AnalyticsSummary` row each (percentiles do not add up, so fal's own figure for each
window is kept); what is missing, and since when, is the latest `UsageSyncRun` (the last
good figures' date is the latest run whose part was fetched).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django.db import models
from django.utils import timezone

# Money is stored in billionths of its currency, as integers: sums are exact in every
# database (SQLite adds decimal columns as floats) and a cent is 10**7 of them.
MONEY_SCALE = 10**9


def to_nanos(value: Decimal) -> int:
    """An amount in billionths, rounded half to even (fal sends far fewer decimals)."""
    return int((value * MONEY_SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_nanos(nanos: int) -> Decimal:
    """The amount `nanos` billionths make, exactly."""
    return Decimal(nanos) / MONEY_SCALE


def _amount(help_text: str = "") -> models.DecimalField:
    """A quantity or unit price as fal sent it (not summed as money)."""
    return models.DecimalField(max_digits=24, decimal_places=10, help_text=help_text)


def _money(help_text: str) -> models.BigIntegerField:
    return models.BigIntegerField(help_text=f"{help_text}, in billionths of the currency")


class UsageSyncRun(models.Model):
    """One usage sync: its window, its calls to fal, and what each part came to."""

    class Part(models.TextChoices):
        FETCHED = "fetched", "fetched"
        MISSING = "missing", "missing"  # not asked: no key for it
        FAILED = "failed", "failed"  # asked, fal failed: the last good figures stay

    trigger = models.CharField(max_length=40)
    source = models.CharField(max_length=300, help_text="The API's base URL (never a key).")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateField(help_text="First day of the window.")
    until = models.DateField(help_text="Day after the window (exclusive).")
    upstream_calls = models.PositiveIntegerField(default=0)
    usage = models.CharField(max_length=10, choices=Part.choices, blank=True)
    usage_error = models.TextField(blank=True, help_text="Why spend and quantities are missing.")
    usage_lines = models.PositiveIntegerField(default=0)
    analytics = models.CharField(max_length=10, choices=Part.choices, blank=True)
    analytics_error = models.TextField(blank=True)
    endpoints_asked = models.PositiveIntegerField(default=0)
    endpoints_used = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-pk"]
        get_latest_by = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"usage sync {self.pk} ({self.started_at:%Y-%m-%d %H:%M})"


class UsageLine(models.Model):
    """One usage line of one UTC day: a quantity of one endpoint's unit, at one price and
    discount, by one caller (a key or a member; blank when fal did not say)."""

    day = models.DateField()
    endpoint_id = models.CharField(max_length=1000)
    unit = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    unit_price = _amount()
    percent_discount = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    api_key_id = models.CharField(max_length=200, blank=True)
    login_username = models.CharField(max_length=200, blank=True)
    caller = models.CharField(max_length=200, blank=True, help_text="fal's label for the caller.")
    quantity = _amount()
    cost_subtotal = _money("Before discounts")
    cost_discount = _money("The discount")
    cost_total = _money("What was charged")

    class Meta:
        ordering = ["day", "endpoint_id", "pk"]
        indexes = [
            models.Index(fields=["day"], name="usage_line_day"),
            models.Index(fields=["endpoint_id", "day"], name="usage_line_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.endpoint_id}"


class Metrics(models.Model):
    """fal's analytics metrics as given: counts, and durations in seconds (None: not sent)."""

    request_count = models.PositiveBigIntegerField(null=True)
    success_count = models.PositiveBigIntegerField(null=True)
    user_error_count = models.PositiveBigIntegerField(null=True)
    error_count = models.PositiveBigIntegerField(null=True)
    startup_error_count = models.PositiveBigIntegerField(null=True)
    connection_error_count = models.PositiveBigIntegerField(null=True)
    timeout_error_count = models.PositiveBigIntegerField(null=True)
    runtime_error_count = models.PositiveBigIntegerField(null=True)
    cold_boot_count = models.PositiveBigIntegerField(null=True)
    p50_prepare_duration = models.FloatField(null=True)
    p75_prepare_duration = models.FloatField(null=True)
    p90_prepare_duration = models.FloatField(null=True)
    p95_prepare_duration = models.FloatField(null=True)
    p99_prepare_duration = models.FloatField(null=True)
    p25_duration = models.FloatField(null=True)
    p50_duration = models.FloatField(null=True)
    p75_duration = models.FloatField(null=True)
    p90_duration = models.FloatField(null=True)
    p95_duration = models.FloatField(null=True)
    p99_duration = models.FloatField(null=True)
    p50_cold_boot_duration = models.FloatField(null=True)
    p75_cold_boot_duration = models.FloatField(null=True)
    p90_cold_boot_duration = models.FloatField(null=True)
    total_billable_duration = models.FloatField(null=True)

    class Meta:
        abstract = True


class AnalyticsDay(Metrics):
    """One endpoint's analytics on one UTC day (only days with requests)."""

    day = models.DateField()
    endpoint_id = models.CharField(max_length=1000)

    class Meta:
        ordering = ["day", "endpoint_id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint_id", "day"], name="analytics_day_unique")
        ]
        indexes = [models.Index(fields=["day"], name="analytics_day_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.endpoint_id}"


class AnalyticsSummary(Metrics):
    """One endpoint's analytics over the last `days` days, as fal summed them (only endpoints
    with requests in that window)."""

    days = models.PositiveSmallIntegerField(help_text="The window: 7, 30 or 90 days.")
    endpoint_id = models.CharField(max_length=1000)
    since = models.DateField()
    until = models.DateField(help_text="Exclusive.")

    class Meta:
        ordering = ["days", "endpoint_id"]
        constraints = [
            models.UniqueConstraint(fields=["days", "endpoint_id"], name="analytics_summary_unique")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} over {self.days} days"
