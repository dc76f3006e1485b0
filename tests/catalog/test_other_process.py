"""A sync in another process is seen by this one: the index this process holds in memory
(and everything derived from it, such as grid results) is replaced when the database's
index version changes, and kept while it does not.

The other process is `manage.py catalog_sync` on a shared SQLite file, syncing from an
emulator over HTTP; this process reads the same file through its own connection, with
the real views.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client

from bench.harness import make_site
from catalog import index as index_module
from catalog.index import catalog_index
from fal_emulator import Emulator, load_snapshot
from fal_emulator.testing import counting_emulator

SIZE = 40
ADDED = {
    "endpoint_id": "acme/rocket",
    "metadata": {"display_name": "Acme Rocket", "category": "llm", "status": "active"},
}
COUNT = re.compile(r'id="result-count"[^>]*><strong>(\d+)</strong> model')


def small_catalog(extra: list[dict] = ()) -> Emulator:
    models, documents = load_snapshot()
    models = models[:SIZE]
    ids = {m["endpoint_id"] for m in models}
    return Emulator([*extra, *models], {i: d for i, d in documents.items() if i in ids})


@pytest.fixture
def shared_file(tmp_path, django_db_blocker):
    """A site's SQLite file, opened by this process as its default database."""
    site = make_site(tmp_path / "site", fal_api_url="http://127.0.0.1:9/", collectstatic=False)
    old = connections["default"]
    wrapper = old.__class__(
        {**old.settings_dict, "NAME": str(tmp_path / "site" / "db.sqlite3")}, alias="default"
    )
    with django_db_blocker.unblock():
        connections["default"] = wrapper
        try:
            yield site
        finally:
            wrapper.close()
            connections["default"] = old
            index_module._current = None  # held rows of the other file


def grid_count(client: Client, path: str = "/") -> int:
    response = client.get(path)
    assert response.status_code == 200
    return int(COUNT.search(response.content.decode()).group(1))


def test_this_process_sees_a_sync_made_by_another(shared_file):
    site = shared_file
    client = Client()  # not the `db` fixture: its transaction would hide this process's writes
    client.force_login(get_user_model().objects.create_user("reader", password="reader-1234"))
    with counting_emulator(emulator=small_catalog()) as (server, upstream):
        site.manage("catalog_sync", "--quiet", FAL_API_URL=server.url)
        before = catalog_index()
        assert len(before.models) == SIZE
        assert catalog_index() is before  # no change: no reload
        assert grid_count(client) == SIZE
        assert grid_count(client, "/?q=rocket") == 0
        assert before.search("rocket") == []

        upstream.app = small_catalog([ADDED])
        site.manage("catalog_sync", "--quiet", FAL_API_URL=server.url)
    after = catalog_index()
    assert after is not before and after.version != before.version
    assert len(after.models) == SIZE + 1 and after.get("acme/rocket") is not None
    # The pages, and the grid results memoised on the index, follow at once.
    assert grid_count(client) == SIZE + 1
    assert grid_count(client, "/?q=rocket") == 1
    page = client.get("/?q=rocket").content.decode()
    assert 'data-endpoint-id="acme/rocket"' in page and "Acme Rocket" in page
    assert client.get("/models/acme/rocket/").status_code == 200
    assert catalog_index() is after
