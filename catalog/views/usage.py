"""`/usage/`: what the team spent and called per endpoint and per day, joined to the catalog
(names, list prices, models gone from fal), as a page or a CSV (`/usage.csv`,
`?format=csv`). The figures are `usage.reports`'; the page asks fal nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control

from catalog import services
from catalog.index import CatalogIndex
from catalog.views import spreadsheet_safe
from usage.figures import (
    cost_text,
    count_text,
    money_text,
    percent_text,
    quantity_text,
    seconds_text,
)
from usage.reports import (
    OTHER,
    SORTS,
    WINDOWS,
    DailyChart,
    EndpointWindow,
    UsageView,
    parse_usage_view,
    usage_report,
)

HIGH_ERROR_RATE = 0.05  # fal's server errors per call, stressed in the table from here
CSV_FIELDS = ["endpoint_id", "model", "in_catalog", "calls", "successful_calls", "quantity",
              "unit", "spend_usd", "cost_per_call_usd", "list_price", "error_rate",
              "user_error_rate", "p50_seconds", "p95_seconds", "cold_boots"]  # fmt: skip


@dataclass(frozen=True)
class TableRow:
    """One endpoint's row as the page shows it."""

    figures: EndpointWindow
    name: str
    gone: bool
    list_price: str

    @property
    def quantity(self) -> str:
        return " + ".join(quantity_text(q, unit) for q, unit in self.figures.quantities)

    @property
    def spend(self) -> str:
        return money_text(self.figures.spend)

    @property
    def cost_per_call(self) -> str:
        return cost_text(self.figures.cost_per_call)

    @property
    def calls(self) -> str:
        return count_text(self.figures.calls)

    @property
    def cold_boots(self) -> str:
        return count_text(self.figures.cold_boots)

    @property
    def errors(self) -> str:
        return percent_text(self.figures.error_rate)

    @property
    def errors_high(self) -> bool:
        rate = self.figures.error_rate
        return rate is not None and rate >= HIGH_ERROR_RATE

    @property
    def user_errors(self) -> str:
        return percent_text(self.figures.user_error_rate)

    @property
    def p50(self) -> str:
        return seconds_text(self.figures.p50)

    @property
    def p95(self) -> str:
        return seconds_text(self.figures.p95)


def usage_page(request: HttpRequest) -> HttpResponse:
    view, messages = parse_usage_view(request.GET)
    as_csv = request.path.endswith(".csv") or request.GET.get("format") == "csv"
    report = usage_report(view, messages=messages, with_chart=not as_csv)
    rows = _table_rows(report.rows, services.catalog_index())
    if as_csv:
        return _csv(rows)
    context = {
        "report": report,
        "rows": rows,
        "windows": [(days, _url(report.view, days=days)) for days in WINDOWS],
        "columns": _columns(report.view),
        "csv_url": _url(report.view, format="csv"),
        "clear_url": _url(report.view, key="", user=""),
        "chart": _chart_context(report.chart, rows) if report.chart else None,
        "total_spend": money_text(report.total_spend) if report.total_spend is not None else "",
        "total_calls": count_text(report.total_calls),
    }
    response = render(request, "catalog/usage.html", context)
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _url(view: UsageView, **changes: Any) -> str:
    fmt = changes.pop("format", "")
    params = view.params(**changes) | ({"format": fmt} if fmt else {})
    return reverse("catalog:usage") + (f"?{urlencode(params)}" if params else "")


def _table_rows(found: list[EndpointWindow], index: CatalogIndex) -> list[TableRow]:
    rows = []
    for figures in found:
        model = index.get(figures.endpoint_id)
        meta = model.metadata if model else None
        price = index.price(figures.endpoint_id)
        rows.append(
            TableRow(
                figures=figures,
                name=(meta.display_name.strip() if meta else "") or figures.endpoint_id,
                gone=model is None or index.is_gone(figures.endpoint_id),
                list_price=price.text if price else "—",
            )
        )
    return rows


# (sort key, heading, numeric?)
HEADINGS = (("model", "Model", False), ("calls", "Calls", True), (None, "Quantity", True),
            ("spend", "Spend", True), ("cost", "Cost per call", True), (None, "List price", True),
            ("errors", "Errors", True), ("p50", "p50", True), ("p95", "p95", True),
            ("cold", "Cold boots", True))  # fmt: skip


def _columns(view: UsageView) -> list[dict[str, Any]]:
    """The table's headings: sortable ones link to their sort, the current one says so."""
    assert {key for key, _, _ in HEADINGS if key} == set(SORTS)
    return [
        {
            "label": label,
            "numeric": numeric,
            "url": _url(view, sort=key) if key else "",
            "sorted": "descending" if SORTS.get(key or "", (None, False))[1] else "ascending",
            "current": key == view.sort,
        }  # fmt: skip
        for key, label, numeric in HEADINGS
    ]


def _chart_context(chart: DailyChart, rows: list[TableRow]) -> dict[str, Any]:
    """The chart's figures, for its JSON (the canvas) and its table (the same figures)."""
    spend = chart.metric == "spend"
    names = {row.figures.endpoint_id: row.name for row in rows}
    labels = [names.get(s.label, s.label) if s.label != OTHER else "Other models"
              for s in chart.series]  # fmt: skip

    def show(value: Decimal | int) -> str:
        return money_text(Decimal(value)) if spend else f"{value:,}"

    return {
        "title": "Spend per day" if spend else "Calls per day",
        "labels": labels,
        "rows": [
            (day, [show(v) for v in values], show(total)) for day, values, total in chart.rows()
        ],
        "data": {
            "metric": chart.metric,
            "days": [day.isoformat() for day in chart.days],
            "series": [
                {"label": label, "values": [float(v) for v in s.values]}
                for label, s in zip(labels, chart.series, strict=True)
            ],  # fmt: skip
        },
    }


def _csv(rows: list[TableRow]) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        f = row.figures
        quantity, unit = f.quantities[0] if len(f.quantities) == 1 else ("", row.quantity)
        record = {"endpoint_id": f.endpoint_id, "model": row.name,
                  "in_catalog": "no" if row.gone else "yes",
                  "calls": _plain(f.calls), "successful_calls": _plain(f.successes),
                  "quantity": _plain(quantity), "unit": unit, "spend_usd": _plain(f.spend),
                  "cost_per_call_usd": _plain(f.cost_per_call), "list_price": row.list_price,
                  "error_rate": _plain(f.error_rate), "user_error_rate": _plain(f.user_error_rate),
                  "p50_seconds": _plain(f.p50), "p95_seconds": _plain(f.p95),
                  "cold_boots": _plain(f.cold_boots)}  # fmt: skip
        writer.writerow({k: spreadsheet_safe(v) for k, v in record.items()})
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="usage.csv"'
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _plain(value: Decimal | float | int | str | None) -> str:
    """A figure exactly, for a spreadsheet: "" when missing."""
    if value is None or value == "":
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)
