"""The client and the dashboard against the emulator served over real HTTP on loopback."""

from __future__ import annotations

import gzip
import json

import pytest
from django.core.management import call_command

from catalog import services
from catalog.management.commands.catalog_snapshot import openapi_path_for
from fal.client import FalModelsClient
from fal.emulator import Emulator, serve, snapshot_emulator
from fal.errors import FalBadRequestError, FalNotFoundError
from fal.types import ModelsQuery


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


@pytest.mark.django_db
def test_dashboard_shows_whatever_fal_api_url_points_at(settings, member_client, no_internet):
    other = Emulator(
        [
            {
                "endpoint_id": "acme/rocket",
                "metadata": {"display_name": "Acme Rocket", "category": "llm"},
            }
        ],
        {},
    )
    server = serve(other)
    try:
        settings.FAL_API_URL = server.url
        body = member_client.get("/").content.decode()
    finally:
        server.shutdown()
    assert "Acme Rocket" in body and "Nano Banana 2" not in body
    assert "Live · fal API" in body


def test_catalog_snapshot_records_what_the_api_serves(settings, emulator_server, tmp_path):
    settings.FAL_API_URL = emulator_server.url
    out = tmp_path / "snap.json.gz"
    call_command("catalog_snapshot", str(out), verbosity=0)
    with gzip.open(out) as f:
        models = json.load(f)["models"]
    with gzip.open(openapi_path_for(out)) as f:
        documents = json.load(f)
    assert len(models) == 1434
    assert len(documents) == 920
    # The recording serves the same catalog again.
    replay = Emulator.from_snapshot(out, openapi_path_for(out))
    status, _, body = replay.handle("GET", "/v1/models", [("limit", "3")])
    assert status == 200
    assert [m["endpoint_id"] for m in json.loads(body)["models"]] == [
        m.endpoint_id for m in services.catalog_search().models[:3]
    ]
