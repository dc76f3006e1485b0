"""An expired session under htmx: the sign-in page loads as a page (HX-Redirect), not
swapped into the results area; plain requests still get the 302."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.django_db

PAGE = "http://testserver/?q=flux&category=text-to-image"
FRAGMENTS = [
    "/?q=flux&category=text-to-image",  # the grid's results
    "/compare/?endpoint_id=fal-ai/flux/dev&endpoint_id=fal-ai/flux/schnell",
    "/schema/fal-ai/flux/dev/",
]


def next_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == "/accounts/login/"
    return parse_qs(parts.query)["next"][0]


@pytest.mark.parametrize("path", FRAGMENTS)
def test_an_htmx_request_without_a_session_is_sent_to_sign_in_as_a_page(client, path):
    response = client.get(path, headers={"HX-Request": "true", "HX-Current-URL": PAGE})
    assert response.status_code in (200, 204)
    assert not response.content.strip(), "nothing to swap into the page"
    assert next_of(response["HX-Redirect"]) == "/?q=flux&category=text-to-image"


def test_a_filter_clicked_on_the_page_returns_to_what_the_click_asked_for(client):
    clicked = "/?q=flux&category=text-to-image&license=commercial"
    response = client.get(clicked, headers={"HX-Request": "true", "HX-Current-URL": PAGE})
    assert next_of(response["HX-Redirect"]) == clicked


def test_a_fragment_of_another_path_returns_to_the_page_it_opened_on(client):
    """A menu or a schema tab is no page to land on after sign-in: the page it was on is."""
    response = client.get(
        "/shortlist-menu/?endpoint_id=fal-ai/flux/dev",
        headers={"HX-Request": "true", "HX-Current-URL": PAGE},
    )
    assert next_of(response["HX-Redirect"]) == "/?q=flux&category=text-to-image"


def test_next_is_the_request_when_the_current_url_is_not_this_site(client):
    path = "/schema/fal-ai/flux/dev/"
    for current in ("https://evil.example/?q=x", "javascript:alert(1)", "//evil.example/", ""):
        response = client.get(path, headers={"HX-Request": "true", "HX-Current-URL": current})
        assert next_of(response["HX-Redirect"]) == path, current


@pytest.mark.parametrize("path", FRAGMENTS)
def test_a_plain_request_without_a_session_is_still_a_302(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "HX-Redirect" not in response
    assert next_of(response["Location"]) == path


def test_a_signed_in_htmx_request_gets_its_fragment(member_client):
    response = member_client.get(FRAGMENTS[0], headers={"HX-Request": "true"})
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert b'id="results"' in response.content
