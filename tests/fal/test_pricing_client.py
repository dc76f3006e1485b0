"""`FalModelsClient.prices()` and `.estimate()`: against `responses` and the in-process emulator."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses

from fal.client import FalModelsClient
from fal.errors import (
    FalAPIError,
    FalAuthenticationError,
    FalBadRequestError,
    FalInvalidResponseError,
    FalNotFoundError,
    FalPermissionDeniedError,
    FalRateLimitError,
    FalServerError,
)
from fal.types import Estimate, Price
from fal_emulator import OFFLINE_KEY, WSGITransport, load_prices, snapshot_emulator

BASE = "https://api.fal.test/v1"
PRICES_URL = f"{BASE}/models/pricing"
ESTIMATE_URL = f"{BASE}/models/pricing/estimate"
STABLE_AUDIO = "fal-ai/stable-audio-3/medium/text-to-audio"
# What fal#718 reports: a bot-protection page instead of JSON, with a script in it.
CHALLENGE_403 = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title>"
    "<script>window._cf_chl_opt={cType:'managed'};alert('x')</script></head>"
    "<body><h1>Checking your browser before accessing api.fal.ai</h1></body></html>"
)


def price_entry(endpoint_id: str, unit_price: float = 0.025, unit: str = "images") -> dict:
    """A `prices` entry with the contract's four required fields."""
    return {"endpoint_id": endpoint_id, "unit_price": unit_price, "unit": unit, "currency": "USD"}


def prices_body(*entries: dict, next_cursor: str | None = None) -> dict:
    return {"prices": list(entries), "next_cursor": next_cursor, "has_more": bool(next_cursor)}


def envelope(type_: str, message: str, **extra) -> dict:
    return {"error": {"type": type_, "message": message, **extra}}


def asked_ids(request) -> list[str]:
    return [v for k, v in parse_qsl(urlsplit(request.url).query) if k == "endpoint_id"]


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    return FalModelsClient(
        base_url=BASE, key="sekrit-123", timeout=3, max_retries=2, sleep=sleeps.append
    )


@pytest.fixture
def fal_prices(no_internet):
    """A fake fal that prices every id except those starting `unknown/`, answering in its
    own (reversed) order, as a real API may."""

    def answer(request):
        entries = [price_entry(i) for i in reversed(asked_ids(request))]
        entries = [e for e in entries if not e["endpoint_id"].startswith("unknown/")]
        if not entries:
            return 404, {}, json.dumps(envelope("not_found", "No pricing found"))
        return 200, {}, json.dumps(prices_body(*entries))

    no_internet.add_callback(responses.GET, PRICES_URL, callback=answer)
    return no_internet


# --- prices() --------------------------------------------------------------------------------


def test_prices_are_typed_results_in_the_order_asked(client, fal_prices):
    got = client.prices(["b/2", "a/1", "c/3"])
    assert got == [Price(i, 0.025, "images", "USD") for i in ("b/2", "a/1", "c/3")]
    assert asked_ids(fal_prices.calls[0].request) == ["b/2", "a/1", "c/3"]


def test_120_ids_go_in_batches_of_50_with_duplicates_once(client, fal_prices):
    ids = [f"owner/m{n}" for n in range(120)]
    got = client.prices(ids + ids[:10])
    assert [p.endpoint_id for p in got] == ids
    assert [len(asked_ids(c.request)) for c in fal_prices.calls] == [50, 50, 20]
    assert sum((asked_ids(c.request) for c in fal_prices.calls), []) == ids


def test_unknown_ids_are_left_out_even_when_a_whole_batch_is_404(client, fal_prices):
    ids = [f"unknown/{n}" for n in range(50)] + ["a/1", "unknown/x", "b/2"]
    assert [p.endpoint_id for p in client.prices(ids)] == ["a/1", "b/2"]
    assert len(fal_prices.calls) == 2


def test_a_404_is_logged_at_debug_and_other_failures_as_warnings(client, fal_prices, caplog):
    """A batch fal prices none of is an answer the sync expects: no warning per batch."""
    caplog.set_level(logging.DEBUG, logger="fal.client")
    assert client.prices(["unknown/1"]) == []
    ((level, message),) = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert level == logging.DEBUG and "FalNotFoundError" in message and "status=404" in message
    caplog.clear()
    fal_prices.replace(responses.GET, PRICES_URL, status=400,
                       json=envelope("validation_error", "bad id"))  # fmt: skip
    with pytest.raises(FalBadRequestError):
        client.prices(["a/1"])
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_no_ids_asks_nothing(client, no_internet):
    assert client.prices([]) == []
    assert not no_internet.calls


def test_the_key_is_sent_as_authorization_key(client, fal_prices):
    client.prices(["a/1"])
    assert fal_prices.calls[0].request.headers["Authorization"] == "Key sekrit-123"


def test_without_a_key_no_authorization_header_is_sent(no_internet):
    no_internet.get(PRICES_URL, json=prices_body(price_entry("a/1")))
    FalModelsClient(base_url=BASE).prices(["a/1"])
    assert "Authorization" not in no_internet.calls[0].request.headers


def test_a_paged_answer_is_followed_to_its_end(client, no_internet):
    no_internet.get(PRICES_URL, json=prices_body(price_entry("a/1"), next_cursor="Mg"))
    no_internet.get(PRICES_URL, json=prices_body(price_entry("b/2"), next_cursor="Mg"))
    assert [p.endpoint_id for p in client.prices(["a/1", "b/2"])] == ["a/1", "b/2"]
    cursors = [
        dict(parse_qsl(urlsplit(c.request.url).query)).get("cursor") for c in no_internet.calls
    ]
    assert cursors == [None, "Mg"]  # the repeated cursor is not followed again


def test_entries_without_a_usable_price_are_skipped_and_odd_fields_tolerated(
    client, no_internet, caplog
):
    body = prices_body(
        price_entry("a/1", unit_price=-1),
        {"endpoint_id": "b/2", "unit_price": "0.1", "unit": "images", "currency": "USD"},
        {"endpoint_id": "c/3", "unit_price": True},
        {"unit_price": 1},
        {"endpoint_id": "d/4", "unit_price": 3, "unit": None},
        "junk",
    )
    no_internet.get(PRICES_URL, json=body)
    assert client.prices(["a/1", "b/2", "c/3", "d/4"]) == [Price("d/4", 3.0, "", "")]
    skipped = [r.getMessage() for r in caplog.records if r.name == "fal.types"]
    assert skipped == ["Skipped a price entry without a usable endpoint_id or unit_price"] * 5


def test_a_free_endpoint_keeps_its_price_of_zero(client, no_internet):
    no_internet.get(PRICES_URL, json=prices_body(price_entry("a/1", unit_price=0)))
    assert [(p.endpoint_id, p.unit_price) for p in client.prices(["a/1"])] == [("a/1", 0.0)]


SHAPE = "The API answered with JSON of an unexpected shape"
NOT_JSON = "The API answered with something that is not JSON"


@pytest.mark.parametrize(
    ("body", "message"),
    [('{"price": []}', SHAPE), ("[]", SHAPE), ("<html>hi</html>", NOT_JSON), ("", NOT_JSON)],
)
def test_a_body_of_the_wrong_shape_is_an_invalid_response(client, no_internet, body, message):
    no_internet.get(PRICES_URL, body=body, content_type="application/json")
    with pytest.raises(FalInvalidResponseError) as raised:
        client.prices(["a/1"])
    assert raised.value.message == message  # what the price panel shows


# --- errors: the same taxonomy as /models ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "type_", "error_class"),
    [
        (400, "validation_error", FalBadRequestError),
        (401, "authorization_error", FalAuthenticationError),
        (403, "authorization_error", FalPermissionDeniedError),
        (429, "rate_limited", FalRateLimitError),
        (500, "server_error", FalServerError),
    ],
)
def test_error_envelopes_raise_the_typed_error(client, no_internet, status, type_, error_class):
    error_body = envelope(type_, "It went wrong", request_id="req-9")
    for url in (PRICES_URL, ESTIMATE_URL):
        no_internet.get(url, status=status, json=error_body)
        no_internet.post(url, status=status, json=error_body)
    calls = (
        lambda: client.prices(["a/1"]),
        lambda: client.estimate(estimate_type="unit_price", endpoints={"a/1": 1}),
    )
    for call in calls:
        with pytest.raises(error_class) as raised:
            call()
        assert (raised.value.status, raised.value.type, raised.value.message) == (
            status,
            type_,
            "It went wrong",
        )
        assert raised.value.request_id == "req-9"


def test_a_401_without_a_key_is_an_authentication_error(no_internet):
    no_internet.get(
        PRICES_URL, status=401, json=envelope("authorization_error", "Authentication required")
    )
    with pytest.raises(FalAuthenticationError, match="Authentication required"):
        FalModelsClient(base_url=BASE).prices(["a/1"])


@pytest.mark.parametrize("method", ["prices", "estimate"])
def test_a_403_html_challenge_is_a_permission_error_with_no_html(client, no_internet, method):
    no_internet.get(PRICES_URL, status=403, body=CHALLENGE_403, content_type="text/html")
    no_internet.post(ESTIMATE_URL, status=403, body=CHALLENGE_403, content_type="text/html")
    with pytest.raises(FalPermissionDeniedError) as raised:
        if method == "prices":
            client.prices(["a/1"])
        else:
            client.estimate(estimate_type="unit_price", endpoints={"a/1": 1})
    message = str(raised.value)
    assert message == "The fal API answered HTTP 403"
    assert "<" not in message and "script" not in message and "moment" not in message
    assert raised.value.type is None
    assert len(no_internet.calls) == 1  # a 403 is not retried


def test_a_429_on_pricing_is_retried_after_retry_after(client, no_internet, sleeps):
    no_internet.get(
        PRICES_URL, status=429, headers={"Retry-After": "1"}, json=envelope("rate_limited", "slow")
    )
    no_internet.get(PRICES_URL, json=prices_body(price_entry("a/1")))
    assert [p.endpoint_id for p in client.prices(["a/1"])] == ["a/1"]
    assert sleeps == [1.0]


def test_a_503_on_the_estimate_is_retried(client, no_internet):
    no_internet.post(ESTIMATE_URL, status=503, json=envelope("server_error", "down"))
    no_internet.post(
        ESTIMATE_URL, json={"estimate_type": "unit_price", "total_cost": 1.5, "currency": "USD"}
    )
    assert client.estimate(estimate_type="unit_price", endpoints={"a/1": 2}).total_cost == 1.5
    assert len(no_internet.calls) == 2


def test_a_connection_error_is_the_base_error(client, no_internet):
    no_internet.get(PRICES_URL, body=requests.ConnectionError("reset"))
    with pytest.raises(FalAPIError):
        client.prices(["a/1"])


# --- estimate() --------------------------------------------------------------------------------


def test_an_estimate_posts_json_with_the_key_and_parses_the_answer(client, no_internet):
    no_internet.post(
        ESTIMATE_URL, json={"estimate_type": "unit_price", "total_cost": 0.0376, "currency": "USD"}
    )
    got = client.estimate(estimate_type="unit_price", endpoints={STABLE_AUDIO: 1})
    assert got == Estimate(estimate_type="unit_price", total_cost=0.0376, currency="USD")
    request = no_internet.calls[0].request
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Key sekrit-123"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "estimate_type": "unit_price",
        "endpoints": {STABLE_AUDIO: {"unit_quantity": 1}},
    }


def test_a_historical_estimate_sends_call_quantities(client, no_internet):
    no_internet.post(
        ESTIMATE_URL,
        json={"estimate_type": "historical_api_price", "total_cost": 3.75, "currency": "USD"},
    )
    client.estimate(estimate_type="historical_api_price", endpoints={"fal-ai/flux/dev": 100})
    sent = json.loads(no_internet.calls[0].request.body)
    assert sent["endpoints"] == {"fal-ai/flux/dev": {"call_quantity": 100}}


@pytest.mark.parametrize(
    ("estimate_type", "endpoints"),
    [
        ("gpu", {"a/1": 1}),
        ("unit_price", {"a/1": 0}),
        ("unit_price", {"a/1": float("nan")}),
        ("unit_price", {"a/1": float("inf")}),
        ("unit_price", {"a/1": "2"}),
        ("unit_price", {"a/1": True}),
    ],
)
def test_a_malformed_estimate_is_refused_before_any_request(
    client, no_internet, estimate_type, endpoints
):
    with pytest.raises(ValueError) as raised:
        client.estimate(estimate_type=estimate_type, endpoints=endpoints)
    assert not no_internet.calls
    if estimate_type == "gpu":
        assert str(raised.value).startswith("estimate_type must be one of ")
    else:
        assert str(raised.value) == "The quantity for 'a/1' must be a number > 0"


@pytest.mark.parametrize(
    "body",
    [
        {"estimate_type": "unit_price", "currency": "USD"},
        {"estimate_type": "unit_price", "total_cost": "1", "currency": "USD"},
        {"estimate_type": "unit_price", "total_cost": -1, "currency": "USD"},
        [],
    ],
)
def test_an_estimate_without_a_usable_total_is_an_invalid_response(client, no_internet, body):
    no_internet.post(ESTIMATE_URL, json=body)
    with pytest.raises(FalInvalidResponseError) as raised:
        client.estimate(estimate_type="unit_price", endpoints={"a/1": 1})
    if isinstance(body, dict):  # what the estimate form says when fal's total is unusable
        assert raised.value.message == "The API answered with an estimate without a usable total"


# --- against the in-process emulator ------------------------------------------------------------


def offline_client(key: str = OFFLINE_KEY) -> FalModelsClient:
    base_url = "http://fal-emulator.invalid/v1"
    return FalModelsClient(
        base_url=base_url, key=key, transport=WSGITransport(snapshot_emulator()), max_retries=0
    )


def test_the_offline_client_gets_every_recorded_price_in_order(count_upstream):
    recorded = load_prices()
    ids = [p["endpoint_id"] for p in reversed(recorded)] + ["fal-ai/nope"]
    got = offline_client().prices(ids)
    assert got == [
        Price(p["endpoint_id"], float(p["unit_price"]), p["unit"], p["currency"])
        for p in reversed(recorded)
    ]
    assert len(count_upstream) == 29  # 1,434 ids / 50, rounded up


def test_the_offline_client_reproduces_the_recorded_estimate():
    got = offline_client().estimate(estimate_type="unit_price", endpoints={STABLE_AUDIO: 1})
    assert got == Estimate("unit_price", 0.0376, "USD")


def test_the_offline_client_sums_several_endpoints():
    endpoints = {STABLE_AUDIO: 2, "fal-ai/flux/dev": 40}  # 0.0752 + 1.0
    got = offline_client().estimate(estimate_type="unit_price", endpoints=endpoints)
    assert got.total_cost == 1.0752


def test_the_offline_client_gets_a_historical_estimate_as_genvoy_asks_for_one():
    got = offline_client().estimate(
        estimate_type="historical_api_price", endpoints={"fal-ai/flux/dev": 100}
    )
    assert got == Estimate("historical_api_price", 2.62144, "USD")  # 100 × 1.048576 MP × $0.025


def test_the_offline_emulator_errors_map_onto_the_same_taxonomy():
    with pytest.raises(FalAuthenticationError):
        offline_client(key="").prices(["fal-ai/flux/dev"])
    with pytest.raises(FalNotFoundError, match="no such endpoint"):
        offline_client().estimate(
            estimate_type="historical_api_price", endpoints={"fal-ai/nope": 3}
        )
    with pytest.raises(FalNotFoundError, match="no such endpoint"):
        offline_client().estimate(estimate_type="unit_price", endpoints={"fal-ai/nope": 1})
    assert offline_client().prices(["fal-ai/nope"]) == []
