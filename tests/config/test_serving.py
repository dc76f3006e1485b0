"""Serving: conditional GET (304s despite CSRF masking), Vary and Cache-Control, static files
with hashed names, and the staff-only "Refresh catalog" action that enqueues a sync."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from catalog.tasks import sync_catalog_now

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


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


def sign_in(client: Client, username: str, password: str) -> None:
    """The sign-in form, as a browser fills it (with its CSRF token)."""
    form = client.get("/accounts/login/")
    token = csrf_tokens(form.content.decode())[0]
    response = client.post(
        "/accounts/login/",
        {"username": username, "password": password, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302, response.status_code


@pytest.mark.parametrize("path", ["/", "/shortlists/", "/models/fal-ai/flux/schnell/"])
def test_signing_in_again_as_the_same_user_never_keeps_a_page_with_old_tokens(path, curator):
    """Signing in rotates the CSRF secret: a 304 then would leave the browser a page whose
    tokens are refused, and the next POST would be a 403. The page is the same user's, so
    only the secret can tell the two visits apart."""
    from catalog.models import Shortlist

    Shortlist.objects.create(title="Drafts", slug="drafts", curator=curator)
    client = Client(enforce_csrf_checks=True)
    sign_in(client, "cora", "curator-pass-1234")
    first = client.get(path)
    old_token = csrf_tokens(first.content.decode())[0]
    assert client.get(path, headers={"If-None-Match": first["ETag"]}).status_code == 304

    assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": old_token}).status_code == 302
    sign_in(client, "cora", "curator-pass-1234")
    again = client.get(path, headers={"If-None-Match": first["ETag"]})
    # The old page's tokens are refused now, so the page must be sent again.
    refused = client.post("/shortlists/drafts/add/", {"endpoint_id": "fal-ai/flux/schnell"})
    assert refused.status_code == 403
    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    # The new page is a 304 from now on (until a change below alters it).
    assert client.get(path, headers={"If-None-Match": again["ETag"]}).status_code == 304
    new_token = csrf_tokens(again.content.decode())[0]
    saved = client.post(
        "/shortlists/drafts/add/",
        {"endpoint_id": "fal-ai/flux/schnell", "csrfmiddlewaretoken": new_token},
    )
    assert saved.status_code == 302
    assert Shortlist.objects.get(slug="drafts").entries.get().endpoint_id == "fal-ai/flux/schnell"


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


# --- Refresh catalog: enqueue a sync, then its status page ---------------------------------------

REFRESH = "/catalog/sync/request/"


def queued() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=sync_catalog_now.module_path))


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_the_refresh_route_is_named_sync_request():
    assert reverse("catalog:sync_request") == REFRESH
    assert reverse("catalog:sync") == "/catalog/sync/"


def test_staff_see_the_refresh_button_and_members_do_not(member_client, staff_client):
    member_html = member_client.get("/").content.decode()
    assert "Refresh catalog" not in member_html and REFRESH not in member_html
    html = staff_client.get("/").content.decode()
    assert "Refresh catalog" in html
    assert f'<form method="post" action="{REFRESH}">' in html


def test_refresh_enqueues_a_sync_and_shows_its_status(
    staff_client, count_upstream, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(REFRESH)
    assert response.status_code == 302 and response["Location"] == "/catalog/sync/"
    (task,) = queued()
    assert task.status == TaskResultStatus.READY
    assert task.args_kwargs == {"args": [], "kwargs": {"trigger": "staff: sam"}}
    assert count_upstream == []  # the request only enqueues: the worker asks fal
    page = staff_client.get("/catalog/sync/").content.decode()
    assert "Sync enqueued: the catalog is being fetched from fal." in page
    assert '<h1 id="sync-title">Catalog sync</h1>' in page
    assert '<tr class="sync-succeeded">' in page  # the session's sync, in the recent runs


def test_a_second_refresh_while_one_waits_enqueues_nothing(
    staff_client, django_capture_on_commit_callbacks
):
    for _ in range(2):  # each request commits (and so enqueues) before the next
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(REFRESH, follow=True)
    assert len(queued()) == 1
    assert "A sync is already running or waiting." in response.content.decode()


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""]
)
def test_refresh_only_redirects_to_the_sync_page(staff_client, next_url):
    response = staff_client.post(REFRESH, {"next": next_url})
    assert response.status_code == 302 and response["Location"] == "/catalog/sync/"


def test_refresh_is_forbidden_to_members(member_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(REFRESH)
    assert response.status_code == 403
    assert queued() == []


def test_the_sync_page_is_for_staff_only(member_client, client, staff_client):
    assert member_client.get("/catalog/sync/").status_code == 403
    assert member_client.get("/catalog/sync/", headers={"HX-Request": "true"}).status_code == 403
    fragment = staff_client.get("/catalog/sync/", headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in html and 'id="sync-runs"' in html


def test_the_sync_page_asks_anonymous_visitors_to_sign_in():
    response = Client().get("/catalog/sync/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_refresh_needs_a_post_with_a_csrf_token(staff, django_capture_on_commit_callbacks):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.get(REFRESH).status_code == 405
    assert strict.post(REFRESH).status_code == 403
    assert queued() == []
    token = csrf_tokens(strict.get("/").content.decode())[0]
    with django_capture_on_commit_callbacks(execute=True):
        accepted = strict.post(REFRESH, {"csrfmiddlewaretoken": token})
    assert accepted.status_code == 302 and len(queued()) == 1


def test_refresh_asks_anonymous_visitors_to_sign_in(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REFRESH)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert queued() == []
