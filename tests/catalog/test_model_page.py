"""The model page reads the index once, and fal only for an id the index lacks."""

from __future__ import annotations

from html import unescape

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
    # Find mode, and (its expansion failed: fal knows no document for it) the fallback.
    find, fallback = fal_with_fresh_model.requests
    assert find["path"] == "/v1/models" and ("endpoint_id", FRESH) in find["query"]
    assert fallback["path"].endswith("/openapi.json") and fallback["query"] == [
        ("endpoint_id", FRESH)
    ]
    member_client.get(f"/models/{FRESH}/")
    assert len(fal_with_fresh_model.requests) == 2  # now the index has it


def test_the_facts_leave_out_a_duration_fal_does_not_estimate(member_client):
    without = member_client.get("/models/fal-ai/flux/dev/").content.decode()
    assert "Duration estimate" not in without
    html = member_client.get("/models/fal-ai/kling-video/v1.6/standard/image-to-video/")
    assert "<dt>Duration estimate</dt><dd>~" in html.content.decode()


# --- Where the schema came from ------------------------------------------------------------------

RECONSTRUCTED = "fal-ai/clarity-upscaler"  # expansion failed; a reconstructed document exists
UNDOCUMENTED = "bytedance/seedream/v5/pro/edit"  # expansion failed; no document anywhere


def test_after_a_sync_a_reconstructed_model_shows_its_document_labelled(member_client):
    # The session's index was synced from the emulator, which answers this model's expansion
    # with fal's error object: the document comes from the sync's fallback.
    html = member_client.get(f"/schema/{RECONSTRUCTED}/").content.decode()
    assert 'id="schema-provenance"' in html
    assert "Schema reconstructed from a public crawl" in html
    assert "upscale_factor" in html and "creativity" in html  # its input fields
    assert "could not provide this model" not in html


def test_a_failed_expansion_without_a_fallback_shows_fals_failure(member_client):
    html = unescape(member_client.get(f"/schema/{UNDOCUMENTED}/").content.decode())
    assert (
        "fal could not provide this model's schema: "
        "OpenAPI schema not available for this endpoint" in html
    )
    assert 'id="schema-provenance"' not in html


def test_the_model_pages_history_is_read_once_per_index_version(member_client):
    member_client.get("/models/fal-ai/flux/dev/")  # warm: read with this index version
    with CaptureQueriesContext(connection) as queries:
        html = member_client.get("/models/fal-ai/flux/dev/").content.decode()
    assert 'id="history"' in html
    assert not [q["sql"] for q in queries if "catalog_change" in q["sql"]]


def test_a_model_no_one_knows_is_a_404_in_the_members_own_page(member_client, member):
    response = member_client.get("/models/acme/no-such-model/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "No such model" in html and "/?q=no-such-model" in html
    # The site's frame as the member sees it: their name and a working sign-out form.
    assert f"Sign out {member.get_username()}" in html
    assert 'name="csrfmiddlewaretoken"' in html
