"""catalog.services on the offline snapshot: the in-process emulator, the page cache, staleness."""

from __future__ import annotations

import pytest
import requests

from catalog import services
from fal.emulator import SNAPSHOT_DIR
from fal.errors import FalServerError
from fal.types import ModelsQuery

SNAPSHOT = SNAPSHOT_DIR


def test_offline_by_default_serves_the_whole_snapshot_in_order(snapshot_ids):
    result = services.catalog_search()
    assert services.data_source().live is False
    assert [m.endpoint_id for m in result.models] == snapshot_ids
    assert not result.stale


def test_search_uses_fal_semantics(snapshot_ids):
    result = services.catalog_search(category="image-to-video")
    assert result.models
    assert {m.metadata.category for m in result.models} == {"image-to-video"}


def test_pages_are_cached_by_query_and_cursor(count_upstream):
    services.catalog_search(category="llm")
    first = len(count_upstream)
    services.catalog_search(category="llm")
    assert first >= 1 and len(count_upstream) == first
    services.catalog_search(category="vision")
    assert len(count_upstream) > first


def test_refresh_drops_every_cached_page(count_upstream):
    services.catalog_search(category="llm")
    services.catalog_refresh()
    services.catalog_search(category="llm")
    assert len(count_upstream) == 2


def test_find_keeps_the_order_asked_and_leaves_out_unknown_ids(snapshot_ids):
    wanted = [snapshot_ids[5], "nope/unknown", snapshot_ids[1], snapshot_ids[5]]
    result = services.catalog_find(wanted)
    assert [m.endpoint_id for m in result.models] == [snapshot_ids[5], snapshot_ids[1]]


def test_find_of_120_ids_with_openapi_expansion(snapshot_ids):
    wanted = snapshot_ids[:120]
    result = services.catalog_find(wanted, expand=["openapi-3.0"])
    assert [m.endpoint_id for m in result.models] == wanted
    assert all(m.openapi is not None for m in result.models)


def test_cache_key_names_base_url_query_and_cursor(settings):
    query = ModelsQuery(q="flux")
    offline = services.page_cache_key(query, None)
    assert offline.startswith(f"catalog:v{services.CACHE_VERSION}:page:g")
    assert services.page_cache_key(query, "Mg") != offline
    assert services.page_cache_key(ModelsQuery(q="flu"), None) != offline
    settings.FAL_API_URL = "https://api.fal.test/v1"
    assert services.page_cache_key(query, None) != offline


def test_stale_data_is_served_when_the_api_fails(settings, no_internet):
    settings.FAL_API_URL = "https://api.fal.test/v1"
    settings.FAL_API_MAX_RETRIES = 0
    body = {"models": [{"endpoint_id": "a/b"}], "next_cursor": None, "has_more": False}
    no_internet.get("https://api.fal.test/v1/models", json=body)
    assert [m.endpoint_id for m in services.catalog_search().models] == ["a/b"]
    services.catalog_refresh()
    no_internet.replace(
        "GET",
        "https://api.fal.test/v1/models",
        status=500,
        json={"error": {"type": "server_error", "message": "down"}},
    )
    result = services.catalog_search()
    assert [m.endpoint_id for m in result.models] == ["a/b"]
    assert result.stale and isinstance(result.error, FalServerError)


def test_without_stale_data_the_error_is_raised(settings, no_internet):
    settings.FAL_API_URL = "https://api.fal.test/v1"
    settings.FAL_API_MAX_RETRIES = 0
    no_internet.get("https://api.fal.test/v1/models", status=500, json={})
    with pytest.raises(FalServerError):
        services.catalog_search()


def test_live_mode_sends_the_key(settings, no_internet):
    settings.FAL_API_URL = "https://api.fal.test/v1"
    settings.FAL_KEY = "team-key-1"
    no_internet.get("https://api.fal.test/v1/models", json={"models": [], "has_more": False})
    services.catalog_search()
    assert no_internet.calls[0].request.headers["Authorization"] == "Key team-key-1"


def test_offline_mode_never_sends_a_key(settings, count_upstream, monkeypatch):
    settings.FAL_KEY = "team-key-1"
    seen = []
    original = requests.Session.send
    monkeypatch.setattr(
        requests.Session,
        "send",
        lambda self, request, **kw: seen.append(request.headers) or original(self, request, **kw),
    )
    services.catalog_search(category="llm")
    assert seen and all("Authorization" not in h for h in seen)
