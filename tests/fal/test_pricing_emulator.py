"""The emulator's ``GET /v1/models/pricing`` and ``POST /v1/models/pricing/estimate``."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from fal_emulator import Emulator, load_prices, serve, snapshot_emulator

KEY = "Key test-key-1"
PRICES = "/v1/models/pricing"
ESTIMATE = "/v1/models/pricing/estimate"
STABLE_AUDIO = "fal-ai/stable-audio-3/medium/text-to-audio"
UNPRICED = "fal-ai/decart/lucy-5b/image-to-video"  # in the catalog, not in the pricing data


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    return snapshot_emulator()


@pytest.fixture(scope="module")
def recorded() -> list[dict]:
    return load_prices()


@pytest.fixture(scope="module")
def by_id(recorded) -> dict[str, dict]:
    return {p["endpoint_id"]: p for p in recorded}


def get_prices(emulator, query, authorization: str | None = KEY) -> tuple:
    status, headers, body = emulator.handle("GET", PRICES, query, authorization=authorization)
    return status, dict(headers), json.loads(body)


def post_estimate(emulator, payload, authorization: str | None = KEY) -> tuple:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    status, headers, answer = emulator.handle(
        "POST", ESTIMATE, [], authorization=authorization, body=body
    )
    return status, dict(headers), json.loads(answer)


def estimate_body(estimate_type: str = "unit_price", **quantities: float) -> dict:
    field = "unit_quantity" if estimate_type == "unit_price" else "call_quantity"
    return {
        "estimate_type": estimate_type,
        "endpoints": {i: {field: q} for i, q in quantities.items()},
    }


def assert_error(response: tuple, status: int, kind: str) -> dict:
    got_status, headers, body = response
    assert got_status == status, body
    assert headers["Content-Type"] == "application/json"
    error = body["error"]
    assert error["type"] == kind
    assert error["message"]
    assert error["docs_url"].startswith("https://docs.fal.ai/")
    assert re.fullmatch(r"[0-9a-f]{32}", error["request_id"])
    return error


def ids_of(body: dict) -> list[str]:
    return [p["endpoint_id"] for p in body["prices"]]


# --- the key -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "", "Key", "Key   ", "Bearer abc", "Basic a2V5", "abc"]
)
def test_both_paths_are_401_authorization_error_without_a_key(emulator, authorization):
    for response in (
        get_prices(emulator, [("endpoint_id", "fal-ai/flux/dev")], authorization),
        post_estimate(emulator, estimate_body(**{STABLE_AUDIO: 1}), authorization),
    ):
        assert_error(response, 401, "authorization_error")
        assert response[1]["WWW-Authenticate"] == "Key"


@pytest.mark.parametrize("authorization", ["Key abc", "key abc", "KEY  a:b ", "Key x"])
def test_any_non_empty_key_is_accepted(emulator, authorization):
    assert get_prices(emulator, [("endpoint_id", "fal-ai/flux/dev")], authorization)[0] == 200


def test_the_key_is_checked_before_the_parameters(emulator):
    assert_error(get_prices(emulator, [], None), 401, "authorization_error")
    assert_error(post_estimate(emulator, b"not json", None), 401, "authorization_error")


# --- GET /models/pricing -------------------------------------------------------------------


def test_a_price_is_the_recorded_entry_verbatim(emulator, by_id):
    status, headers, body = get_prices(emulator, [("endpoint_id", "fal-ai/flux/dev")])
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == {"prices": [by_id["fal-ai/flux/dev"]], "next_cursor": None, "has_more": False}
    assert body["prices"][0] == {
        "endpoint_id": "fal-ai/flux/dev",
        "unit_price": 0.025,
        "unit": "megapixels",
        "currency": "USD",
    }


def test_fifty_ids_repeated_come_back_in_the_order_asked(emulator, recorded):
    wanted = [p["endpoint_id"] for p in reversed(recorded[:50])]
    status, _, body = get_prices(emulator, [("endpoint_id", i) for i in wanted])
    assert status == 200
    assert ids_of(body) == wanted
    assert body["next_cursor"] is None and body["has_more"] is False


def test_comma_separated_and_repeated_ids_combine_with_spaces_stripped(emulator, recorded):
    a, b, c = (p["endpoint_id"] for p in recorded[:3])
    _, _, body = get_prices(emulator, [("endpoint_id", f"{c}, {a}"), ("endpoint_id", b)])
    assert ids_of(body) == [c, a, b]


def test_duplicates_count_once_so_fifty_distinct_ids_repeated_are_allowed(emulator, recorded):
    wanted = [p["endpoint_id"] for p in recorded[:50]]
    status, _, body = get_prices(emulator, [("endpoint_id", ",".join(wanted * 2))])
    assert status == 200 and ids_of(body) == wanted


def test_more_than_fifty_distinct_ids_is_400(emulator, recorded):
    wanted = [p["endpoint_id"] for p in recorded[:51]]
    error = assert_error(
        get_prices(emulator, [("endpoint_id", ",".join(wanted))]), 400, "validation_error"
    )
    assert "51" in error["message"]


@pytest.mark.parametrize(
    "query",
    [[], [("endpoint_id", "")], [("endpoint_id", "fal-ai/flux/dev,")], [("endpoint_id", "a,,b")]],
    ids=["missing", "empty", "trailing comma", "empty piece"],
)
def test_a_missing_or_empty_endpoint_id_is_400(emulator, query):
    assert_error(get_prices(emulator, query), 400, "validation_error")


def test_unknown_and_unpriced_ids_are_left_out(emulator):
    query = [("endpoint_id", i) for i in ("fal-ai/nope", "fal-ai/flux/dev", UNPRICED)]
    _, _, body = get_prices(emulator, query)
    assert ids_of(body) == ["fal-ai/flux/dev"]


def test_no_known_id_at_all_is_404_naming_them(emulator):
    error = assert_error(
        get_prices(emulator, [("endpoint_id", f"fal-ai/nope,{UNPRICED}")]), 404, "not_found"
    )
    assert "fal-ai/nope" in error["message"] and UNPRICED in error["message"]


def test_cursor_and_limit_are_ignored_because_one_answer_holds_every_price(emulator):
    query = [("endpoint_id", "fal-ai/flux/dev"), ("cursor", "Mg"), ("limit", "0")]
    assert ids_of(get_prices(emulator, query)[2]) == ["fal-ai/flux/dev"]


def test_every_recorded_price_is_served(emulator, recorded):
    ids = [p["endpoint_id"] for p in recorded]
    served = []
    for start in range(0, len(ids), 50):
        batch = ids[start : start + 50]
        served += get_prices(emulator, [("endpoint_id", ",".join(batch))])[2]["prices"]
    assert served == recorded
    assert len(served) == 1433


def test_head_is_get_without_a_body(emulator):
    query = [("endpoint_id", "fal-ai/flux/dev")]
    status, headers, body = emulator.handle("HEAD", PRICES, query, authorization=KEY)
    assert (status, body) == (200, b"")
    _, get_headers, get_body = emulator.handle("GET", PRICES, query, authorization=KEY)
    assert (
        dict(headers)["Content-Length"] == str(len(get_body)) == dict(get_headers)["Content-Length"]
    )


# --- POST /models/pricing/estimate -----------------------------------------------------------


def test_the_recorded_transcript_is_reproduced(emulator):
    transcript = {"estimate_type": "unit_price", "endpoints": {STABLE_AUDIO: {"unit_quantity": 1}}}
    status, headers, body = post_estimate(emulator, transcript)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == {"estimate_type": "unit_price", "total_cost": 0.0376, "currency": "USD"}


def test_a_unit_price_estimate_sums_price_times_quantity_without_float_artefacts(emulator, by_id):
    quantities = {"fal-ai/flux/dev": 3, "fal-ai/nano-banana-2/edit": 0.1, STABLE_AUDIO: 7}
    _, _, body = post_estimate(emulator, estimate_body(**quantities))
    # 0.025 × 3 + 0.08 × 0.1 + 0.0376 × 7 = 0.075 + 0.008 + 0.2632, exactly
    assert body["total_cost"] == 0.3462
    assert [by_id[i]["unit_price"] for i in quantities] == [0.025, 0.08, 0.0376]


def test_an_empty_estimate_costs_nothing(emulator):
    for estimate_type in ("unit_price", "historical_api_price"):
        body = post_estimate(emulator, {"estimate_type": estimate_type, "endpoints": {}})[2]
        assert body == {"estimate_type": estimate_type, "total_cost": 0.0, "currency": "USD"}


def test_an_unknown_or_unpriced_endpoint_makes_the_estimate_404_naming_it(emulator):
    payload = estimate_body(**{STABLE_AUDIO: 1, "fal-ai/nope": 1, UNPRICED: 2})
    error = assert_error(post_estimate(emulator, payload), 404, "not_found")
    assert "no such endpoint: 'fal-ai/nope'" in error["message"]
    assert f"no recorded price: '{UNPRICED}'" in error["message"]
    assert STABLE_AUDIO not in error["message"]


def test_historical_api_price_is_the_reference_jobs_cost_times_the_calls(emulator):
    calls = {"fal-ai/flux/dev": 100, "fal-ai/kling-video/v3/pro/text-to-video": 3}
    calls["fal-ai/birefnet/v2"] = 10
    status, _, body = post_estimate(emulator, estimate_body("historical_api_price", **calls))
    assert status == 200, body
    # flux/dev: $0.025 per megapixel, a 1024×1024 image (1.048576 MP) a call: 100 × 0.0262144;
    # kling: $0.14 per second, a 5 s clip a call: 3 × 0.70; birefnet: $0.0008 per compute
    # second, no job of a known size, so one fal unit a call: 10 × 0.0008.
    assert body == {
        "estimate_type": "historical_api_price",
        "total_cost": 4.72944,
        "currency": "USD",
    }


def test_historical_api_price_of_a_vague_unit_is_one_fal_unit_a_call(emulator, by_id):
    assert by_id["openai/gpt-image-2/edit"]["unit"] == "units"
    payload = estimate_body("historical_api_price", **{"openai/gpt-image-2/edit": 4})
    total = post_estimate(emulator, payload)[2]["total_cost"]
    assert total == 4 * by_id["openai/gpt-image-2/edit"]["unit_price"]


def test_historical_api_price_still_validates_the_body_first(emulator):
    payload = estimate_body("historical_api_price", **{"fal-ai/flux/dev": 1.5})
    assert_error(post_estimate(emulator, payload), 400, "validation_error")


WRONG_BODIES = {
    "not json": b"{estimate",
    "nan": b'{"estimate_type": "unit_price", "endpoints": {"fal-ai/flux/dev": '
    b'{"unit_quantity": NaN}}}',
    "a list": [],
    "no type": {"endpoints": {}},
    "unknown type": {"estimate_type": "gpu", "endpoints": {}},
    "no endpoints": {"estimate_type": "unit_price"},
    "endpoints a list": {"estimate_type": "unit_price", "endpoints": ["fal-ai/flux/dev"]},
    "entry not an object": {"estimate_type": "unit_price", "endpoints": {"fal-ai/flux/dev": 2}},
    "the other type's field": estimate_body("historical_api_price")
    | {"endpoints": {"fal-ai/flux/dev": {"unit_quantity": 2}}},
    "zero units": estimate_body(**{"fal-ai/flux/dev": 0}),
    "negative units": estimate_body(**{"fal-ai/flux/dev": -1}),
    "units as text": estimate_body(**{"fal-ai/flux/dev": "2"}),
    "units as true": estimate_body(**{"fal-ai/flux/dev": True}),
    "fractional calls": estimate_body("historical_api_price", **{"fal-ai/flux/dev": 0.5}),
    "zero calls": estimate_body("historical_api_price", **{"fal-ai/flux/dev": 0}),
    "too large a total": estimate_body(**{"fal-ai/ideogram/custom-models": 1e308}),  # $40 each
    "too large a body": b" " * (1024 * 1024 + 1),
}


@pytest.mark.parametrize("payload", WRONG_BODIES.values(), ids=WRONG_BODIES.keys())
def test_wrong_bodies_are_400_validation_error_envelopes(emulator, payload):
    assert_error(post_estimate(emulator, payload), 400, "validation_error")


def test_an_integral_call_quantity_written_as_2_0_is_an_integer(emulator):
    payload = estimate_body("historical_api_price", **{"fal-ai/flux/dev": 2.0})
    status, _, body = post_estimate(emulator, payload)
    assert (status, body["total_cost"]) == (200, 0.0524288)  # valid, so no 400


# --- methods and paths -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_pricing_answers_only_get_and_head(emulator, method):
    status, headers, body = emulator.handle(method, PRICES, [], authorization=KEY)
    error = assert_error((status, dict(headers), json.loads(body)), 405, "validation_error")
    assert dict(headers)["Allow"] == "GET, HEAD"
    assert method in error["message"]


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
def test_estimate_answers_only_post_even_without_a_key(emulator, method):
    status, headers, _ = emulator.handle(method, ESTIMATE, [])
    assert status == 405 and dict(headers)["Allow"] == "POST"


def test_the_bare_paths_work_as_under_schemathesis_url(emulator):
    query = [("endpoint_id", "fal-ai/flux/dev")]
    assert emulator.handle("GET", "/models/pricing", query, authorization=KEY)[0] == 200


def test_models_still_needs_no_key(emulator):
    assert emulator.handle("GET", "/v1/models", [("limit", "1")])[0] == 200


def test_an_emulator_without_prices_knows_none(emulator):
    bare = Emulator([{"endpoint_id": "a/b"}], {})
    assert get_prices(bare, [("endpoint_id", "a/b")])[0] == 404
    error = assert_error(post_estimate(bare, estimate_body(**{"a/b": 1})), 404, "not_found")
    assert "no recorded price: 'a/b'" in error["message"]


# --- over WSGI and real HTTP ---------------------------------------------------------------------


def call_wsgi(app, method, path, query_string="", body=b"", authorization=None) -> tuple:
    captured = {}

    def start_response(status, headers):
        captured.update(status=status, headers=dict(headers))

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query_string,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    answer = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], json.loads(answer)


def test_the_wsgi_app_reads_the_key_header_and_the_posted_body(emulator):
    body = json.dumps(estimate_body(**{STABLE_AUDIO: 2})).encode()
    status, _, answer = call_wsgi(emulator, "POST", ESTIMATE, body=body, authorization=KEY)
    assert status == "200 OK" and answer["total_cost"] == 0.0752
    status, _, _ = call_wsgi(emulator, "POST", ESTIMATE, body=body)
    assert status == "401 Unauthorized"
    query = urlencode([("endpoint_id", STABLE_AUDIO)])
    status, _, answer = call_wsgi(emulator, "GET", PRICES, query, authorization=KEY)
    assert ids_of(answer) == [STABLE_AUDIO]


def test_pricing_over_real_http_on_loopback(emulator):
    server = serve(emulator, "127.0.0.1", 0)
    try:
        request = urllib.request.Request(
            f"{server.url}/models/pricing/estimate",
            data=json.dumps(estimate_body(**{STABLE_AUDIO: 1})).encode(),
            headers={"Authorization": KEY, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            assert json.load(r)["total_cost"] == 0.0376
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            urllib.request.urlopen(f"{server.url}/models/pricing?endpoint_id=a/b", timeout=5)
        assert excinfo.value.code == 401
    finally:
        server.shutdown()
