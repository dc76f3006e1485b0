"""The deprecation watch on shortlists: entries whose model is deprecated, gone or broken by a
change since they were added are flagged and counted, with successor suggestions that a
curator accepts in one POST (note kept, change logged); the index tells a curator what
changed for their lists since they last looked."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.utils import timezone

from catalog import upstream
from catalog.models import CatalogVisit, Shortlist, ShortlistEntry
from catalog.sync import CrawlFacts, sync_catalog
from catalog.watch import id_stem
from fal_emulator import Emulator, load_snapshot

pytestmark = pytest.mark.django_db
SCHNELL, DEV = "fal-ai/flux/schnell", "fal-ai/flux/dev"


@pytest.fixture(scope="module")
def snapshot():
    return load_snapshot()


def sync_with(models, documents, **facts):
    with upstream.offline_source(Emulator(models, documents)):
        run = sync_catalog(trigger="test", facts=CrawlFacts(**facts))
    assert run.state == "succeeded", run.error
    return run


def deprecate(snapshot, endpoint_id: str):
    models = copy.deepcopy(snapshot[0])
    next(m for m in models if m["endpoint_id"] == endpoint_id)["metadata"]["status"] = "deprecated"
    return sync_with(models, snapshot[1])


@pytest.fixture
def drafts(curator):
    shortlist = Shortlist.objects.create(title="Drafts", slug="drafts", curator=curator)
    shortlist.entries.create(endpoint_id=SCHNELL, note="Fast and cheap drafts", added_by=curator)
    return shortlist


def test_id_stems_drop_versions_and_variants():
    assert id_stem("fal-ai/kling-video/v1.6/pro/image-to-video") == "fal-ai/kling-video"
    assert id_stem("fal-ai/flux-pro/v1.1-ultra") == "fal-ai/flux-pro"
    assert id_stem("fal-ai/veo3") == "fal-ai/veo3"
    assert id_stem("fal-ai/wan-2.1") == "fal-ai/wan"


def test_a_deprecated_entry_is_flagged_with_successors(member_client, drafts, snapshot):
    html = member_client.get("/shortlists/drafts/").content.decode()
    assert "Needs attention" not in html
    deprecate(snapshot, SCHNELL)
    response = member_client.get("/shortlists/drafts/")
    (row,) = response.context["rows"]
    assert row.watch.deprecated and row.watch.flagged
    suggestions = [card.endpoint_id for card in row.watch.suggestions]
    assert suggestions[0] == DEV  # same family (flux-1), same category, active, newer
    assert SCHNELL not in suggestions and len(suggestions) <= 3
    html = response.content.decode()
    assert "deprecated by fal" in html and "Possible successors" in html
    assert "Replace with this" not in html  # a member cannot accept one
    index = member_client.get("/shortlists/").content.decode()
    assert "1 shortlist entry needs attention" in index and "1 needs attention" in index


def test_a_curator_accepts_a_successor_in_one_post(client, curator, drafts, snapshot):
    deprecate(snapshot, SCHNELL)
    client.force_login(curator)
    assert "Replace with this" in client.get("/shortlists/drafts/").content.decode()
    response = client.post(
        "/shortlists/drafts/replace/", {"endpoint_id": SCHNELL, "successor": DEV}
    )
    assert response.status_code == 302
    entry = ShortlistEntry.objects.get(shortlist=drafts)
    assert (entry.endpoint_id, entry.note) == (DEV, "Fast and cheap drafts")
    log = LogEntry.objects.filter(object_id=str(drafts.pk)).latest("action_time")
    assert f"{SCHNELL} → {DEV}" in log.get_change_message()
    html = client.get("/shortlists/drafts/").content.decode()
    assert "Needs attention" not in html and "the note was kept" in html


def test_only_a_suggested_successor_is_accepted(client, curator, drafts, snapshot):
    deprecate(snapshot, SCHNELL)
    client.force_login(curator)
    client.post("/shortlists/drafts/replace/", {"endpoint_id": SCHNELL, "successor": "x/y"})
    assert ShortlistEntry.objects.get(shortlist=drafts).endpoint_id == SCHNELL


def test_members_and_forged_posts_cannot_replace(member_client, curator, drafts, snapshot):
    deprecate(snapshot, SCHNELL)
    form = {"endpoint_id": SCHNELL, "successor": DEV}
    assert member_client.post("/shortlists/drafts/replace/", form).status_code == 403
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(curator)
    assert csrf_client.post("/shortlists/drafts/replace/", form).status_code == 403
    assert member_client.get("/shortlists/drafts/replace/").status_code == 405
    assert ShortlistEntry.objects.get(shortlist=drafts).endpoint_id == SCHNELL


def test_a_breaking_change_after_the_entry_was_added_flags_it(member_client, snapshot, curator):
    shortlist = Shortlist.objects.create(title="Gen", slug="gen", curator=curator)
    entry = shortlist.entries.create(endpoint_id=DEV, note="Our default")
    models, documents = copy.deepcopy(snapshot[0]), copy.deepcopy(snapshot[1])
    documents[DEV]["components"]["schemas"]["FluxDevInput"]["required"] = ["prompt", "seed"]
    next(m for m in models if m["endpoint_id"] == DEV)["metadata"]["updated_at"] = "later"
    sync_with(models, documents)  # documents_dated: a live-like sync
    (row,) = member_client.get("/shortlists/gen/").context["rows"]
    assert [(c.field, c.aspect) for c in row.watch.breaking] == [("input.seed", "required")]
    assert not row.watch.deprecated and row.watch.suggestions
    # The only reason it needs attention, and the page's count says so.
    assert not row.flag
    assert "1 entry needs attention" in member_client.get("/shortlists/gen/").content.decode()
    # Added after that sync: the change is older than the entry, nothing to flag.
    ShortlistEntry.objects.filter(pk=entry.pk).update(added_at=timezone.now() + timedelta(1))
    response = member_client.get("/shortlists/gen/")
    (row,) = response.context["rows"]
    assert not row.watch.flagged and "needs attention" not in response.content.decode()


def test_the_index_tells_a_curator_what_changed_for_their_lists(client, curator, drafts, snapshot):
    client.force_login(curator)
    html = client.get("/shortlists/").content.decode()
    assert "What changed for your lists" not in html  # the first look
    CatalogVisit.objects.filter(user=curator).update(
        shortlists_seen_at=timezone.now() - timedelta(hours=3)
    )
    deprecate(snapshot, SCHNELL)
    html = client.get("/shortlists/").content.decode()
    section = html[html.index("What changed for your lists since you last looked") :]
    assert SCHNELL in section and "Deprecated." in section


def test_a_gone_entry_is_flagged_with_successors(member_client, snapshot, curator):
    shortlist = Shortlist.objects.create(title="Old", slug="old", curator=curator)
    shortlist.entries.create(endpoint_id=SCHNELL, note="Retired?")
    sync_with([m for m in snapshot[0] if m["endpoint_id"] != SCHNELL], snapshot[1])
    (row,) = member_client.get("/shortlists/old/").context["rows"]
    assert row.watch.gone and not row.watch.deprecated
    assert row.watch.suggestions[0].endpoint_id == DEV
    assert "no longer in fal's catalog." in member_client.get("/shortlists/old/").content.decode()


def test_a_gone_model_says_gone_on_its_page_and_in_compare(member_client, snapshot):
    """Its last entry said "active"; the facts and the compare row must not repeat that."""
    sync_with([m for m in snapshot[0] if m["endpoint_id"] != SCHNELL], snapshot[1])
    page = member_client.get(f"/models/{SCHNELL}/").content.decode()
    assert "No longer in fal" in page and "<dt>Status</dt><dd>gone</dd>" in page
    compare = member_client.get("/compare/", {"endpoint_id": [DEV, SCHNELL]})
    (status,) = [row for row in compare.context["overview"] if row.label == "Status"]
    assert [cell.text for cell in status.cells] == ["active", "gone"]
