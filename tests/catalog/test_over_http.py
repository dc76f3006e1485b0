"""The client and the dashboard against the emulator served over real HTTP on loopback."""

from __future__ import annotations

import gzip
import json

import pytest
from django.core.management import call_command

from catalog import services
from catalog.management.commands.catalog_snapshot import openapi_path_for
from catalog.models import SyncRun
from catalog.sync import sync_catalog
from fal.client import FalModelsClient
from fal.errors import FalBadRequestError, FalNotFoundError
from fal.openapi import reconstructed_source
from fal.types import ModelsQuery
from fal_emulator import Emulator, serve, snapshot_emulator
from fal_emulator.testing import counting_emulator


@pytest.fixture(scope="module")
def emulator_server():
    server = serve(snapshot_emulator())
    yield server
    server.shutdown()


@pytest.fixture
def http_client(emulator_server):
    return FalModelsClient(base_url=emulator_server.url, timeout=5, max_retries=0)


def test_lists_every_model_across_pages(http_client):
    ids = [m.endpoint_id for m in http_client.iter_models(ModelsQuery())]
    assert len(ids) == 1434 == len(set(ids))


def test_search_then_find_with_expansion(http_client):
    videos = http_client.list_models(q="kling", category="image-to-video", limit=7)
    assert videos and all(
        "kling" in (m.endpoint_id + m.metadata.display_name).lower()
        or "kling" in m.metadata.description.lower()
        for m in videos
    )
    wanted = [m.endpoint_id for m in videos][:12]
    found = http_client.find(wanted, expand=["openapi-3.0"])
    assert [m.endpoint_id for m in found] == wanted
    assert all(m.openapi is not None for m in found)


def test_errors_arrive_typed(http_client):
    with pytest.raises(FalBadRequestError) as raised:
        http_client.get_page(ModelsQuery(status="gone"))
    assert raised.value.type == "validation_error" and raised.value.request_id
    with pytest.raises(FalNotFoundError):
        http_client.get_page(ModelsQuery(endpoint_ids=("nope/nope",)))


# --- The dashboard in live mode: FAL_API_URL names the upstream, the sync fills the index ------

ROCKETS = [
    {"endpoint_id": "acme/rocket", "metadata": {"display_name": "Acme Rocket", "category": "llm"}},
    {
        "endpoint_id": "acme/rocket/turbo",
        "metadata": {"display_name": "Acme Rocket Turbo", "category": "text-to-image"},
    },
]


@pytest.fixture
def live(settings):
    """Live mode, unpaced: `live(url)` points FAL_API_URL at a loopback server."""
    settings.CATALOG_SYNC_MAX_RPS = 0
    settings.FAL_API_TIMEOUT = 5

    def point_at(url: str) -> None:
        settings.FAL_API_URL = url

    return point_at


@pytest.mark.django_db
def test_dashboard_shows_whatever_fal_api_url_points_at(live, member_client, no_internet):
    server = serve(Emulator(ROCKETS, {}))
    try:
        live(server.url)
        run = sync_catalog(trigger="test")
        body = member_client.get("/").content.decode()
    finally:
        server.shutdown()
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.source == server.url and run.models_seen == 2 and run.added == 2
    assert run.gone == 1434  # every snapshot model is missing from this catalog
    assert "Acme Rocket" in body and "Acme Rocket Turbo" in body
    assert "Nano Banana 2" not in body
    assert "<strong>2</strong> models" in body
    assert "Synced" in body and "Offline snapshot" not in body  # the live pill


@pytest.mark.django_db
def test_before_a_sync_the_grid_shows_the_index_not_the_new_url(live, member_client):
    with counting_emulator(emulator=Emulator(ROCKETS, {})) as (server, counter):
        live(server.url)
        body = member_client.get("/").content.decode()
        assert counter.count == 0  # the page read the index; only a sync asks the new URL
    assert "Acme Rocket" not in body and "Nano Banana 2" in body


@pytest.mark.django_db
def test_catalog_snapshot_records_what_the_api_serves(live, emulator_server, tmp_path):
    live(emulator_server.url)
    out = tmp_path / "snap.json.gz"
    call_command("catalog_snapshot", str(out), verbosity=0)
    with gzip.open(out) as f:
        models = json.load(f)["models"]
    with gzip.open(openapi_path_for(out)) as f:
        documents = json.load(f)
    assert len(models) == 1434
    # What fal's expansion sent: the 920 recorded documents (the other 514 failed), and not
    # one of the reconstructed documents, which are the app's own fallback.
    assert len(documents) == 920
    assert not any(reconstructed_source(d) for d in documents.values())
    # The recording serves the same catalog again, in the same order…
    replay = Emulator.from_snapshot(out, openapi_path_for(out))
    original = snapshot_emulator()
    for query in ([("limit", "3")], [("q", "kling"), ("limit", "5")]):
        status, _, body = replay.handle("GET", "/v1/models", query)
        assert status == 200
        _, _, expected = original.handle("GET", "/v1/models", query)
        ids = [m["endpoint_id"] for m in json.loads(body)["models"]]
        assert ids and ids == [m["endpoint_id"] for m in json.loads(expected)["models"]]
    # …and a sync from it finds the index it was recorded from: nothing added or gone.
    server = serve(replay)
    try:
        live(server.url)
        run = sync_catalog(trigger="test")
    finally:
        server.shutdown()
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert (run.models_seen, run.added, run.changed, run.gone) == (1434, 0, 0, 0)
    assert [m.endpoint_id for m in services.catalog_index().models] == [
        m["endpoint_id"] for m in models
    ]


# The grid typed into, letter by letter, filtered, sorted and paged, as htmx asks for it.
TYPING = [
    *(f"/?q={'kling'[:n]}" for n in range(1, 6)),
    "/?q=kling&category=image-to-video",
    "/?q=kling&category=image-to-video&sort=name",
    "/?q=klnig",  # a typo: "did you mean"
    "/?category=text-to-image&page=2",
    "/?q=flux+dev",
]


@pytest.mark.django_db
def test_typing_in_the_grid_costs_fal_no_call_after_a_sync(live, member_client):
    with counting_emulator() as (server, counter):
        live(server.url)
        run = sync_catalog(trigger="test")
        assert run.state == SyncRun.State.SUCCEEDED, run.error
        assert counter.count == run.upstream_calls > 0  # the sync was what asked
        counter.reset()
        bodies = []
        for path in TYPING:
            response = member_client.get(
                path, headers={"HX-Request": "true", "HX-Trigger-Name": "q"}
            )
            assert response.status_code == 200, path
            bodies.append(response.content.decode())
        assert counter.count == 0, counter.calls
    assert "Kling" in bodies[4] and "FLUX.1 [dev]" in bodies[-1]
