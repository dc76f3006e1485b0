"""The model page reads the index once, and fal only for an id the index lacks."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.helpers import FRESH

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_the_model_page_reads_the_index_version_once(member_client, count_upstream):
    member_client.get("/models/fal-ai/flux/dev/")  # warm: the session and the index
    with CaptureQueriesContext(connection) as queries:
        html = member_client.get("/models/fal-ai/flux/dev/").content.decode()
    assert "FLUX.1 [dev]" in html
    reads = [q["sql"] for q in queries if "catalog_indexstate" in q["sql"]]
    assert len(reads) == 1
    assert count_upstream == []


def test_a_model_the_index_lacks_is_asked_of_fal_once_and_shown_as_just_seen(
    member_client, fal_with_fresh_model
):
    html = member_client.get(f"/models/{FRESH}/").content.decode()
    assert "Fresh Model" in html
    # The page is drawn from the index the model was just added to, so it knows when.
    today = timezone.now().date().isoformat()
    assert "No change recorded since the index first saw this model (<time" in html
    assert f">{today}</time>)." in html
    (asked,) = [r["query"] for r in fal_with_fresh_model.requests]
    assert ("endpoint_id", FRESH) in asked
    member_client.get(f"/models/{FRESH}/")
    assert len(fal_with_fresh_model.requests) == 1  # now the index has it


def test_the_facts_leave_out_a_duration_fal_does_not_estimate(member_client):
    without = member_client.get("/models/fal-ai/flux/dev/").content.decode()
    assert "Duration estimate" not in without
    html = member_client.get("/models/fal-ai/kling-video/v1.6/standard/image-to-video/")
    assert "<dt>Duration estimate</dt><dd>~" in html.content.decode()
