"""/changes/ (the timeline and its filters), its Atom feed, and the History section of the
model page, over a sync of the real snapshot with real changes made to it."""

from __future__ import annotations

import copy
import logging
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client

from catalog import upstream
from catalog.feeds import FEED_SALT, feed_token, feed_user
from catalog.models import CatalogEntry, Change, SyncRun
from catalog.sync import CrawlFacts, sync_catalog
from fal_emulator import Emulator, load_snapshot

pytestmark = pytest.mark.django_db
FLUX = "fal-ai/flux/dev"
ATOM = "{http://www.w3.org/2005/Atom}"
SEPTEMBER = datetime(2026, 9, 1, 12, tzinfo=UTC)


def parse_feed(body: bytes) -> ET.Element:
    return ET.fromstring(body)  # noqa: S314 (our own feed, in a test)


@pytest.fixture(scope="module")
def changed_snapshot():
    """The real snapshot a month on: one model gone, one renamed (to hostile text), one new,
    flux/dev's `seed` required (breaking) and its `num_images` default changed."""
    models, documents = copy.deepcopy(load_snapshot())
    gone = models.pop(3)
    renamed = models[0]
    renamed["metadata"]["display_name"] = "<script>alert(1)</script> Renamed"
    models.append({"endpoint_id": "acme/brand-new", "metadata": {
        "display_name": "Brand new", "category": "text-to-video", "status": "active"}})  # fmt: skip
    flux_input = documents[FLUX]["components"]["schemas"]["FluxDevInput"]
    flux_input["required"] = ["prompt", "seed"]
    flux_input["properties"]["num_images"]["default"] = 2
    # fal bumps updated_at with a new version: the sync fetches that document again.
    next(m for m in models if m["endpoint_id"] == FLUX)["metadata"]["updated_at"] = "2026-09-01"
    return models, documents, gone["endpoint_id"], renamed["endpoint_id"]


@pytest.fixture
def september(changed_snapshot):
    models, documents, *_ = changed_snapshot
    with upstream.offline_source(Emulator(models, documents)):
        run = sync_catalog(trigger="test", facts=CrawlFacts(as_of=SEPTEMBER))
    assert run.state == "succeeded", run.error
    return run


def test_the_timeline_shows_the_syncs_changes_with_counts_and_links(
    member_client, september, changed_snapshot
):
    _, _, gone, renamed = changed_snapshot
    response = member_client.get("/changes/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "2026-09-01" in html
    # gone, added, renamed, and flux/dev's two field changes
    assert "<strong>5</strong> changes" in html
    assert f'href="/models/{gone}/#history"' in html
    assert 'href="/models/acme/brand-new/#history"' in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Renamed" in html
    assert "Input field seed is now required." in html
    assert Change.objects.count() == 5


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("kind=gone", {"gone"}),
        ("kind=added", {"added"}),
        ("kind=renamed", {"renamed"}),
        ("kind=schema", {"schema:required", "schema:default"}),
        ("breaking=1", {"schema:required"}),
        ("category=text-to-video", {"added"}),
        ("q=brand-new", {"added"}),
        ("q=num_images", {"schema:default"}),
        ("since=2026-09-02", set()),
        ("until=2026-08-31", set()),
        ("since=2026-09-01&until=2026-09-01&kind=gone", {"gone"}),
        ("kind=added&kind=gone", {"gone"}),  # a repeated filter: its last value
    ],
)
def test_every_filter_is_in_the_url(member_client, september, params, expected):
    response = member_client.get(f"/changes/?{params}")
    seen = {
        f"{c.kind}:{c.aspect}" if c.kind == "schema" else c.kind
        for day in response.context["days"]
        for c in day.changes
    }
    assert seen == expected


def test_an_htmx_request_gets_the_results_fragment(member_client, september):
    response = member_client.get("/changes/?kind=gone", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"') and "<html" not in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_the_atom_feed_parses_and_its_entries_link_to_models(member_client, september):
    response = member_client.get("/changes/feed/?breaking=1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = parse_feed(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    (entry,) = entries
    assert entry.find(f"{ATOM}title").text == f"{FLUX}: schema (breaking)"
    link = entry.find(f"{ATOM}link").get("href")
    assert link == f"http://testserver/models/{FLUX}/#history"
    atom_id = entry.find(f"{ATOM}id").text
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", atom_id)  # absolute, as Atom requires
    again = parse_feed(member_client.get("/changes/feed/?breaking=1").content)
    assert again.find(f"{ATOM}entry/{ATOM}id").text == atom_id  # and stable
    assert entry.find(f"{ATOM}updated").text.startswith("2026-09-01")
    everything = parse_feed(member_client.get("/changes/feed/").content)
    assert len(everything.findall(f"{ATOM}entry")) == Change.objects.count()


def test_the_feed_escapes_upstream_text(member_client, september):
    body = member_client.get("/changes/feed/?kind=renamed").content
    assert b"<script>" not in body
    feed = parse_feed(body)
    summary = feed.find(f"{ATOM}entry").find(f"{ATOM}summary").text
    assert "<script>alert(1)</script> Renamed" in summary  # text, as the reader shows it


def test_the_model_page_history_shows_a_field_level_diff(member_client, september):
    html = member_client.get(f"/models/{FLUX}/").content.decode()
    section = html[html.index('id="history"') :]
    assert "2026-09-01" in section
    assert "<code>input.seed</code>" in section and "breaking" in section
    assert "<code>input.num_images</code>" in section
    row = section[section.index("input.num_images") :]
    assert "<code>1</code>" in row[:400] and "<code>2</code>" in row[:400]


def test_a_model_without_changes_says_so(member_client, september, changed_snapshot):
    unchanged = changed_snapshot[0][50]["endpoint_id"]
    assert not Change.objects.filter(endpoint_id=unchanged).exists()
    html = member_client.get(f"/models/{unchanged}/").content.decode()
    assert "No change recorded since the index first saw this model" in html


def test_the_changes_page_needs_a_sign_in_and_the_feed_a_session_or_token(client, september):
    assert client.get("/changes/").status_code == 302
    # Without a session or a token: to sign-in, like every page; a bad token: a short 403.
    feed = client.get("/changes/feed/?kind=added")
    assert feed.status_code == 302
    assert feed["Location"] == "/accounts/login/?next=/changes/feed/%3Fkind%3Dadded"
    refused = client.get("/changes/feed/", {"token": "not-a-token"})
    assert refused.status_code == 403 and refused["Content-Type"].startswith("text/plain")
    assert b"Subscribe (Atom)" in refused.content and len(refused.content) < 300


# --- The subscription link: the feed for a feed reader, which has no session -------------------


def subscribe_url(member_client, params: str = "") -> str:
    """The "Subscribe (Atom)" link the member sees on /changes/?params."""
    html = member_client.get(f"/changes/?{params}").content.decode()
    match = re.search(r'<a href="([^"]+)"[^>]*>Subscribe \(Atom\)</a>', html)
    assert match, "no Subscribe link"
    return unescape(match[1])


def test_the_subscription_link_works_without_a_session(member_client, september, caplog):
    url = subscribe_url(member_client)
    token = parse_qs(urlsplit(url).query)["token"][0]
    with caplog.at_level(logging.DEBUG):
        response = Client().get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert "private" in response["Cache-Control"]
    entries = parse_feed(response.content).findall(f"{ATOM}entry")
    assert len(entries) == Change.objects.count() == 5
    assert token not in response.content.decode()  # the feed's links do not repeat it
    assert token not in caplog.text


def test_the_subscription_link_keeps_the_views_filters(member_client, september):
    url = subscribe_url(member_client, "kind=gone")
    assert url.startswith("/changes/feed/?kind=gone&token=")
    entries = parse_feed(Client().get(url).content).findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text.rsplit(": ", 1)[1] for e in entries] == ["gone"]
    htmx = member_client.get("/changes/?breaking=1", headers={"HX-Request": "true"})
    assert "/changes/feed/?breaking=1&amp;token=" in htmx.content.decode()  # follows filters


def test_a_session_reads_the_feed_privately(member_client, september):
    response = member_client.get("/changes/feed/")
    assert response.status_code == 200 and "private" in response["Cache-Control"]


def tampered(token: str) -> str:
    value, signature = token.rsplit(":", 1)
    return f"{value}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"


def test_a_tampered_or_foreign_token_is_refused(member_client, member, september, caplog):
    url = subscribe_url(member_client)
    token = parse_qs(urlsplit(url).query)["token"][0]
    payload = signing.loads(token, salt=FEED_SALT)
    other_member = signing.dumps({**payload, "u": payload["u"] + 1}, salt="other")
    foreign = [
        tampered(token),
        signing.dumps(payload, salt="other"),  # same member, another salt
        signing.dumps(payload),  # no salt
        other_member,
        "x" * 5000,
    ]
    for bad in foreign:
        with caplog.at_level(logging.DEBUG):
            response = Client().get("/changes/feed/", {"token": bad})
        assert response.status_code == 403, bad
        assert not bad or bad not in caplog.text


def test_a_password_change_revokes_the_link(member_client, member, september):
    url = subscribe_url(member_client)
    assert Client().get(url).status_code == 200
    member.set_password("a-new-password-5678")
    member.save()
    assert Client().get(url).status_code == 403
    assert feed_user(feed_token(member)) == member  # a new link works


def test_an_inactive_members_link_is_refused(member_client, member, september):
    url = subscribe_url(member_client)
    member.is_active = False
    member.save()
    assert Client().get(url).status_code == 403


# --- Thumbnail changes fold into one line ------------------------------------------------------

AUGUST = "2026-08-10"


@pytest.fixture
def august(monkeypatch):
    """The real history's last step: the June crawl, then the 2026-08-10 snapshot, which
    moved many models' thumbnails to new CDN URLs. Returns that day's thumbnail changes."""
    from catalog import replay
    from fal_emulator import history_dates

    Change.objects.all().delete()
    CatalogEntry.objects.all().delete()
    SyncRun.objects.all().delete()
    monkeypatch.setattr(replay, "history_dates", lambda: history_dates()[-2:])
    runs = replay.replay_history()
    assert [r.state for r in runs] == ["succeeded", "succeeded"]
    thumbnails = list(runs[-1].changes.filter(kind="metadata", field="thumbnail"))
    assert len(thumbnails) > 50
    return thumbnails


def thumbnail_urls(thumbnails) -> set[str]:
    return {v for c in thumbnails for v in (c.before, c.after) if isinstance(v, str) and v}


def test_a_days_thumbnail_changes_are_one_line_without_their_urls(member_client, august):
    html = member_client.get(f"/changes/?since={AUGUST}&until={AUGUST}").content.decode()
    assert not [url for url in thumbnail_urls(august) if url in html]
    assert html.count(f"Thumbnail changed for {len(august)} models") == 1
    # The folded models are still named, each once, and linked to their history.
    for change in august:
        assert html.count(f'href="/models/{change.endpoint_id}/#history"') >= 1
    other = Change.objects.filter(seen_at__date=AUGUST).exclude(field="thumbnail").count()
    rows = re.findall(r'<li class="change change-', html)
    assert len(rows) == other + 1


def test_the_feed_folds_them_too(member_client, august):
    body = member_client.get(f"/changes/feed/?kind=metadata&since={AUGUST}").content.decode()
    assert not [url for url in thumbnail_urls(august) if url in body]
    titles = [t.text for t in parse_feed(body.encode()).iter(f"{ATOM}title")]
    assert titles.count(f"Thumbnail changed for {len(august)} models") == 1
    assert not [t for t in titles if t and t.endswith(": metadata") and "thumbnail" in t]


def test_a_models_own_history_says_its_thumbnail_changed(member_client, august):
    change = august[0]
    html = member_client.get(f"/models/{change.endpoint_id}/").content.decode()
    history = html[html.index('id="history"') :]
    assert "Thumbnail changed." in history
    assert change.before not in history
