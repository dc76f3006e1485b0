"""Schemathesis: the emulator's usage and analytics answer fal's published contract."""

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

from fal_emulator import SNAPSHOT_DIR, snapshot_emulator
from fal_emulator.usage import OFFLINE_ADMIN_KEY
from tests.helpers import with_authorization
from tests.profile import examples

SPEC_PATH = SNAPSHOT_DIR / "usage-openapi.json"
# The team's read-only copy the bundled contract was taken from (absent on other machines).
SHARED_SPEC = Path("/work/shared/spec/usage-openapi.json")
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ADMIN = f"Key {OFFLINE_ADMIN_KEY}"

# The emulator serves usage and analytics; the request log and billing events are not emulated.
schema = schemathesis.openapi.from_path(SPEC_PATH).include(
    path_regex=r"^/models/(usage|analytics)$"
)
schema.app = snapshot_emulator()
schema.config.update(base_url="http://localhost/v1")

SWEEP = settings(
    max_examples=examples(60),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def with_key(case, authorization: str | None = ADMIN):
    return with_authorization(case, authorization)


@pytest.mark.skipif(not SHARED_SPEC.exists(), reason="no /work/shared on this machine")
def test_the_bundled_contract_is_the_shared_one():
    assert SPEC_PATH.read_bytes() == SHARED_SPEC.read_bytes()


@schema.parametrize()
@SWEEP
def test_the_emulator_conforms_to_the_usage_contract_with_an_admin_key(case):
    with_key(case).call_and_validate(checks=CHECKS)


@schema.parametrize()
@settings(SWEEP, max_examples=examples(20))
def test_the_emulator_conforms_to_the_usage_contract_without_a_key(case):
    response = with_key(case, None).call_and_validate(checks=CHECKS)
    documented = case.method.upper() == case.operation.method.upper()
    assert response.status_code == (401 if documented else 405)


# A random window is rarely the team's: these cases have figures in every shape.
WINDOW = {"start": "2026-10-01", "end": "2026-11-01", "timeframe": "day"}
METRICS = ["request_count", "error_count", "p50_duration", "p95_duration", "cold_boot_count",
           "p90_cold_boot_duration", "total_billable_duration"]  # fmt: skip
TWO = ["fal-ai/flux/dev", "fal-ai/sora-2/text-to-video"]
KNOWN = {
    "usage by day and caller": (
        "/models/usage",
        {**WINDOW, "expand": ["time_series", "auth_method", "auth_method_structured"]},
    ),
    "usage summary": (
        "/models/usage",
        {**WINDOW, "expand": ["summary"], "endpoint_id": "fal-ai/flux/dev"},
    ),
    "usage by week, paged": ("/models/usage", {**WINDOW, "timeframe": "week", "limit": 2}),
    "analytics, many metrics": (
        "/models/analytics",
        {**WINDOW, "endpoint_id": TWO, "expand": ["time_series", "summary", *METRICS]},
    ),
}


@pytest.mark.parametrize("path, query", KNOWN.values(), ids=KNOWN.keys())
def test_known_requests_conform(path, query):
    response = with_key(schema[path]["GET"].Case(query=query)).call_and_validate(checks=CHECKS)
    assert response.status_code == 200
    body = response.json()
    assert body.get("time_series") or body.get("summary")
