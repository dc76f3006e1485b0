"""403 and 404 pages in the site's layout, and a 403 logged as one line, without a traceback."""

from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.django_db


def test_a_403_is_the_sites_page_with_the_reason_and_a_way_back(member_client):
    response = member_client.post("/shortlists/", {"title": "Mine"})
    html = response.content.decode()
    assert response.status_code == 403
    assert '<header class="topbar">' in html
    assert "You need the catalog.add_shortlist permission (curators have it)." in html
    assert 'href="/"' in html


def test_a_403_is_logged_as_one_line(member_client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        member_client.post("/shortlists/", {"title": "Mine"})
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /shortlists/"
    assert record.exc_info is None and not record.exc_text


@pytest.mark.parametrize("path", ["/no/such/page/", "/shortlists/no-such-list/"])
def test_a_404_is_the_sites_page_with_a_way_back(member_client, path):
    response = member_client.get(path)
    html = response.content.decode()
    assert response.status_code == 404
    assert '<header class="topbar">' in html
    assert "No such page" in html and f"<code>{path}</code>" in html
    assert 'href="/"' in html
