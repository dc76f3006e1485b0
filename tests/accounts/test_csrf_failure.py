"""A stale CSRF token (signed out and in again in another tab) says "reload the page", in
the site's look, to htmx and to plain posts alike, with DEBUG on or off."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

MESSAGE = "Your session changed since this page was loaded. Reload the page and try again."


@pytest.fixture
def stale_client(curator):
    """A signed-in curator whose page holds a token the session no longer matches."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(curator)
    client.cookies["csrftoken"] = "x" * 32
    return client


@pytest.mark.parametrize("debug", [False, True])
def test_an_htmx_post_with_a_stale_token_says_to_reload(stale_client, settings, debug):
    settings.DEBUG = debug
    response = stale_client.post(
        "/shortlists/",
        {"title": "Lost", "csrfmiddlewaretoken": "y" * 32},
        headers={"HX-Request": "true", "Referer": "http://testserver/?q=flux"},
    )
    assert response.status_code == 403
    assert response["X-Session-Changed"] == "1"  # app.js shows "reload", not "try again"
    html = response.content.decode()
    assert MESSAGE in html and "CSRF verification failed" not in html
    assert 'href="http://testserver/?q=flux"' in html


def test_a_plain_post_gets_the_sites_page_with_a_way_back(stale_client):
    response = stale_client.post("/shortlists/", {"title": "Lost"})
    html = response.content.decode()
    assert response.status_code == 403 and "This page is out of date" in html
    assert '<a class="button button-primary" href="/">Reload the page</a>' in html
    assert 'class="site-header' in html or "<header" in html  # the site's page, not Django's


def test_a_foreign_referer_is_not_offered_as_the_way_back(stale_client):
    response = stale_client.post(
        "/shortlists/", {"title": "Lost"}, headers={"Referer": "https://evil.example/x"}
    )
    assert "evil.example" not in response.content.decode()
