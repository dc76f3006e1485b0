"""The client's usage and analytics calls against `responses`: the query strings the contract
names, parsing and merging pages, the key errors, retries and the time budget."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from fal.client import FalModelsClient
from fal.errors import (
    FalAuthenticationError,
    FalInvalidResponseError,
    FalPermissionDeniedError,
    FalServerError,
)
from fal.usage import METRICS, AnalyticsQuery, AuthMethod, UsageQuery

BASE = "https://api.fal.test/v1"
USAGE_URL = f"{BASE}/models/usage"
ANALYTICS_URL = f"{BASE}/models/analytics"


def client(**kwargs) -> FalModelsClient:
    return FalModelsClient(base_url=BASE, key="admin-key", sleep=lambda _: None, **kwargs)


def usage_line(endpoint_id: str = "fal-ai/flux/dev", **fields) -> dict:
    """A usage line item with every field the contract requires."""
    line = {
        "endpoint_id": endpoint_id,
        "unit": "image",
        "quantity": 4,
        "unit_price": 0.1,
        "percent_discount": 20,
        "cost_subtotal": 0.4,
        "cost_discount": 0.08,
        "cost_total": 0.32,
        "cost": 0.32,
        "currency": "USD",
    }
    return {**line, **fields}


def page(time_series=None, summary=None, next_cursor=None) -> dict:
    body: dict = {"next_cursor": next_cursor, "has_more": next_cursor is not None}
    if time_series is not None:
        body["time_series"] = time_series
    if summary is not None:
        body["summary"] = summary
    return body


def sent(call) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call.request.url).query, keep_blank_values=True)


# --- Queries ---------------------------------------------------------------------------------


def test_a_usage_query_sends_every_parameter_of_the_contract():
    query = UsageQuery(
        start=date(2026, 9, 1),
        end=datetime(2026, 12, 1, tzinfo=UTC),
        timeframe="day",
        timezone="UTC",
        bound_to_timeframe=False,
        expand=("time_series", "auth_method_structured"),
        endpoint_ids=("fal-ai/flux/dev", "fal-ai/veo3"),
        api_key_ids=("key1",),
        login_usernames=("alice",),
        limit=100,
    )
    assert query.params("Mg") == [
        ("endpoint_id", "fal-ai/flux/dev"),
        ("endpoint_id", "fal-ai/veo3"),
        ("api_key_id", "key1"),
        ("login_username", "alice"),
        ("expand", "time_series"),
        ("expand", "auth_method_structured"),
        ("start", "2026-09-01"),
        ("end", "2026-12-01T00:00:00Z"),
        ("timeframe", "day"),
        ("timezone", "UTC"),
        ("bound_to_timeframe", "false"),
        ("limit", "100"),
        ("cursor", "Mg"),
    ]


def test_an_analytics_query_needs_one_to_fifty_endpoints_and_a_metric():
    assert AnalyticsQuery(endpoint_ids=("a/b",)).params() == [
        ("endpoint_id", "a/b"),
        ("expand", "time_series"),
        ("expand", "request_count"),
    ]
    with pytest.raises(ValueError, match="1-50"):
        AnalyticsQuery()
    with pytest.raises(ValueError, match="at most 50"):
        AnalyticsQuery(endpoint_ids=tuple(f"a/{i}" for i in range(51)))
    with pytest.raises(ValueError, match="metric"):
        AnalyticsQuery(endpoint_ids=("a/b",), expand=("summary",))
    with pytest.raises(ValueError, match="time_series"):
        AnalyticsQuery(endpoint_ids=("a/b",), expand=("request_count",))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"timeframe": "year"}, "timeframe"),
        ({"limit": 0}, "limit"),
        ({"expand": ("auth_method",)}, "time_series"),
        ({"expand": ("time_series", "p50_duration")}, "expand"),
        ({"endpoint_ids": "fal-ai/flux/dev"}, "not one string"),
        ({"endpoint_ids": ("a,b",)}, "commas"),
        ({"start": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"start": date(2026, 2, 1), "end": date(2026, 1, 1)}, "before"),
    ],
)
def test_a_usage_query_the_contract_would_refuse_is_refused_before_asking(kwargs, message):
    with pytest.raises(ValueError, match=message):
        UsageQuery(**kwargs)


# --- Usage -------------------------------------------------------------------------------------


@responses.activate
def test_usage_follows_cursors_and_joins_a_bucket_split_across_pages():
    day = "2026-11-30T00:00:00+00:00"
    responses.get(
        USAGE_URL,
        json=page(
            time_series=[{"bucket": day, "results": [usage_line()]}],
            next_cursor="Mg",
        ),
    )
    responses.get(
        USAGE_URL,
        json=page(
            time_series=[
                {"bucket": day, "results": [usage_line("fal-ai/veo3", percent_discount=None)]},
                {"bucket": "2026-12-01T00:00:00+00:00", "results": []},
            ]
        ),
    )
    report = client().usage(UsageQuery(timeframe="day"))
    assert report.pages == 2
    assert [b.bucket for b in report.time_series] == [day, "2026-12-01T00:00:00+00:00"]
    first = report.time_series[0]
    assert first.start == datetime(2026, 11, 30, tzinfo=UTC)
    assert [line.endpoint_id for line in first.lines] == ["fal-ai/flux/dev", "fal-ai/veo3"]
    line = first.lines[0]
    assert (line.quantity, line.unit_price, line.percent_discount) == (4, 0.1, 20)
    assert (line.cost_subtotal, line.cost_discount, line.cost_total) == (0.4, 0.08, 0.32)
    assert first.lines[1].percent_discount is None
    assert ("cursor", "Mg") in sent(responses.calls[1])
    assert responses.calls[0].request.headers["Authorization"] == "Key admin-key"


@responses.activate
def test_usage_reads_who_called_and_the_summary():
    structured = {"detail": "Production", "api_key_id": "key_1"}
    responses.get(
        USAGE_URL,
        json=page(
            summary=[usage_line(auth_method="Production", auth_method_structured=structured)]
        ),
    )
    (line,) = client().usage(UsageQuery(expand=("summary", "auth_method"))).summary
    assert line.auth_method == "Production"
    assert line.auth == AuthMethod(detail="Production", api_key_id="key_1")


@responses.activate
def test_a_usage_line_without_its_amounts_is_skipped_and_logged(caplog):
    broken = usage_line(cost_total=-1)
    responses.get(
        USAGE_URL,
        json=page(time_series=[{"bucket": "2026-11-30T00:00:00Z", "results": [broken]}]),
    )
    (bucket,) = client().usage(UsageQuery()).time_series
    assert bucket.lines == ()
    assert "Skipped a usage line" in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        {"time_series": []},  # no has_more
        {"has_more": False, "time_series": {}},
        {"has_more": False, "time_series": [{"bucket": "yesterday", "results": []}]},
        {"has_more": False, "time_series": [{"bucket": "2026-11-30T00:00:00", "results": []}]},
        [],
    ],
)
@responses.activate
def test_usage_of_the_wrong_shape_is_an_invalid_response(body):
    responses.get(USAGE_URL, json=body)
    with pytest.raises(FalInvalidResponseError):
        client().usage(UsageQuery())


@pytest.mark.parametrize(
    "status, error", [(401, FalAuthenticationError), (403, FalPermissionDeniedError)]
)
@responses.activate
def test_usage_without_an_admin_key_raises_the_contract_s_error(status, error):
    responses.get(
        USAGE_URL,
        status=status,
        json={"error": {"type": "authorization_error", "message": "Access denied"}},
    )
    with pytest.raises(error) as raised:
        client().usage(UsageQuery())
    assert raised.value.type == "authorization_error" and raised.value.message == "Access denied"
    assert len(responses.calls) == 1  # not retried: the key will not change


@responses.activate
def test_usage_retries_a_transient_failure_within_its_budget():
    responses.get(USAGE_URL, status=503, json={"error": {"type": "server_error", "message": "x"}})
    responses.get(USAGE_URL, json=page(time_series=[]))
    assert client().usage(UsageQuery()).pages == 1
    assert len(responses.calls) == 2


@responses.activate
def test_usage_gives_up_after_its_retries():
    responses.get(USAGE_URL, status=503, json={"error": {"type": "server_error", "message": "x"}})
    with pytest.raises(FalServerError):
        client(max_retries=1).usage(UsageQuery())
    assert len(responses.calls) == 2


# --- Analytics -----------------------------------------------------------------------------------


@responses.activate
def test_analytics_parses_every_metric_asked_and_leaves_the_others_none():
    record = {"endpoint_id": "fal-ai/flux/dev", "request_count": 1500, "success_count": 1450,
              "p50_duration": 2.5, "p90_duration": 4.8, "cold_boot_count": 1.5}  # fmt: skip
    responses.get(
        ANALYTICS_URL,
        json=page(
            time_series=[{"bucket": "2025-01-15T12:00:00-05:00", "results": [record]}],
            summary=[{"endpoint_id": "fal-ai/flux/dev", "error_count": 7}],
        ),
    )
    query = AnalyticsQuery(
        endpoint_ids=("fal-ai/flux/dev",), expand=("time_series", "summary", *METRICS)
    )
    report = client().analytics(query)
    (bucket,) = report.time_series
    (parsed,) = bucket.records
    assert (parsed.request_count, parsed.success_count) == (1500, 1450)
    assert (parsed.p50_duration, parsed.p90_duration) == (2.5, 4.8)
    assert parsed.cold_boot_count is None  # not a whole number: not a count
    assert parsed.error_count is None
    assert report.summary[0].error_count == 7
    assert bucket.start.utcoffset().total_seconds() == -5 * 3600
    assert sent(responses.calls[0]).count(("endpoint_id", "fal-ai/flux/dev")) == 1
    assert len([v for k, v in sent(responses.calls[0]) if k == "expand"]) == 2 + len(METRICS)
