"""Behaviour of the offline ``GET /v1/models`` emulator over the bundled real snapshot."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

from fal.openapi import reconstructed_source
from fal_emulator import (
    DEFAULT_MODELS_PATH,
    DEFAULT_OPENAPI_PATH,
    DEFAULT_RECONSTRUCTED_PATH,
    Emulator,
    load_snapshot,
    serve,
    snapshot_emulator,
)
from fal_emulator.app import SCHEMA_PATH
from fal_emulator.snapshot import load_reconstructed

Query = list[tuple[str, str]]


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    return snapshot_emulator()


@pytest.fixture(scope="module")
def snapshot_models() -> list[dict]:
    with gzip.open(DEFAULT_MODELS_PATH, "rt", encoding="utf-8") as fh:
        return json.load(fh)["models"]


@pytest.fixture(scope="module")
def openapi_docs() -> dict[str, dict]:
    with gzip.open(DEFAULT_OPENAPI_PATH, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def get(emulator: Emulator, query: Query | None = None, path: str = "/v1/models") -> tuple:
    status, headers, body = emulator.handle("GET", path, query or [])
    return status, dict(headers), json.loads(body)


def ok(emulator: Emulator, query: Query | None = None) -> dict:
    status, headers, body = get(emulator, query)
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    return body


def collect_models(emulator: Emulator, query: Query) -> list[dict]:
    """Follow next_cursor to the end, returning every model seen."""
    models, cursor = [], None
    while True:
        body = ok(emulator, query + ([("cursor", cursor)] if cursor else []))
        models += body["models"]
        assert body["has_more"] is (body["next_cursor"] is not None)
        if not body["has_more"]:
            return models
        cursor = body["next_cursor"]


def collect_ids(emulator: Emulator, query: Query) -> list[str]:
    """Follow next_cursor to the end, returning every endpoint id seen."""
    return [m["endpoint_id"] for m in collect_models(emulator, query)]


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


# --- list mode and pagination ---------------------------------------------------------


def test_list_pages_through_every_model_once_in_snapshot_order(emulator, snapshot_models):
    ids = collect_ids(emulator, [])
    assert len(ids) == 1434
    assert ids == [m["endpoint_id"] for m in snapshot_models]
    assert len(set(ids)) == len(ids)


def test_first_page_is_100_models_with_the_real_cursor_mg(emulator, snapshot_models):
    body = ok(emulator)
    assert len(body["models"]) == 100
    assert body["next_cursor"] == "Mg"
    assert body["has_more"] is True
    assert body["models"] == snapshot_models[:100]


def test_cursor_mg_is_page_two_with_or_without_padding(emulator, snapshot_models):
    assert ok(emulator, [("cursor", "Mg")])["models"] == snapshot_models[100:200]
    assert ok(emulator, [("cursor", "Mg==")])["models"] == snapshot_models[100:200]
    assert ok(emulator, [("cursor", "Mg")])["next_cursor"] == "Mw"


def test_last_page_has_the_remainder_and_no_next_cursor(emulator, snapshot_models):
    body = ok(emulator, [("cursor", base64.b64encode(b"15").decode())])
    assert body["models"] == snapshot_models[1400:]
    assert body == {**body, "next_cursor": None, "has_more": False}


@pytest.mark.parametrize("page", [b"99", b"9" * 17, b"9" * 5000])
@pytest.mark.parametrize("search", [[], [("q", "flux")]], ids=["list", "search"])
def test_a_page_past_the_end_is_empty(emulator, page, search):
    body = ok(emulator, [("cursor", base64.b64encode(page).decode()), *search])
    assert body == {"models": [], "next_cursor": None, "has_more": False}


def test_limit_sets_the_page_size_and_pages_follow_it(emulator, snapshot_models):
    body = ok(emulator, [("limit", "7"), ("cursor", "Mw")])
    assert body["models"] == snapshot_models[14:21]


@pytest.mark.parametrize("limit", ["101", "5000", "9" * 40])
def test_a_limit_above_100_is_clamped_to_100(emulator, limit):
    assert len(ok(emulator, [("limit", limit)])["models"]) == 100


def test_expanding_openapi_caps_pages_at_10(emulator):
    assert len(ok(emulator, [("expand", "openapi-3.0")])["models"]) == 10
    assert len(ok(emulator, [("expand", "openapi-3.0"), ("limit", "50")])["models"]) == 10
    assert len(ok(emulator, [("expand", "openapi-3.0"), ("limit", "3")])["models"]) == 3
    assert len(ok(emulator, [("expand", "enterprise_status")])["models"]) == 100


# --- validation -----------------------------------------------------------------------

BAD_REQUESTS = {
    "limit zero": [("limit", "0")],
    "limit negative": [("limit", "-1")],
    "limit empty": [("limit", "")],
    "limit not a number": [("limit", "ten")],
    "limit fractional": [("limit", "1.5")],
    "cursor not base64": [("cursor", "!!!")],
    "cursor of page zero": [("cursor", "MA")],
    "cursor not a number": [("cursor", base64.b64encode(b"abc").decode())],
    "cursor negative": [("cursor", base64.b64encode(b"-2").decode())],
    "status all": [("status", "all")],
    "status empty": [("status", "")],
    "status wrong case": [("status", "Active")],
    "expand unknown": [("expand", "pricing")],
    "expand one of two unknown": [("expand", "openapi-3.0"), ("expand", "x")],
    "endpoint_id empty": [("endpoint_id", "")],
    "endpoint_id 51 distinct": [("endpoint_id", f"fal-ai/m{i}") for i in range(51)],
    "q repeated": [("q", "flux"), ("q", "dev")],
    "limit repeated": [("limit", "5"), ("limit", "6")],
}


@pytest.mark.parametrize("query", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_parameters_are_400_validation_error(emulator, query):
    assert_error(get(emulator, query), 400, "validation_error")


def test_an_unknown_expand_value_is_named_in_the_message(emulator):
    error = assert_error(get(emulator, [("expand", "pricing")]), 400, "validation_error")
    assert "pricing" in error["message"]


def test_fifty_distinct_ids_are_allowed_even_when_repeated(emulator, snapshot_models):
    ids = [m["endpoint_id"] for m in snapshot_models[:50]]
    body = ok(emulator, [("endpoint_id", i) for i in ids + ids])
    assert [m["endpoint_id"] for m in body["models"]] == ids


def test_unknown_parameters_and_bracketed_expand_are_ignored(emulator, snapshot_models):
    body = ok(emulator, [("expand[]", "openapi-3.0"), ("foo", "bar"), ("limit", "2")])
    assert body["models"] == snapshot_models[:2]


def test_empty_q_and_category_count_as_absent(emulator, snapshot_models):
    body = ok(emulator, [("q", ""), ("category", ""), ("limit", "3")])
    assert body["models"] == snapshot_models[:3]
    assert ok(emulator, [("q", "   "), ("limit", "3")])["models"] == snapshot_models[:3]


# --- find mode ------------------------------------------------------------------------


def test_find_returns_models_in_the_order_asked_once_each(emulator, snapshot_models):
    wanted = [snapshot_models[500]["endpoint_id"], snapshot_models[3]["endpoint_id"]]
    query = [("endpoint_id", i) for i in [wanted[0], wanted[1], wanted[0]]]
    body = ok(emulator, query)
    assert [m["endpoint_id"] for m in body["models"]] == wanted
    assert body["models"] == [snapshot_models[500], snapshot_models[3]]
    assert body["has_more"] is False


def test_find_with_no_existing_id_is_404_naming_the_ids(emulator):
    query = [("endpoint_id", "fal-ai/nope-1"), ("endpoint_id", "fal-ai/nope-2")]
    error = assert_error(get(emulator, query), 404, "not_found")
    assert "fal-ai/nope-1" in error["message"]
    assert "fal-ai/nope-2" in error["message"]


def test_a_partial_find_returns_the_ids_that_exist(emulator, snapshot_models):
    real = snapshot_models[10]["endpoint_id"]
    body = ok(emulator, [("endpoint_id", "fal-ai/nope"), ("endpoint_id", real)])
    assert [m["endpoint_id"] for m in body["models"]] == [real]


def test_search_params_narrow_the_ids_found(emulator, snapshot_models):
    first, second = (
        snapshot_models[0],
        next(
            m
            for m in snapshot_models
            if m["metadata"]["category"] != snapshot_models[0]["metadata"]["category"]
        ),
    )
    query = [("endpoint_id", second["endpoint_id"]), ("endpoint_id", first["endpoint_id"])]
    body = ok(emulator, query + [("category", first["metadata"]["category"])])
    assert body["models"] == [first]


def test_unknown_ids_with_a_search_param_is_an_empty_200(emulator):
    body = ok(emulator, [("endpoint_id", "fal-ai/nope"), ("status", "active")])
    assert body == {"models": [], "next_cursor": None, "has_more": False}


# --- search mode ----------------------------------------------------------------------


def test_q_needs_every_token_somewhere_case_insensitively(emulator, snapshot_models):
    def text(m):
        md = m["metadata"]
        fields = [m["endpoint_id"], md["display_name"], md["description"], md["category"]]
        return "\n".join(fields + md["tags"]).lower()

    expected = [
        m["endpoint_id"] for m in snapshot_models if "flux" in text(m) and "lora" in text(m)
    ]
    assert 1 < len(expected) < 1434
    assert collect_ids(emulator, [("q", "FLUX  LoRA")]) == expected


def test_q_matches_tags_and_nothing_matches_nonsense(emulator, snapshot_models):
    tagged = next(m for m in snapshot_models if any(len(t) > 3 for t in m["metadata"]["tags"]))
    tag = next(t for t in tagged["metadata"]["tags"] if len(t) > 3)
    assert tagged["endpoint_id"] in collect_ids(emulator, [("q", tag.upper())])
    assert ok(emulator, [("q", "zzqx-no-such-model")])["models"] == []


def test_category_filters_exactly_in_snapshot_order(emulator, snapshot_models):
    expected = [
        m["endpoint_id"] for m in snapshot_models if m["metadata"]["category"] == "image-to-3d"
    ]
    assert expected
    assert collect_ids(emulator, [("category", "image-to-3d")]) == expected
    assert collect_ids(emulator, [("category", "Image-To-3D")]) == expected
    assert ok(emulator, [("category", "image")])["models"] == []


def test_every_snapshot_model_is_active_so_deprecated_finds_none(emulator):
    assert ok(emulator, [("status", "deprecated")])["models"] == []
    assert len(collect_ids(emulator, [("status", "active")])) == 1434


def test_models_without_metadata_match_list_and_find_but_no_search():
    models = [
        {"endpoint_id": "a/bare"},
        {"endpoint_id": "a/full", "metadata": {"category": "llm", "status": "active"}},
    ]
    emulator = Emulator(models, {})
    assert ok(emulator)["models"] == models
    assert ok(emulator, [("endpoint_id", "a/bare")])["models"] == models[:1]
    assert ok(emulator, [("q", "a/")])["models"] == models[1:]
    assert ok(emulator, [("status", "active")])["models"] == models[1:]
    assert ok(emulator, [("endpoint_id", "a/bare"), ("category", "llm")])["models"] == []


# --- expansion ------------------------------------------------------------------------


def test_expand_openapi_gives_the_real_document_or_the_expansion_error(
    emulator, snapshot_models, openapi_docs
):
    with_doc = next(m["endpoint_id"] for m in snapshot_models if m["endpoint_id"] in openapi_docs)
    reconstructed = load_reconstructed()
    without = next(
        m["endpoint_id"]
        for m in snapshot_models
        if m["endpoint_id"] not in openapi_docs and m["endpoint_id"] not in reconstructed
    )
    query = [("endpoint_id", with_doc), ("endpoint_id", without), ("expand", "openapi-3.0")]
    documented, undocumented = ok(emulator, query)["models"]
    assert documented["openapi"] == openapi_docs[with_doc]
    assert documented["openapi"]["openapi"] == "3.0.4"
    assert undocumented["openapi"] == {
        "error": {
            "code": "expansion_failed",
            "message": "OpenAPI schema not available for this endpoint",
        }
    }
    assert "enterprise_status" not in documented


def test_expand_openapi_over_the_whole_snapshot_answers_what_fal_answered(emulator, openapi_docs):
    documents, errors = {}, {}
    for model in collect_models(emulator, [("expand", "openapi-3.0")]):
        openapi = model["openapi"]
        (errors if "error" in openapi else documents)[model["endpoint_id"]] = openapi
    # The recorded crawl: 920 documents, and fal's error object for the 514 others.
    assert (len(documents), len(errors)) == (len(openapi_docs), 1434 - len(openapi_docs))
    assert (len(documents), len(errors)) == (920, 514)
    assert documents == openapi_docs
    assert {e["error"]["code"] for e in errors.values()} == {"expansion_failed"}
    # The reconstructed documents are the app's fallback, never an expansion fal sent.
    assert set(load_reconstructed()) <= set(errors)


def schema(emulator: Emulator, query: Query, method: str = "GET") -> tuple:
    status, headers, body = emulator.handle(method, SCHEMA_PATH, query)
    return status, dict(headers), json.loads(body) if body else None


def test_the_public_schema_path_serves_a_reconstructed_document_marked_as_such(emulator):
    with gzip.open(DEFAULT_RECONSTRUCTED_PATH, "rt", encoding="utf-8") as fh:
        bundle = json.load(fh)
    endpoint_id = "fal-ai/clarity-upscaler"
    status, headers, document = schema(emulator, [("endpoint_id", endpoint_id)])
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert reconstructed_source(document) == bundle["source_of"][endpoint_id] == "tanstack"
    # The document is the bundled one, plus the mark in `info` and nothing else.
    original = bundle["documents"][endpoint_id]
    assert document["components"] == original["components"]
    info = dict(document["info"])
    del info["x-catalog-reconstructed"]
    assert info == original["info"]


def test_the_public_schema_path_serves_recorded_documents_unmarked(emulator, openapi_docs):
    status, _, document = schema(emulator, [("endpoint_id", "fal-ai/flux/dev")])
    assert status == 200 and document == openapi_docs["fal-ai/flux/dev"]
    assert not any(reconstructed_source(d) for d in openapi_docs.values())


def test_the_public_schema_path_is_404_where_no_document_exists(emulator, snapshot_models):
    known = set(load_reconstructed()) | set(load_snapshot()[1])
    without = next(m["endpoint_id"] for m in snapshot_models if m["endpoint_id"] not in known)
    for endpoint_id in (without, "nope/unknown"):
        assert_error(schema(emulator, [("endpoint_id", endpoint_id)]), 404, "not_found")


@pytest.mark.parametrize(
    "query", [[], [("endpoint_id", "")], [("endpoint_id", "a/b"), ("endpoint_id", "c/d")]]
)
def test_the_public_schema_path_needs_one_endpoint_id(emulator, query):
    assert_error(schema(emulator, query), 400, "validation_error")


def test_the_public_schema_path_answers_get_and_head_only(emulator):
    status, headers, body = schema(emulator, [("endpoint_id", "fal-ai/flux/dev")], "HEAD")
    assert status == 200 and body is None and int(headers["Content-Length"]) > 1000
    error = assert_error(schema(emulator, [("endpoint_id", "fal-ai/flux/dev")], "POST"), 405,
                         "validation_error")  # fmt: skip
    assert "POST" in error["message"]


def test_expand_enterprise_status_is_an_honest_expansion_error(emulator):
    model = ok(emulator, [("expand", "enterprise_status"), ("limit", "1")])["models"][0]
    assert model["enterprise_status"]["error"]["code"] == "expansion_failed"
    assert "openapi" not in model


def test_without_expand_entries_are_verbatim_and_expansion_never_mutates_them(
    emulator, snapshot_models
):
    ok(emulator, [("expand", "openapi-3.0"), ("expand", "enterprise_status")])
    model = ok(emulator, [("limit", "1")])["models"][0]
    assert model == snapshot_models[0]
    assert "openapi" not in model and "enterprise_status" not in model
    assert all("openapi" not in m for m in emulator._models)


# --- HTTP surface ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
def test_methods_other_than_get_and_head_are_405_with_allow(emulator, method):
    status, headers, body = emulator.handle(method, "/v1/models", [])
    error = assert_error((status, dict(headers), json.loads(body)), 405, "validation_error")
    assert method in error["message"]
    assert dict(headers)["Allow"] == "GET, HEAD"


def test_head_is_get_without_a_body(emulator):
    status, headers, body = emulator.handle("HEAD", "/v1/models", [])
    _, get_headers, get_body = emulator.handle("GET", "/v1/models", [])
    assert (status, body) == (200, b"")
    assert dict(headers)["Content-Length"] == str(len(get_body))
    assert emulator.handle("HEAD", "/v1/models", [("limit", "0")])[::2] == (400, b"")


@pytest.mark.parametrize("path", ["/v1/other", "/v1/models/prices", "/", "/v1/models/"])
def test_unknown_paths_are_404_not_found(emulator, path):
    assert_error(get(emulator, [], path=path), 404, "not_found")


def test_the_bare_models_path_works_as_under_schemathesis_url(emulator, snapshot_models):
    status, _, body = get(emulator, [("limit", "1")], path="/models")
    assert (status, body["models"]) == (200, snapshot_models[:1])


def test_an_unexpected_failure_is_a_500_envelope_without_traceback(monkeypatch):
    emulator = Emulator([{"endpoint_id": "a/b"}], {})

    def explode(query):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(emulator, "_models_page", explode)
    error = assert_error(get(emulator), 500, "server_error")
    assert "secret" not in error["message"] and "Traceback" not in error["message"]


def call_wsgi(app, method: str, path: str, query_string: str) -> tuple:
    captured = {}

    def start_response(status, headers):
        captured.update(status=status, headers=dict(headers))

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query_string,
        "wsgi.input": io.BytesIO(),
    }
    body = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], body


def test_the_wsgi_app_parses_the_query_string(emulator, snapshot_models):
    wanted = [snapshot_models[9]["endpoint_id"], snapshot_models[2]["endpoint_id"]]
    query = urlencode([("endpoint_id", i) for i in wanted] + [("expand[]", "x")])
    status, headers, body = call_wsgi(emulator, "GET", "/v1/models", query)
    assert status == "200 OK"
    assert headers["Content-Type"] == "application/json"
    assert [m["endpoint_id"] for m in json.loads(body)["models"]] == wanted


def test_the_wsgi_app_keeps_blank_values_so_an_empty_limit_is_rejected(emulator):
    status, _, body = call_wsgi(emulator, "GET", "/v1/models", "limit=")
    assert status == "400 Bad Request"
    assert json.loads(body)["error"]["type"] == "validation_error"
    assert call_wsgi(emulator, "PUT", "/v1/models", "")[0] == "405 Method Not Allowed"


def test_serve_answers_over_real_http_on_loopback(emulator, snapshot_models):
    server = serve(emulator, "127.0.0.1", 0)
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/v1"
        with urllib.request.urlopen(f"{server.url}/models?limit=2&cursor=Mg", timeout=5) as r:
            assert r.headers["Content-Type"] == "application/json"
            assert json.load(r)["models"] == snapshot_models[2:4]
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            urllib.request.urlopen(f"{server.url}/models?status=all", timeout=5)
        assert excinfo.value.code == 400
    finally:
        server.shutdown()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com"])  # noqa: S104
def test_serve_refuses_addresses_that_are_not_loopback(emulator, host):
    with pytest.raises(ValueError, match="loopback"):
        serve(emulator, host, 0)
