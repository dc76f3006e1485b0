"""Shortlist limits: private exports, bounded descriptions and notes (one rule, said one way),
and a double-clicked "Create" that makes one list."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
from django.core.cache import cache
from django.test import Client

from catalog import shortlists
from catalog.models import Shortlist
from catalog.shortlists import MAX_NOTE_LENGTH
from tests.catalog.test_shortlist_admin import ADD_URL, admin_form
from tests.catalog.test_shortlists import FLUX, HTMX, curator_client, product_shots  # noqa: F401

pytestmark = pytest.mark.django_db
TOO_LONG = "x" * 2001


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_exports_are_private_to_the_browser(member_client, product_shots, fmt):  # noqa: F811
    response = member_client.get(f"/shortlists/product-shots/export.{fmt}")
    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"private", "no-cache"} <= directives


def test_a_description_of_2000_characters_is_taken_and_2001_refused(curator_client):  # noqa: F811
    ok = curator_client.post("/shortlists/", {"title": "Fine", "description": "x" * 2000})
    assert ok.status_code == 302
    refused = curator_client.post("/shortlists/", {"title": "Long", "description": TOO_LONG})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "Keep the description to at most 2,000 characters (it has 2,001)." in html
    assert not Shortlist.objects.filter(title="Long").exists()


def test_the_admin_refuses_a_long_description_too(client, admin_user):
    client.force_login(admin_user)
    response = client.post(ADD_URL, admin_form([], description=TOO_LONG))
    assert response.status_code == 200
    assert "Keep the description to at most 2,000 characters" in response.content.decode()
    assert not Shortlist.objects.exists()


def test_a_quick_repeat_of_create_opens_the_same_list(curator_client):  # noqa: F811
    first = curator_client.post("/shortlists/", {"title": "Lip sync", "description": ""})
    second = curator_client.post("/shortlists/", {"title": "Lip sync", "description": ""})
    assert first["Location"] == second["Location"] == "/shortlists/lip-sync/"
    assert Shortlist.objects.filter(title="Lip sync").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_create_makes_one_list(curator):
    clients = [Client(), Client()]
    for client in clients:  # signed in first: only the two posts run at once
        client.force_login(curator)
    start = threading.Barrier(2)
    locations = []

    def create(client):
        start.wait()
        try:
            locations.append(client.post("/shortlists/", {"title": "Twice"})["Location"])
        except Exception as error:  # noqa: BLE001 - shown by the assertion below
            locations.append(repr(error))

    threads = [threading.Thread(target=create, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert locations == ["/shortlists/twice/"] * 2
    assert Shortlist.objects.filter(title="Twice").count() == 1


def test_a_later_list_with_the_same_title_is_a_new_list(curator_client):  # noqa: F811
    curator_client.post("/shortlists/", {"title": "Again"})
    cache.clear()  # the marker lives REPEAT_CREATE_SECONDS; drop it as time would
    second = curator_client.post("/shortlists/", {"title": "Again"})
    assert second["Location"] == "/shortlists/again-2/"


@pytest.mark.parametrize("action", ["add", "note"])
def test_a_note_over_the_limit_is_refused_the_same_way_when_added_or_edited(
    curator_client,  # noqa: F811
    product_shots,  # noqa: F811
    action,
):
    endpoint_id = FLUX if action == "note" else "fal-ai/flux/dev"
    response = curator_client.post(
        f"/shortlists/product-shots/{action}/",
        {"endpoint_id": endpoint_id, "note": "x" * (MAX_NOTE_LENGTH + 1)},
        headers=HTMX,
    )
    assert "Keep the note to at most 2,000 characters (it has 2,001)." in response.content.decode()
    assert all(len(e.note) <= MAX_NOTE_LENGTH for e in product_shots.entries.all())
    assert not product_shots.entries.filter(note__startswith="xxxx").exists()


@pytest.mark.parametrize("action", ["add", "note"])
def test_a_note_of_exactly_the_limit_is_kept_whole(curator_client, product_shots, action):  # noqa: F811
    endpoint_id = FLUX if action == "note" else "fal-ai/flux/dev"
    curator_client.post(
        f"/shortlists/product-shots/{action}/",
        {"endpoint_id": endpoint_id, "note": "y" * MAX_NOTE_LENGTH},
        headers=HTMX,
    )
    assert product_shots.entries.get(endpoint_id=endpoint_id).note == "y" * MAX_NOTE_LENGTH


def marker_key(user, title: str) -> str:
    """The cache marker of a create in progress (catalog.shortlists.shortlist_create)."""
    return f"shortlist-create:v1:{user.pk}:" + hashlib.sha256(title.encode()).hexdigest()


def later(seconds: float, action) -> threading.Thread:
    thread = threading.Timer(seconds, action)
    thread.start()
    return thread


def test_a_create_waits_for_the_one_in_progress_and_opens_its_list(curator_client, curator):  # noqa: F811
    made = Shortlist.objects.create(title="Lip sync", slug="lip-sync", curator=curator)
    key = marker_key(curator, "Lip sync")
    cache.set(key, "")  # another post is making the list right now
    done = later(0.2, lambda: cache.set(key, made.slug))
    response = curator_client.post("/shortlists/", {"title": "Lip sync"})
    done.join()
    assert response["Location"] == "/shortlists/lip-sync/"
    assert Shortlist.objects.count() == 1


def test_a_create_whose_marker_expires_while_it_waits_makes_the_list(curator_client, curator):  # noqa: F811
    key = marker_key(curator, "Lip sync")
    cache.set(key, "")  # a post that never finished (its worker died)
    done = later(0.2, lambda: cache.delete(key))
    response = curator_client.post("/shortlists/", {"title": "Lip sync"})
    done.join()
    assert response["Location"] == "/shortlists/lip-sync/"
    assert Shortlist.objects.get().title == "Lip sync"


def test_a_repeat_of_a_create_whose_list_was_deleted_makes_it_again(curator_client, curator):  # noqa: F811
    cache.set(marker_key(curator, "Lip sync"), "lip-sync")  # made, then deleted, just now
    response = curator_client.post("/shortlists/", {"title": "Lip sync"})
    assert response["Location"] == "/shortlists/lip-sync/"
    assert Shortlist.objects.get().title == "Lip sync"


def test_while_a_create_runs_its_marker_names_no_list_yet(curator_client, curator, monkeypatch):  # noqa: F811
    seen = []
    unique_slug = shortlists._unique_slug

    def watched(title):
        seen.append(cache.get(marker_key(curator, "Lip sync")))
        return unique_slug(title)

    monkeypatch.setattr(shortlists, "_unique_slug", watched)
    curator_client.post("/shortlists/", {"title": "Lip sync"})
    assert seen == [""]  # a second post waits on "" and would open a list named by anything else


def test_the_same_title_makes_a_new_list_once_the_repeat_window_is_over(
    curator_client,  # noqa: F811
    monkeypatch,
):
    first = curator_client.post("/shortlists/", {"title": "Lip sync"})
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + shortlists.REPEAT_CREATE_SECONDS + 1)
    second = curator_client.post("/shortlists/", {"title": "Lip sync"})
    assert first["Location"] == "/shortlists/lip-sync/"
    assert second["Location"] == "/shortlists/lip-sync-2/"  # two lists may share a title
