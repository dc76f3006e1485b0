"""Serving: conditional GET (304s despite CSRF masking), Vary and Cache-Control, static files
with hashed names, and the staff-only "refresh catalog" action."""

from __future__ import annotations

import json
import re

import pytest
import requests
from django.core.management import call_command
from django.test import Client

from catalog import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def upstream(monkeypatch):
    calls: list[str] = []
    original = requests.Session.send
    monkeypatch.setattr(
        requests.Session,
        "send",
        lambda self, request, **kw: calls.append(request.url) or original(self, request, **kw),
    )
    return calls


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        username="sam", password="staff-pass-1234", is_staff=True
    )


def csrf_tokens(html: str) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"', html) + re.findall(
        r'"X-CSRFToken": "([A-Za-z0-9]+)"', html
    )


# --- Conditional GET -----------------------------------------------------------------------------


def test_a_repeat_visit_to_the_grid_is_a_304(member_client):
    first = member_client.get("/")
    assert first.status_code == 200 and first["ETag"]
    assert csrf_tokens(first.content.decode()), "the page carries CSRF tokens"
    second = member_client.get("/")
    # Fresh masks on every render, same ETag all the same.
    assert csrf_tokens(second.content.decode()) != csrf_tokens(first.content.decode())
    assert second["ETag"] == first["ETag"]
    again = member_client.get("/", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_a_304_also_works_for_gzipped_pages_and_htmx_fragments(member_client):
    headers = {"Accept-Encoding": "gzip", "HX-Request": "true"}
    first = member_client.get("/?category=llm", headers=headers)
    assert first["Content-Encoding"] == "gzip" and first["ETag"].startswith('W/"')
    again = member_client.get("/?category=llm", headers={**headers, "If-None-Match": first["ETag"]})
    assert again.status_code == 304


def test_a_changed_page_is_sent_again(member_client):
    etag = member_client.get("/")["ETag"]
    changed = member_client.get("/?category=llm", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_another_user_never_gets_a_304_for_my_page(member_client, staff):
    etag = member_client.get("/")["ETag"]
    other = Client()
    other.force_login(staff)
    assert other.get("/", headers={"If-None-Match": etag}).status_code == 200


def test_tokens_of_a_page_kept_through_a_304_are_still_accepted(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    first = client.get("/")
    kept_token = csrf_tokens(first.content.decode())[0]
    assert client.get("/", headers={"If-None-Match": first["ETag"]}).status_code == 304
    signed_out = client.post("/accounts/logout/", {"csrfmiddlewaretoken": kept_token})
    assert signed_out.status_code == 302


def test_pages_vary_on_cookie_and_htmx_and_are_revalidated(member_client):
    for headers in ({}, {"HX-Request": "true"}):
        response = member_client.get("/", headers=headers)
        vary = {v.strip().lower() for v in response["Vary"].split(",")}
        assert {"cookie", "hx-request"} <= vary
        assert set(response["Cache-Control"].split(", ")) == {"private", "no-cache"}


# --- Static files ------------------------------------------------------------------------------


def test_collectstatic_writes_hashed_and_compressed_files(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", "--verbosity", "0")
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    hashed = manifest["catalog/app.css"]
    assert re.fullmatch(r"catalog/app\.[0-9a-f]{12}\.css", hashed)
    assert (tmp_path / "static" / f"{hashed}.gz").exists()


# --- Refresh catalog -----------------------------------------------------------------------------


def test_staff_see_the_refresh_button_and_members_do_not(member_client, staff):
    assert "Refresh catalog" not in member_client.get("/").content.decode()
    client = Client()
    client.force_login(staff)
    assert "Refresh catalog" in client.get("/").content.decode()


def test_refresh_drops_the_cache_and_goes_back(staff, upstream):
    client = Client()
    client.force_login(staff)
    services.catalog_search(category="llm")
    calls = len(upstream)
    response = client.post("/catalog/refresh/", {"next": "/?category=llm"})
    assert response.status_code == 302 and response["Location"] == "/?category=llm"
    services.catalog_search(category="llm")
    assert len(upstream) == 2 * calls
    assert "Catalog cache dropped" in client.get("/").content.decode()


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""]
)
def test_refresh_only_redirects_to_this_site(staff, next_url):
    client = Client()
    client.force_login(staff)
    response = client.post("/catalog/refresh/", {"next": next_url})
    assert response.status_code == 302 and response["Location"] == "/"


def test_refresh_is_forbidden_to_members(member_client, upstream):
    services.catalog_search(category="llm")
    calls = len(upstream)
    assert member_client.post("/catalog/refresh/").status_code == 403
    services.catalog_search(category="llm")
    assert len(upstream) == calls


def test_refresh_needs_a_post_with_a_csrf_token(staff, client):
    client.force_login(staff)
    assert client.get("/catalog/refresh/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post("/catalog/refresh/").status_code == 403


def test_refresh_asks_anonymous_visitors_to_sign_in(client):
    response = client.post("/catalog/refresh/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
