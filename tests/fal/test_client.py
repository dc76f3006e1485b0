"""The API client against `responses`: query strings, headers, errors, pagination, retries."""

from __future__ import annotations

import gzip
import io
import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
from requests.adapters import BaseAdapter

import fal.client
from fal.client import FalModelsClient
from fal.errors import (
    FalAPIError,
    FalAuthenticationError,
    FalBadRequestError,
    FalConnectionError,
    FalHTTPError,
    FalInvalidResponseError,
    FalNotFoundError,
    FalPermissionDeniedError,
    FalRateLimitError,
    FalServerError,
    FalTimeoutError,
)
from fal.types import ExpansionError, ModelsQuery
from fal_emulator import Emulator, WSGITransport
from fal_emulator.testing import FaultUpstream

BASE = "https://api.fal.test/v1"
URL = f"{BASE}/models"


def model_entry(endpoint_id: str, **metadata) -> dict:
    """A `models` entry with every required metadata field, as the spec names them."""
    return {
        "endpoint_id": endpoint_id,
        "metadata": {
            "display_name": endpoint_id.split("/")[-1].title(),
            "category": "text-to-image",
            "description": "A model",
            "status": "active",
            "tags": [],
            "updated_at": "2026-01-02T00:00:00Z",
            "is_favorited": None,
            "thumbnail_url": "https://fal.media/x.jpg",
            "model_url": f"https://fal.run/{endpoint_id}",
            "date": "2026-01-01T00:00:00Z",
            "highlighted": False,
            "pinned": False,
            **metadata,
        },
    }


def page_body(ids, next_cursor=None) -> dict:
    return {
        "models": [model_entry(i) for i in ids],
        "next_cursor": next_cursor,
        "has_more": next_cursor is not None,
    }


def envelope(type_: str, message: str, **extra) -> dict:
    return {"error": {"type": type_, "message": message, **extra}}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    return FalModelsClient(base_url=BASE, timeout=3, max_retries=2, sleep=sleeps.append)


def sent_params(call) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call.request.url).query, keep_blank_values=True)


# --- Query strings -------------------------------------------------------------------------


def test_list_mode_sends_no_parameters(client, no_internet):
    no_internet.get(URL, json=page_body(["a/b"]))
    page = client.get_page(ModelsQuery())
    assert sent_params(no_internet.calls[0]) == []
    assert [m.endpoint_id for m in page.models] == ["a/b"]


def test_find_mode_repeats_endpoint_id_and_expand(client, no_internet):
    no_internet.get(URL, json=page_body(["fal-ai/flux/dev", "fal-ai/flux-pro"]))
    client.get_page(
        ModelsQuery(
            endpoint_ids=("fal-ai/flux/dev", "fal-ai/flux-pro"),
            expand=("openapi-3.0", "enterprise_status"),
        )
    )
    assert sent_params(no_internet.calls[0]) == [
        ("endpoint_id", "fal-ai/flux/dev"),
        ("endpoint_id", "fal-ai/flux-pro"),
        ("expand", "openapi-3.0"),
        ("expand", "enterprise_status"),
    ]


def test_search_mode_sends_q_category_status_limit_and_cursor(client, no_internet):
    no_internet.get(URL, json=page_body([]))
    client.get_page(
        ModelsQuery(q="text to image", category="text-to-image", status="active", limit=20),
        cursor="Mg",
    )
    assert sent_params(no_internet.calls[0]) == [
        ("q", "text to image"),
        ("category", "text-to-image"),
        ("status", "active"),
        ("limit", "20"),
        ("cursor", "Mg"),
    ]


def test_find_and_search_combined(client, no_internet):
    no_internet.get(URL, json=page_body(["a/b"]))
    client.get_page(ModelsQuery(endpoint_ids=("a/b",), category="llm"))
    assert sent_params(no_internet.calls[0]) == [("endpoint_id", "a/b"), ("category", "llm")]


# --- Headers and the key ----------------------------------------------------------------------


def test_every_request_asks_for_json_and_names_the_dashboard(client, no_internet):
    no_internet.get(URL, json=page_body([]))
    client.get_page(ModelsQuery())
    headers = no_internet.calls[0].request.headers
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == "fal-catalog-dashboard/0.1"


def test_no_authorization_header_without_a_key(client, no_internet):
    no_internet.get(URL, json=page_body([]))
    client.get_page(ModelsQuery())
    assert "Authorization" not in no_internet.calls[0].request.headers


def test_authorization_header_with_a_key(no_internet):
    no_internet.get(URL, json=page_body([]))
    FalModelsClient(base_url=BASE, key="sekrit-123").get_page(ModelsQuery())
    assert no_internet.calls[0].request.headers["Authorization"] == "Key sekrit-123"


def test_key_is_not_in_repr_or_logs(no_internet, caplog):
    no_internet.get(URL, status=500, json=envelope("server_error", "boom"))
    client = FalModelsClient(base_url=BASE, key="sekrit-123", max_retries=0)
    with pytest.raises(FalServerError):
        client.get_page(ModelsQuery())
    assert "sekrit-123" not in repr(client)
    assert "sekrit-123" not in caplog.text
    assert "FalServerError" in caplog.text


def test_a_failed_call_is_one_warning_with_what_fal_said_and_a_404_is_only_for_debugging(
    no_internet, caplog
):
    caplog.set_level(logging.DEBUG, logger="fal.client")
    client = FalModelsClient(base_url=BASE, max_retries=0)
    no_internet.get(URL, status=400, json=envelope("validation_error", "Bad q", request_id="r-1"))
    with pytest.raises(FalBadRequestError):
        client.get_page(ModelsQuery())
    no_internet.get(URL, status=404, json=envelope("not_found", "No such model"))
    with pytest.raises(FalNotFoundError):
        client.get_page(ModelsQuery())
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.WARNING,
            "fal API request failed: GET /models: FalBadRequestError Bad q"
            " (status=400, request_id=r-1)",
        ),
        (
            logging.DEBUG,
            "fal API request failed: GET /models: FalNotFoundError No such model"
            " (status=404, request_id=None)",
        ),
    ]


def test_repr_says_whether_a_key_is_set_and_nothing_more():
    assert repr(FalModelsClient(base_url=BASE, key="sekrit-123")) == (
        f"FalModelsClient(base_url={BASE!r}, key=set)"
    )
    assert repr(FalModelsClient(base_url=BASE, key="")) == (
        f"FalModelsClient(base_url={BASE!r}, key=unset)"
    )


# --- Results -------------------------------------------------------------------------------------


def test_tolerates_missing_metadata_optional_fields_and_unknown_fields(client, no_internet):
    no_internet.get(
        URL,
        json={
            "models": [
                {"endpoint_id": "bare/model", "surprise": 1},
                {
                    "endpoint_id": "rich/model",
                    "metadata": {
                        "display_name": "Rich",
                        "category": "image-to-video",
                        "tags": ["new", 3, "Beta"],
                        "group": {"key": "kling", "label": "Kling"},
                        "duration_estimate": 2,
                        "license_type": "commercial",
                        "unknown_field": {"x": 1},
                    },
                },
                {"no_endpoint_id": True},
            ],
            "has_more": False,
        },
    )
    bare, rich = client.get_page(ModelsQuery()).models
    assert bare.metadata is None
    assert rich.metadata.display_name == "Rich"
    assert rich.metadata.tags == ("new", "Beta")
    assert rich.metadata.group.label == "Kling"
    assert rich.metadata.duration_estimate == 2.0
    assert rich.metadata.description == ""  # required by the spec, absent here: tolerated
    assert rich.openapi is None and rich.enterprise_status is None


def test_expanded_fields_are_a_value_or_an_error_object(client, no_internet):
    failed = {"error": {"code": "expansion_failed", "message": "OpenAPI schema not available"}}
    no_internet.get(
        URL,
        json={
            "models": [
                {
                    **model_entry("a/ok"),
                    "openapi": {"openapi": "3.0.4"},
                    "enterprise_status": "ready",
                },
                {**model_entry("a/failed"), "openapi": failed, "enterprise_status": failed},
            ],
            "has_more": False,
        },
    )
    ok, bad = client.get_page(ModelsQuery(expand=("openapi-3.0", "enterprise_status"))).models
    assert ok.openapi == {"openapi": "3.0.4"} and ok.enterprise_status == "ready"
    assert bad.openapi == ExpansionError("expansion_failed", "OpenAPI schema not available")
    assert isinstance(bad.enterprise_status, ExpansionError)


def test_list_models_reads_every_page_of_a_search(client, no_internet):
    no_internet.get(URL, json=page_body(["a/1"], next_cursor="Mg"))
    no_internet.get(URL, json=page_body(["a/2"]))
    models = client.list_models(q="flux", category="text-to-image")
    assert [m.endpoint_id for m in models] == ["a/1", "a/2"]
    assert sent_params(no_internet.calls[1]) == [
        ("q", "flux"),
        ("category", "text-to-image"),
        ("cursor", "Mg"),
    ]


def test_lone_surrogates_become_replacement_characters_and_pairs_stay(client, no_internet):
    # A JSON escape of half a surrogate pair, in a value, a list and a key; the emoji's
    # pair of escapes is one character and stays.
    body = json.dumps(page_body(["a/1"])).replace(
        '"description": "A model"',
        '"description": "broken \\ud800 text \\ud83d\\ude00", "x": {"k\\udc00": ["\\udfff"]}',
    )
    no_internet.get(URL, body=body, content_type="application/json")
    (model,) = client.list_models()
    assert model.metadata.description == "broken \ufffd text \U0001f600"
    assert model.metadata.description.encode("utf-8")  # a page can show it
    raw = client.get_page_json(ModelsQuery())["models"][0]["metadata"]["x"]
    assert raw == {"k\ufffd": ["\ufffd"]}


def test_results_are_immutable(client, no_internet):
    no_internet.get(URL, json=page_body(["a/b"]))
    model = client.get_page(ModelsQuery()).models[0]
    with pytest.raises(AttributeError):
        model.endpoint_id = "other"  # type: ignore[misc]


# --- Errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class", "type_"),
    [
        (400, FalBadRequestError, "validation_error"),
        (401, FalAuthenticationError, "authorization_error"),
        (403, FalPermissionDeniedError, "authorization_error"),
        (404, FalNotFoundError, "not_found"),
        (429, FalRateLimitError, "rate_limited"),
        (500, FalServerError, "server_error"),
        (502, FalServerError, "server_error"),
        (503, FalServerError, "server_error"),
    ],
)
def test_error_envelope_becomes_a_typed_error(no_internet, status, error_class, type_):
    no_internet.get(
        URL,
        status=status,
        json=envelope(type_, "It went wrong", docs_url="https://docs.fal.ai/x", request_id="req-1"),
    )
    client = FalModelsClient(base_url=BASE, max_retries=0)
    with pytest.raises(error_class) as raised:
        client.get_page(ModelsQuery())
    error = raised.value
    assert isinstance(error, FalAPIError)
    assert (error.status, error.type, error.message) == (status, type_, "It went wrong")
    assert (error.docs_url, error.request_id) == ("https://docs.fal.ai/x", "req-1")


@pytest.mark.parametrize(
    ("body", "request_id"),
    [
        (envelope("server_error", "Down"), "hdr-7"),  # the envelope names none: the header
        (envelope("server_error", "Down", request_id=""), "hdr-7"),
        (envelope("server_error", "Down", request_id="env-1"), "env-1"),  # the envelope's
        ("<html>Bad gateway</html>", "hdr-7"),  # no envelope at all
    ],
    ids=["envelope-without-id", "envelope-with-empty-id", "envelope-id-wins", "no-envelope"],
)
def test_the_request_id_falls_back_to_the_x_request_id_header(no_internet, body, request_id):
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    no_internet.get(URL, status=503, headers={"x-request-id": "hdr-7"}, **kwargs)
    client = FalModelsClient(base_url=BASE, max_retries=0)
    with pytest.raises(FalServerError) as raised:
        client.get_page(ModelsQuery())
    assert raised.value.request_id == request_id


def test_html_challenge_page_is_a_permission_error_without_its_body(client, no_internet):
    no_internet.get(URL, status=403, body="<html><script>challenge()</script></html>")
    with pytest.raises(FalPermissionDeniedError) as raised:
        client.get_page(ModelsQuery())
    assert "challenge" not in str(raised.value)
    assert raised.value.type is None


@pytest.mark.parametrize(
    "body", ['{"detail": "Not Found"}', '{"error": "gone"}', "[1, 2]", "null", '"down"']
)
def test_an_error_answer_without_fals_envelope_is_typed_by_its_status(client, no_internet, body):
    # Proxies and gateways answer in JSON of their own: the status still says what failed.
    no_internet.get(URL, status=404, body=body, content_type="application/json")
    with pytest.raises(FalNotFoundError) as raised:
        client.get_page(ModelsQuery())
    assert (raised.value.message, raised.value.type) == ("The fal API answered HTTP 404", None)


@pytest.mark.parametrize(
    ("body", "told"),
    [
        ("<html>not json</html>", "The API answered with something that is not JSON"),
        ("", "The API answered with something that is not JSON"),
        ('{"models": "nope"}', "The API answered with JSON of an unexpected shape"),
        ("[1, 2]", "The API answered with JSON of an unexpected shape"),
        ('{"models": [1], "has_more": 1', "The API answered with something that is not JSON"),
        ("null", "The API answered with JSON of an unexpected shape"),
    ],
)
def test_invalid_200_bodies_raise_invalid_response(client, no_internet, body, told):
    no_internet.get(URL, status=200, body=body, content_type="application/json")
    with pytest.raises(FalInvalidResponseError) as raised:
        client.get_page(ModelsQuery())
    assert raised.value.message == told
    # An answer that is not JSON keeps its status: the 200 of a proxy's page, say.
    assert raised.value.status == (200 if told.endswith("not JSON") else None)


def test_a_base_url_with_a_trailing_slash_asks_the_same_path(no_internet):
    no_internet.get(URL, json=page_body(["a/b"]))
    page = FalModelsClient(base_url=BASE + "/").get_page(ModelsQuery())
    assert [m.endpoint_id for m in page.models] == ["a/b"]
    assert no_internet.calls[0].request.url == URL


class GzipHandler(BaseHTTPRequestHandler):
    """fal's answer gzipped, or (under /broken/) bytes that only claim to be gzip."""

    def do_GET(self):
        body = gzip.compress(json.dumps(page_body(["a/b"])).encode())
        if self.path.startswith("/broken/"):
            body = b"not gzip at all"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def gzip_server():
    with ThreadingHTTPServer(("127.0.0.1", 0), GzipHandler) as server:
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        yield f"http://127.0.0.1:{server.server_port}"
        server.shutdown()


def test_a_gzipped_answer_over_real_http_is_read_decompressed(gzip_server):
    # Over a real socket, not `responses`: requests leaves decoding to whoever reads the
    # stream, and a mocked answer decodes itself.
    client = FalModelsClient(base_url=f"{gzip_server}/v1")
    assert [m.endpoint_id for m in client.get_page(ModelsQuery()).models] == ["a/b"]


def test_an_answer_that_cannot_be_decompressed_says_why(gzip_server):
    client = FalModelsClient(base_url=f"{gzip_server}/broken/v1", max_retries=0)
    with pytest.raises(FalInvalidResponseError) as raised:
        client.get_page(ModelsQuery())
    assert raised.value.message == "The fal API answer could not be read (DecodeError)"


@pytest.fixture(scope="module")
def fault_upstream():
    with FaultUpstream(Emulator([model_entry("a/b")], {}), stall_seconds=3) as upstream:
        yield upstream


@pytest.mark.parametrize(
    ("mode", "interval", "error", "told"),
    [
        # Each piece within the read timeout, the whole past the call's deadline.
        ("slow", 0.05, FalTimeoutError, "The fal API answer did not arrive in time"),
        # A gap longer than the read timeout, in the middle of the body.
        ("slow", 2.0, FalTimeoutError, "The fal API answer did not arrive in time"),
        ("truncated", 0.05, FalConnectionError, "The connection to the fal API broke mid-answer"),
    ],
)
def test_a_body_that_stalls_trickles_or_stops_short_is_a_typed_error_in_time(
    fault_upstream, monkeypatch, mode, interval, error, told
):
    fault_upstream.set_mode(mode)
    monkeypatch.setattr(fault_upstream, "trickle_interval", interval)
    client = FalModelsClient(base_url=fault_upstream.url, timeout=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(error) as raised:
        client.get_page(ModelsQuery())
    assert raised.value.message == told
    assert time.monotonic() - started < 1.5


def test_an_answer_up_to_the_size_limit_is_read_and_one_byte_more_is_refused(
    client, no_internet, monkeypatch
):
    body = json.dumps(page_body(["a/b"])).encode()
    no_internet.get(URL, body=body, content_type="application/json")
    monkeypatch.setattr(fal.client, "_READ_CHUNK", 7)  # the limit counts every read, not one
    monkeypatch.setattr(fal.client, "MAX_BODY_BYTES", len(body))
    assert [m.endpoint_id for m in client.get_page(ModelsQuery()).models] == ["a/b"]
    monkeypatch.setattr(fal.client, "MAX_BODY_BYTES", len(body) - 1)
    with pytest.raises(FalInvalidResponseError) as raised:
        client.get_page(ModelsQuery())
    assert raised.value.message == "The fal API answer was too large to read"


class InMemoryTransport(BaseAdapter):
    """A transport that answers with the body already read, as an in-process app does,
    and a plain file object as its `raw`."""

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(page_body(["a/b"])).encode()
        response.raw = io.BytesIO(b"")
        return response

    def close(self):
        pass


def test_an_answer_already_in_memory_is_not_read_again():
    client = FalModelsClient(base_url=BASE, transport=InMemoryTransport())
    assert [m.endpoint_id for m in client.get_page(ModelsQuery()).models] == ["a/b"]


def test_connection_error_is_retried_then_raised(client, no_internet, sleeps):
    no_internet.get(URL, body=requests.ConnectionError("reset"))
    with pytest.raises(FalConnectionError) as raised:
        client.get_page(ModelsQuery())
    assert raised.value.message == "The fal API could not be reached"
    assert len(no_internet.calls) == 3  # one try plus two retries
    assert sleeps == [0.25, 0.5]


def test_no_retry_is_made_whose_wait_would_end_past_the_calls_budget(no_internet, sleeps):
    # The budget is timeout × (retries + 1) = 3 s: waiting 1.6 s fits, a further 3.2 s does not.
    no_internet.get(URL, body=requests.ConnectionError("reset"))
    client = FalModelsClient(
        base_url=BASE, timeout=1, max_retries=2, backoff=1.6, sleep=sleeps.append
    )
    with pytest.raises(FalConnectionError):
        client.get_page(ModelsQuery())
    assert sleeps == [1.6]
    assert len(no_internet.calls) == 2


class FakeClock:
    """fal.client's `time` for one test: it moves only when a request stalls or a wait ends."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.mark.parametrize(
    ("backoff", "timeouts"),
    [
        (0.8, [1.0, 0.2]),  # the retry gets what is left of the 2 s budget
        (1.0, [1.0]),  # a wait that would end exactly at the deadline is not made
    ],
)
def test_each_attempt_waits_only_for_what_is_left_of_the_calls_budget(
    no_internet, monkeypatch, backoff, timeouts
):
    clock = FakeClock()
    monkeypatch.setattr(fal.client, "time", clock)
    sent = []

    def stall(request):
        sent.append(request.req_kwargs["timeout"])
        clock.now += sent[-1]
        raise requests.ReadTimeout("stalled")

    no_internet.add_callback(responses.GET, URL, callback=stall)
    client = FalModelsClient(
        base_url=BASE, timeout=1, max_retries=1, backoff=backoff, sleep=clock.sleep
    )
    with pytest.raises(FalTimeoutError):
        client.get_page(ModelsQuery())
    assert sent == pytest.approx(timeouts)


def test_timeout_is_retried_then_raised(client, no_internet):
    no_internet.get(URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(FalTimeoutError) as raised:
        client.get_page(ModelsQuery())
    assert raised.value.message == "The fal API did not answer within 3 s"
    assert len(no_internet.calls) == 3


def test_a_request_that_fails_some_other_way_names_the_failure_and_is_not_retried(
    client, no_internet
):
    no_internet.get(URL, body=requests.exceptions.ChunkedEncodingError("bad chunk"))
    with pytest.raises(FalInvalidResponseError) as raised:
        client.get_page(ModelsQuery())
    assert raised.value.message == "The fal API answer could not be read (ChunkedEncodingError)"
    assert len(no_internet.calls) == 1


def test_every_request_has_a_timeout(no_internet, monkeypatch):
    seen = []
    original = requests.Session.request

    def spy(self, method, url, **kwargs):
        seen.append(kwargs.get("timeout"))
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    no_internet.get(URL, json=page_body([]))
    FalModelsClient(base_url=BASE, timeout=4.5).get_page(ModelsQuery())
    assert seen == [4.5]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_and_can_recover(client, no_internet, status):
    no_internet.get(URL, status=status, json=envelope("server_error", "down"))
    no_internet.get(URL, json=page_body(["a/b"]))
    page = client.get_page(ModelsQuery())
    assert [m.endpoint_id for m in page.models] == ["a/b"]
    assert len(no_internet.calls) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_non_transient_errors_are_not_retried(client, no_internet, status):
    no_internet.get(URL, status=status, json=envelope("x", "no"))
    with pytest.raises(FalAPIError):
        client.get_page(ModelsQuery())
    assert len(no_internet.calls) == 1


def test_429_honours_retry_after(client, no_internet, sleeps):
    no_internet.get(
        URL, status=429, headers={"Retry-After": "2"}, json=envelope("rate_limited", "slow down")
    )
    no_internet.get(URL, json=page_body(["a/b"]))
    client.get_page(ModelsQuery())
    assert sleeps == [2.0]


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        ("0", 0.0, 0.0),
        (30, 28.0, 30.0),  # an HTTP date 30 s from now
        (-30, 0.0, 0.0),  # an HTTP date already past: no wait
    ],
)
def test_retry_after_as_seconds_or_an_http_date(no_internet, retry_after, low, high):
    if isinstance(retry_after, int):
        when = datetime.now(UTC) + timedelta(seconds=retry_after)
        retry_after = format_datetime(when, usegmt=True)
    no_internet.get(
        URL, status=429, headers={"Retry-After": retry_after}, json=envelope("rate_limited", "no")
    )
    with pytest.raises(FalRateLimitError) as raised:
        FalModelsClient(base_url=BASE, max_retries=0).get_page(ModelsQuery())
    assert low <= raised.value.retry_after <= high


def test_429_with_retry_after_beyond_the_cap_is_raised_at_once(client, no_internet, sleeps):
    no_internet.get(
        URL, status=429, headers={"Retry-After": "120"}, json=envelope("rate_limited", "later")
    )
    with pytest.raises(FalRateLimitError) as raised:
        client.get_page(ModelsQuery())
    assert raised.value.retry_after == 120.0
    assert sleeps == [] and len(no_internet.calls) == 1


@pytest.mark.parametrize(("retry_after", "waits"), [("5", [5.0]), ("6", [])])
def test_429_waits_as_long_as_the_cap_and_no_longer_even_within_the_budget(
    no_internet, sleeps, retry_after, waits
):
    no_internet.get(
        URL, status=429, headers={"Retry-After": retry_after}, json=envelope("rate_limited", "x")
    )
    no_internet.get(URL, json=page_body(["a/b"]))
    # A budget of 30 s, with room for either wait: the cap (5 s) alone decides.
    client = FalModelsClient(base_url=BASE, timeout=10, retry_after_cap=5, sleep=sleeps.append)
    if waits:
        client.get_page(ModelsQuery())
    else:
        with pytest.raises(FalRateLimitError):
            client.get_page(ModelsQuery())
    assert sleeps == waits


def test_429_retries_are_bounded(client, no_internet, sleeps):
    no_internet.get(
        URL, status=429, headers={"Retry-After": "1"}, json=envelope("rate_limited", "x")
    )
    with pytest.raises(FalRateLimitError):
        client.get_page(ModelsQuery())
    assert len(no_internet.calls) == 3 and sleeps == [1.0, 1.0]


# --- Pagination and find ---------------------------------------------------------------


def test_iterates_every_page_to_the_end(client, no_internet):
    no_internet.get(URL, json=page_body(["a/1", "a/2"], next_cursor="Mg"))
    no_internet.get(URL, json=page_body(["a/3", "a/4"], next_cursor="Mw"))
    no_internet.get(URL, json=page_body(["a/5"]))
    ids = [m.endpoint_id for m in client.iter_models(ModelsQuery(limit=2))]
    assert ids == ["a/1", "a/2", "a/3", "a/4", "a/5"]
    cursors = [dict(sent_params(c)).get("cursor") for c in no_internet.calls]
    assert cursors == [None, "Mg", "Mw"]


def test_a_repeated_cursor_does_not_loop_forever(client, no_internet):
    no_internet.get(URL, json=page_body(["a/1"], next_cursor="Mg"))
    ids = [m.endpoint_id for m in client.iter_models(ModelsQuery())]
    assert ids == ["a/1", "a/1"]
    assert len(no_internet.calls) == 2


def test_find_splits_more_than_50_ids_and_keeps_the_order_asked(client, no_internet):
    wanted = [f"fal-ai/model-{n}" for n in range(120)]

    def answer(request):
        asked = [v for k, v in parse_qsl(urlsplit(request.url).query) if k == "endpoint_id"]
        # The server answers in its own order and does not know model-7.
        known = sorted(i for i in asked if i != "fal-ai/model-7")
        return 200, {}, json.dumps(page_body(known))

    no_internet.add_callback(responses.GET, URL, callback=answer)
    found = client.find(list(reversed(wanted)) + ["fal-ai/model-3"])
    batches = [[v for k, v in sent_params(c) if k == "endpoint_id"] for c in no_internet.calls]
    assert [len(b) for b in batches] == [50, 50, 20]
    expected = [i for i in reversed(wanted) if i != "fal-ai/model-7"]
    assert [m.endpoint_id for m in found] == expected


def test_find_sends_expand_with_every_batch(client, no_internet):
    no_internet.add_callback(
        responses.GET, URL, callback=lambda request: (200, {}, json.dumps(page_body([])))
    )
    client.find([f"fal-ai/model-{n}" for n in range(60)], expand=["openapi-3.0"])
    assert [[v for k, v in sent_params(c) if k == "expand"] for c in no_internet.calls] == [
        ["openapi-3.0"],
        ["openapi-3.0"],
    ]


def test_a_batch_of_unknown_ids_does_not_stop_the_next_batches(client, no_internet):
    wanted = [f"fal-ai/model-{n}" for n in range(110)]

    def answer(request):
        asked = [v for k, v in parse_qsl(urlsplit(request.url).query) if k == "endpoint_id"]
        if "fal-ai/model-0" in asked:  # the first batch: fal knows none of these
            return 404, {}, json.dumps(envelope("not_found", "No models found"))
        return 200, {}, json.dumps(page_body(asked))

    no_internet.add_callback(responses.GET, URL, callback=answer)
    assert [m.endpoint_id for m in client.find(wanted)] == wanted[50:]


def test_find_of_only_unknown_ids_is_empty(client, no_internet):
    no_internet.get(URL, status=404, json=envelope("not_found", "No models found"))
    assert client.find(["nope/nope"]) == []


# --- Which failures are retried ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "transient", "retryable"),
    [
        (FalConnectionError("reset"), True, True),
        (FalTimeoutError("slow"), True, True),
        (FalRateLimitError("slow down", status=429), True, True),
        (FalServerError("bad gateway", status=502), True, True),
        (FalServerError("unavailable", status=503), True, True),
        (FalServerError("gateway timeout", status=504), True, True),
        (FalServerError("bug", status=500), True, False),
        (FalServerError("not implemented", status=501), True, False),
        (FalBadRequestError("bad", status=400), False, False),
        (FalNotFoundError("none", status=404), False, False),
        (FalInvalidResponseError("not json", status=200), False, False),
    ],
)
def test_retryable_is_the_transient_failures_worth_trying_again_at_once(
    error, transient, retryable
):
    assert error.transient is transient
    assert error.retryable is retryable


@pytest.mark.parametrize(("sent", "shown"), [("x" * 300, "x" * 300), ("y" * 5000, "y" * 299 + "…")])
def test_an_error_message_is_cut_to_300_characters_for_the_page(client, no_internet, sent, shown):
    # fal's message is shown to users: a page's worth of it would be a page, not a message.
    no_internet.get(URL, status=400, json=envelope("validation_error", sent))
    with pytest.raises(FalBadRequestError) as raised:
        client.get_page(ModelsQuery())
    assert raised.value.message == shown


@pytest.mark.parametrize("status", [409, 418, 422])
def test_an_error_status_with_no_class_of_its_own_is_a_plain_http_error(
    client, no_internet, status
):
    no_internet.get(URL, status=status, json=envelope("conflict", "Try again later"))
    with pytest.raises(FalHTTPError) as raised:
        client.get_page(ModelsQuery())
    assert type(raised.value) is FalHTTPError
    assert (raised.value.status, raised.value.message) == (status, "Try again later")


# --- fal's public per-endpoint document (the fallback when an expansion failed) ----------------

SCHEMA = "https://fal.ai/api/openapi/queue/openapi.json"


def test_the_public_document_is_asked_of_fal_ai_by_endpoint_id_without_the_key(no_internet):
    document = {"openapi": "3.0.4", "info": {"title": "x"}, "paths": {}}
    no_internet.get(SCHEMA, json=document)
    client = FalModelsClient(base_url="https://api.fal.ai/v1", key="sekrit-123")
    assert client.endpoint_document("fal-ai/clarity-upscaler") == document
    request = no_internet.calls[0].request
    assert parse_qsl(urlsplit(request.url).query) == [("endpoint_id", "fal-ai/clarity-upscaler")]
    assert "Authorization" not in request.headers  # a public page: the key stays with the API


@pytest.mark.parametrize("base_url", ["https://fal.ai/api", "https://fal.ai"])
def test_the_key_stays_off_the_public_document_whatever_the_api_address(no_internet, base_url):
    # The API's address is a prefix of the public document's: still not the API.
    no_internet.get(SCHEMA, json={"openapi": "3.0.4"})
    client = FalModelsClient(base_url=base_url, key="sekrit-123")
    client.endpoint_document("fal-ai/clarity-upscaler")
    assert "Authorization" not in no_internet.calls[0].request.headers


def test_beside_another_api_the_public_document_is_asked_of_that_origin(no_internet):
    no_internet.get(
        "http://127.0.0.1:8001/api/openapi/queue/openapi.json", json={"openapi": "3.0.4"}
    )
    client = FalModelsClient(base_url="http://127.0.0.1:8001/v1")
    assert client.endpoint_document("a/b") == {"openapi": "3.0.4"}


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 404, "json": envelope("not_found", "No such endpoint")},
        {"status": 200, "json": {"error": {"code": "not_found", "message": "no schema"}}},
    ],
)
def test_no_public_document_is_none(no_internet, answer):
    no_internet.get(SCHEMA, **answer)
    assert FalModelsClient(base_url="https://api.fal.ai/v1").endpoint_document("a/b") is None


@pytest.mark.parametrize("body", [[], {"paths": {}}, {"openapi": 3}])
def test_a_public_document_that_is_no_openapi_document_is_an_invalid_response(no_internet, body):
    no_internet.get(SCHEMA, json=body)
    with pytest.raises(FalInvalidResponseError):
        FalModelsClient(base_url="https://api.fal.ai/v1").endpoint_document("a/b")


def test_the_public_document_is_retried_and_timed_like_every_call(no_internet, sleeps):
    no_internet.get(SCHEMA, status=503, json=envelope("server_error", "down"))
    client = FalModelsClient(base_url="https://api.fal.ai/v1", max_retries=2, sleep=sleeps.append)
    with pytest.raises(FalServerError):
        client.endpoint_document("a/b")
    assert len(no_internet.calls) == 3 and len(sleeps) == 2


def test_offline_the_public_document_comes_from_the_emulator_through_the_same_transport():
    document = {"openapi": "3.0.4", "info": {"title": "Rebuilt"}, "paths": {}}
    emulator = Emulator([model_entry("a/b")], {"a/b": document})
    client = FalModelsClient(
        base_url="http://fal-emulator.invalid/v1", transport=WSGITransport(emulator)
    )
    assert client.endpoint_document("a/b") == document
    assert client.endpoint_document("a/none") is None
