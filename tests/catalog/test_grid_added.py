"""The grid's history filters: `added=7|30` (added to fal's catalog in the last days) and
`added=new` with its chip, "new since your last visit", per member."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import upstream
from catalog.changes import VISIT_SESSION_KEY
from catalog.models import CatalogVisit
from catalog.sync import CrawlFacts, sync_catalog
from fal_emulator import Emulator, load_snapshot

pytestmark = pytest.mark.django_db


def new_model(endpoint_id: str) -> dict:
    return {"endpoint_id": endpoint_id, "metadata": {
        "display_name": endpoint_id.split("/")[-1], "category": "text-to-image",
        "status": "active"}}  # fmt: skip


@pytest.fixture(scope="module")
def snapshot():
    return load_snapshot()


def sync_adding(snapshot, *models: dict, days_ago: float):
    with upstream.offline_source(Emulator([*snapshot[0], *models], snapshot[1])):
        run = sync_catalog(
            trigger="test", facts=CrawlFacts(as_of=timezone.now() - timedelta(days=days_ago))
        )
    assert run.state == "succeeded", run.error
    return run


def shown(response) -> list[str]:
    return [card.endpoint_id for card in response.context["cards"]]


def test_added_in_the_last_7_or_30_days(member_client, snapshot):
    older, newer = new_model("acme/older"), new_model("acme/newer")
    sync_adding(snapshot, older, days_ago=20)
    sync_adding(snapshot, older, newer, days_ago=2)
    assert shown(member_client.get("/?added=7")) == ["acme/newer"]
    assert sorted(shown(member_client.get("/?added=30"))) == ["acme/newer", "acme/older"]
    everything = member_client.get("/")
    assert (
        everything.context["grid"].total
        == len(snapshot[0])
        - sum(m["metadata"].get("status") == "deprecated" for m in snapshot[0])
        + 2
    )
    response = member_client.get("/?added=7&category=text-to-image")
    assert shown(response) == ["acme/newer"]
    chips = dict(response.context["chips"])
    assert chips["added in the last 7 days"] == "?category=text-to-image"
    assert "Unknown “added” value" in " ".join(
        member_client.get("/?added=99").context["messages_for_query"]
    )


def hours_pass(client, visit: CatalogVisit, hours: float) -> datetime:
    """The member's last look at the grid moves `hours` back: in the row and in the copy
    their session keeps of it."""
    seen_at = timezone.now() - timedelta(hours=hours)
    CatalogVisit.objects.filter(pk=visit.pk).update(grid_seen_at=seen_at)
    session = client.session
    previous = session[VISIT_SESSION_KEY][1]
    session[VISIT_SESSION_KEY] = [seen_at.isoformat(), previous]
    session.save()
    return seen_at


def test_new_since_your_last_visit_is_per_member(member_client, snapshot, curator, client):
    member_client.get("/")  # the first visit: nothing is "new" yet
    visit = CatalogVisit.objects.get(user__username="mia")
    assert visit.grid_previous is None
    hours_pass(member_client, visit, 5)
    sync_adding(snapshot, new_model("acme/fresh"), days_ago=1 / 24)  # an hour ago

    html = member_client.get("/").content.decode()
    assert "1 new since your last visit" in html and 'href="?added=new"' in html
    assert shown(member_client.get("/?added=new")) == ["acme/fresh"]
    # Browsing on within the hour keeps the same "last visit".
    assert shown(member_client.get("/?added=new", headers={"HX-Request": "true"})) == ["acme/fresh"]
    # Another member who never came before has nothing new, whatever the URL says.
    client.force_login(curator)
    assert "new since your last visit" not in client.get("/").content.decode()
    assert shown(client.get("/?added=new")) == []


def test_browsing_the_grid_within_minutes_reads_no_visit_row(member_client):
    member_client.get("/")  # the visit recorded, and copied into the session
    with CaptureQueriesContext(connection) as queries:
        member_client.get("/?category=text-to-image")
        member_client.get("/?q=flux", headers={"HX-Request": "true"})
    assert not [q["sql"] for q in queries if "catalog_catalogvisit" in q["sql"]]


def test_a_visit_after_a_few_minutes_is_written_and_an_hour_later_is_a_new_one(member_client):
    member_client.get("/")
    visit = CatalogVisit.objects.get(user__username="mia")
    hours_pass(member_client, visit, 0.2)  # 12 minutes: the same visit, its time renewed
    member_client.get("/")
    visit.refresh_from_db()
    assert timezone.now() - visit.grid_seen_at < timedelta(minutes=1)
    assert visit.grid_previous is None
    last_look = hours_pass(member_client, visit, 2)  # two hours: a new visit
    member_client.get("/")
    visit.refresh_from_db()
    assert visit.grid_previous == last_look
    assert member_client.session[VISIT_SESSION_KEY][1] == visit.grid_previous.isoformat()


def test_a_damaged_visit_copy_in_the_session_is_read_again_from_the_row(member_client):
    member_client.get("/")
    session = member_client.session
    session[VISIT_SESSION_KEY] = ["not a date", 7]
    session.save()
    assert member_client.get("/").status_code == 200
    assert member_client.get("/", headers={"HX-Request": "true"}).status_code == 200
    seen_at, previous = member_client.session[VISIT_SESSION_KEY]
    assert timezone.now() - datetime.fromisoformat(seen_at) < timedelta(minutes=1)
