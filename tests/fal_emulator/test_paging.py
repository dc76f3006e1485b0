"""The emulator's query parameters and paging (fal_emulator/paging.py), as every path reads
them: a parameter that takes one value, given twice, is a 400 naming it."""

from __future__ import annotations

import json

import pytest

from fal_emulator import snapshot_emulator
from fal_emulator.usage import OFFLINE_ADMIN_KEY


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/models", [("limit", "5"), ("limit", "6")]),
        ("/v1/models/usage", [("start", "2026-09-01"), ("limit", "5"), ("limit", "6")]),
        (
            "/v1/models/analytics",
            [("endpoint_id", "fal-ai/flux/dev"), ("limit", "5"), ("limit", "6")],
        ),
    ],
)
def test_a_single_valued_parameter_given_twice_is_a_400_naming_it(path, query):
    status, _, body = snapshot_emulator().handle(
        "GET", path, query, authorization=f"Key {OFFLINE_ADMIN_KEY}"
    )
    assert status == 400
    assert json.loads(body)["error"]["message"] == "Parameter 'limit' takes a single value"
