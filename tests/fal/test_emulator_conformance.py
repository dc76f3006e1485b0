"""Schemathesis: the emulator answers fal's published ``GET /v1/models`` contract."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fal_emulator import SPEC_PATH, serve, snapshot_emulator

SPEC = SPEC_PATH
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The spec's server is https://api.fal.ai/v1. In process the WSGI transport never opens a
# socket; over HTTP every call names the loopback server, and the schema's own base URL
# is a closed loopback port so a call that forgot it fails here instead of leaving.
UNREACHABLE = "http://127.0.0.1:9/v1"

in_process = schemathesis.openapi.from_path(SPEC)
in_process.app = snapshot_emulator()
in_process.config.update(base_url="http://localhost/v1")

over_http = schemathesis.openapi.from_path(SPEC)
over_http.config.update(base_url=UNREACHABLE)

QUICK = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def http_base_url():
    server = serve(snapshot_emulator(), "127.0.0.1", 0)
    yield server.url
    server.shutdown()


@in_process.parametrize()
@QUICK
def test_the_emulator_conforms_to_the_spec_in_process(case):
    case.call_and_validate(checks=CHECKS)


@over_http.parametrize()
@settings(QUICK, max_examples=15)
def test_the_emulator_conforms_to_the_spec_over_loopback_http(case, http_base_url):
    assert http_base_url.startswith("http://127.0.0.1:")
    case.call_and_validate(base_url=http_base_url, checks=CHECKS, timeout=10)


# Random generation rarely hits a valid `expand`, so the expanded shapes get explicit cases.
KNOWN_REQUESTS = {
    "list": {},
    "page two": {"cursor": "Mg", "limit": 100},
    "last page": {"cursor": "MTU"},
    "past the end": {"cursor": "OTk"},
    "both expansions": {"expand": ["openapi-3.0", "enterprise_status"], "cursor": "Mw"},
    "find with expansion": {"endpoint_id": ["fal-ai/flux/dev", "nope"], "expand": "openapi-3.0"},
    "find nothing": {"endpoint_id": ["fal-ai/nope"]},
    "search": {"q": "flux lora", "category": "text-to-image", "status": "active"},
    "bad status": {"status": "all"},
}


@pytest.mark.parametrize("query", KNOWN_REQUESTS.values(), ids=KNOWN_REQUESTS.keys())
def test_known_requests_conform_including_expanded_models(query):
    case = in_process["/models"]["GET"].Case(query=query)
    case.call_and_validate(checks=CHECKS)
