"""Schemathesis: the emulator answers fal's published pricing contract (both paths)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fal_emulator import PRICING_SPEC_PATH, snapshot_emulator
from tests.helpers import with_authorization
from tests.profile import examples

# The team's read-only copy the bundled contract was taken from (absent on other machines).
SHARED_SPEC = Path("/work/shared/spec/pricing-openapi.json")
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
KEY = "Key schemathesis-key"

schema = schemathesis.openapi.from_path(PRICING_SPEC_PATH)
schema.app = snapshot_emulator()
schema.config.update(base_url="http://localhost/v1")

SWEEP = settings(
    max_examples=examples(80),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def with_key(case, authorization: str | None = KEY):
    return with_authorization(case, authorization)


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="no /work/shared on this machine")
def test_the_bundled_contract_is_the_shared_one():
    assert PRICING_SPEC_PATH.read_bytes() == SHARED_SPEC.read_bytes()


@schema.parametrize()
@SWEEP
def test_the_emulator_conforms_to_the_pricing_contract_with_a_key(case):
    with_key(case).call_and_validate(checks=CHECKS)


@schema.parametrize()
@settings(SWEEP, max_examples=examples(20))
def test_the_emulator_conforms_to_the_pricing_contract_without_a_key(case):
    response = with_key(case, None).call_and_validate(checks=CHECKS)
    # The coverage phase also tries undocumented methods: those are 405 with or without a key.
    documented = case.method.upper() == case.operation.method.upper()
    assert response.status_code == (401 if documented else 405)


# Random ids are almost never real, so the priced and estimated shapes get explicit cases.
KNOWN_PRICE_QUERIES = {
    "one": {"endpoint_id": "fal-ai/flux/dev"},
    "repeated": {"endpoint_id": ["fal-ai/flux/dev", "fal-ai/stable-audio-3/medium/text-to-audio"]},
    "comma-separated": {"endpoint_id": "fal-ai/flux/dev,fal-ai/nope"},
    "unknown": {"endpoint_id": "fal-ai/nope"},
    "too many": {"endpoint_id": ",".join(f"a/{n}" for n in range(51))},
}
KNOWN_ESTIMATES = {
    "transcript": {
        "estimate_type": "unit_price",
        "endpoints": {"fal-ai/stable-audio-3/medium/text-to-audio": {"unit_quantity": 1}},
    },
    "several": {
        "estimate_type": "unit_price",
        "endpoints": {
            "fal-ai/flux/dev": {"unit_quantity": 50},
            "fal-ai/flux-pro": {"unit_quantity": 25},
        },
    },
    "historical": {
        "estimate_type": "historical_api_price",
        "endpoints": {"fal-ai/flux/dev": {"call_quantity": 100}},
    },
    "unknown": {"estimate_type": "unit_price", "endpoints": {"fal-ai/nope": {"unit_quantity": 1}}},
    "empty": {"estimate_type": "unit_price", "endpoints": {}},
}


@pytest.mark.parametrize("query", KNOWN_PRICE_QUERIES.values(), ids=KNOWN_PRICE_QUERIES.keys())
def test_known_price_requests_conform(query):
    with_key(schema["/models/pricing"]["GET"].Case(query=query)).call_and_validate(checks=CHECKS)


@pytest.mark.parametrize("body", KNOWN_ESTIMATES.values(), ids=KNOWN_ESTIMATES.keys())
def test_known_estimates_conform(body):
    case = schema["/models/pricing/estimate"]["POST"].Case(body=body, media_type="application/json")
    with_key(case).call_and_validate(checks=CHECKS)
