"""Shortlists in the Django admin: inline entries, ids checked against fal, constraints, history."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from catalog.models import Shortlist, ShortlistEntry

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

FLUX = "fal-ai/flux/schnell"
BANANA = "fal-ai/nano-banana-2/edit"
ADD_URL = "/admin/catalog/shortlist/add/"


@pytest.fixture
def curator_client(client, curator):
    """The curator, made staff: the admin is only for staff."""
    curator.is_staff = True
    curator.save(update_fields=["is_staff"])
    client.force_login(curator)
    return client


def admin_form(entries: list[dict], *, initial: int = 0, **shortlist) -> dict:
    """POST data for the shortlist change form with its inline entries."""
    data = {
        "title": "Product shots",
        "slug": "product-shots",
        "description": "Clean studio images of products.",
        "curator": "",
        "entries-TOTAL_FORMS": str(len(entries)),
        "entries-INITIAL_FORMS": str(initial),
        "entries-MIN_NUM_FORMS": "0",
        "entries-MAX_NUM_FORMS": "1000",
        **shortlist,
    }
    for i, entry in enumerate(entries):
        for key, value in entry.items():
            data[f"entries-{i}-{key}"] = value
    return data


def test_curator_creates_a_shortlist_with_entries_in_the_admin(curator_client, curator):
    response = curator_client.post(
        ADD_URL,
        admin_form(
            [
                {"position": "", "endpoint_id": FLUX, "note": "Fast drafts"},
                {"position": "", "endpoint_id": BANANA, "note": "Edits"},
            ]
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    shortlist = Shortlist.objects.get(slug="product-shots")
    assert shortlist.curator == curator
    entries = list(shortlist.entries.all())
    assert [(e.endpoint_id, e.position, e.note) for e in entries] == [
        (FLUX, 1, "Fast drafts"),
        (BANANA, 2, "Edits"),
    ]
    assert {e.added_by for e in entries} == {curator}


def test_unknown_endpoint_id_is_a_form_error_naming_it_and_nothing_is_saved(curator_client):
    response = curator_client.post(
        ADD_URL,
        admin_form(
            [
                {"position": "1", "endpoint_id": FLUX, "note": ""},
                {"position": "2", "endpoint_id": "fal-ai/no-such-model", "note": ""},
            ]
        ),
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert (
        "Unknown endpoint id “fal-ai/no-such-model”: fal&#x27;s catalog has no such model." in body
    )
    assert not Shortlist.objects.exists() and not ShortlistEntry.objects.exists()


@pytest.mark.parametrize("endpoint_id", ["not an id", "fal-ai/../admin", "fal-ai/./flux"])
def test_malformed_endpoint_id_is_rejected_before_asking_fal(curator_client, endpoint_id):
    response = curator_client.post(
        ADD_URL, admin_form([{"position": "1", "endpoint_id": endpoint_id, "note": ""}])
    )
    assert response.status_code == 200
    assert "Enter a fal endpoint id such as fal-ai/flux/dev" in response.content.decode()
    assert not Shortlist.objects.exists()


def test_when_fal_down_ids_the_index_lacks_could_not_be_checked_and_nothing_is_saved(
    curator_client, fal_down
):
    entries = [
        {"position": "1", "endpoint_id": FLUX, "note": ""},
        {"position": "2", "endpoint_id": "acme/not-in-the-index", "note": ""},
    ]
    response = curator_client.post(ADD_URL, admin_form(entries))
    assert response.status_code == 200
    body = response.content.decode()
    assert "The endpoint ids could not be checked because fal&#x27;s API failed" in body
    assert "Nothing was saved" in body
    assert not Shortlist.objects.exists() and not ShortlistEntry.objects.exists()
    asked = [call.request.url for call in fal_down.calls]
    assert len(asked) == 1 and "endpoint_id=acme%2Fnot-in-the-index" in asked[0]


def test_ids_the_index_has_are_saved_without_asking_fal_even_when_it_fails(
    curator_client, fal_down
):
    response = curator_client.post(
        ADD_URL, admin_form([{"position": "1", "endpoint_id": FLUX, "note": ""}])
    )
    assert response.status_code == 302
    assert list(ShortlistEntry.objects.values_list("endpoint_id", flat=True)) == [FLUX]
    assert [c.request.url for c in fal_down.calls] == []
    listing = curator_client.get("/admin/catalog/shortlist/").content.decode()
    assert "Product shots" in listing


def test_same_endpoint_twice_in_the_form_is_an_error(curator_client):
    response = curator_client.post(
        ADD_URL,
        admin_form(
            [
                {"position": "1", "endpoint_id": FLUX, "note": ""},
                {"position": "2", "endpoint_id": FLUX, "note": ""},
            ]
        ),
    )
    assert response.status_code == 200
    assert "Please correct the duplicate data for endpoint_id" in response.content.decode()
    assert not Shortlist.objects.exists()


def test_editing_records_who_changed_what_in_the_admin_history(curator_client, curator):
    curator_client.post(
        ADD_URL, admin_form([{"position": "1", "endpoint_id": FLUX, "note": "Fast"}])
    )
    shortlist = Shortlist.objects.get()
    entry = shortlist.entries.get()
    response = curator_client.post(
        f"/admin/catalog/shortlist/{shortlist.pk}/change/",
        admin_form(
            [
                {"id": str(entry.pk), "shortlist": str(shortlist.pk), "position": "1",
                 "endpoint_id": FLUX, "note": "Fast drafts only"},
                {"position": "", "endpoint_id": BANANA, "note": "Edits"},
            ],
            initial=1,
            curator=str(curator.pk),
        ),
    )  # fmt: skip
    assert response.status_code == 302
    history = LogEntry.objects.filter(object_id=str(shortlist.pk)).order_by("action_time")
    assert [h.user for h in history] == [curator, curator]
    assert history.last().get_change_message() == (
        f"Added shortlist entry “{BANANA}”. Changed Note for shortlist entry “{FLUX}”."
    )
    assert shortlist.entries.get(endpoint_id=FLUX).note == "Fast drafts only"


def test_unchanged_entries_are_not_rechecked(curator_client, curator):
    """A model that left fal's catalog must not block editing the rest of the list."""
    shortlist = Shortlist.objects.create(title="Old", slug="old", curator=curator)
    gone = shortlist.entries.create(endpoint_id="fal-ai/retired-model", position=1)
    response = curator_client.post(
        f"/admin/catalog/shortlist/{shortlist.pk}/change/",
        admin_form(
            [{"id": str(gone.pk), "shortlist": str(shortlist.pk), "position": "1",
              "endpoint_id": gone.endpoint_id, "note": ""}],
            initial=1, title="Old", slug="old", description="Renamed description",
        ),
    )  # fmt: skip
    assert response.status_code == 302
    shortlist.refresh_from_db()
    assert shortlist.description == "Renamed description"


def test_entries_come_in_position_order(curator):
    shortlist = Shortlist.objects.create(title="Lip-sync", slug="lip-sync", curator=curator)
    shortlist.entries.create(endpoint_id="b/second", position=2)
    shortlist.entries.create(endpoint_id="c/third", position=3)
    shortlist.entries.create(endpoint_id="a/first", position=1)
    assert [e.endpoint_id for e in shortlist.entries.all()] == ["a/first", "b/second", "c/third"]
    assert shortlist.next_position() == 4


def test_database_allows_an_endpoint_once_per_shortlist(curator):
    first = Shortlist.objects.create(title="One", slug="one")
    second = Shortlist.objects.create(title="Two", slug="two")
    first.entries.create(endpoint_id=FLUX)
    second.entries.create(endpoint_id=FLUX)  # other lists may hold it too
    with pytest.raises(IntegrityError), transaction.atomic():
        first.entries.create(endpoint_id=FLUX)
    assert first.entries.count() == 1


def test_database_rejects_an_empty_endpoint_id():
    shortlist = Shortlist.objects.create(title="One", slug="one")
    with pytest.raises(IntegrityError), transaction.atomic():
        shortlist.entries.create(endpoint_id="")


def test_curator_group_holds_the_shortlist_permissions():
    codenames = set(
        Group.objects.get(name="curator").permissions.values_list("codename", flat=True)
    )
    assert codenames == {
        f"{action}_{model}"
        for action in ("add", "change", "delete", "view")
        for model in ("shortlist", "shortlistentry")
    }


def test_staff_member_without_the_curator_group_cannot_add_in_the_admin(client, member):
    member.is_staff = True
    member.save()
    client.force_login(member)
    response = client.post(ADD_URL, admin_form([{"position": "1", "endpoint_id": FLUX}]))
    assert response.status_code == 403
    assert not Shortlist.objects.exists()


def test_member_without_staff_status_is_sent_to_the_admin_sign_in(member_client):
    response = member_client.post(ADD_URL, admin_form([{"position": "1", "endpoint_id": FLUX}]))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not Shortlist.objects.exists()


def test_curator_group_comes_back_after_a_database_flush_removed_it():
    from django.core.management.sql import emit_post_migrate_signal

    Group.objects.filter(name="curator").delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    permissions = Group.objects.get(name="curator").permissions.values_list("codename", flat=True)
    assert len(permissions) == 8


def test_an_entry_added_in_the_admin_goes_to_the_end(curator_client):
    shortlist = Shortlist.objects.create(title="Product shots", slug="product-shots")
    first = shortlist.entries.create(endpoint_id=FLUX, position=1)
    second = shortlist.entries.create(endpoint_id="fal-ai/flux/dev", position=2)
    url = f"/admin/catalog/shortlist/{shortlist.pk}/change/"
    page = curator_client.get(url).content.decode()
    # What the browser sends back for the first empty inline form's position box.
    box = re.search(r'<input[^>]*name="entries-2-position"[^>]*>', page).group(0)
    shown = re.search(r'value="([^"]*)"', box)
    position = shown.group(1) if shown else ""
    assert position == ""
    entries = [
        {"id": str(first.pk), "position": "1", "endpoint_id": FLUX, "note": ""},
        {"id": str(second.pk), "position": "2", "endpoint_id": "fal-ai/flux/dev", "note": ""},
        {"id": "", "position": position, "endpoint_id": BANANA, "note": "New"},
    ]
    for entry in entries:
        entry["shortlist"] = str(shortlist.pk)
    response = curator_client.post(url, admin_form(entries, initial=2))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert [e.endpoint_id for e in shortlist.entries.all()] == [FLUX, "fal-ai/flux/dev", BANANA]
    assert shortlist.entries.get(endpoint_id=BANANA).position == 3


def test_a_row_marked_for_deletion_is_not_checked_against_fal(curator_client, count_upstream):
    """Deleting a row whose id fal never knew saves the rest without asking fal about it."""
    response = curator_client.post(
        ADD_URL,
        admin_form(
            [
                {"position": "1", "endpoint_id": FLUX, "note": ""},
                {
                    "position": "2",
                    "endpoint_id": "fal-ai/no-such-model",
                    "note": "",
                    "DELETE": "on",
                },
            ]
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(ShortlistEntry.objects.values_list("endpoint_id", flat=True)) == [FLUX]
    assert count_upstream == []  # FLUX is in the index; the deleted row is not looked up
