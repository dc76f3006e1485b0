"""Curators rename, re-describe, reorder and delete a list on the site (not only in the admin)."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import DELETION, LogEntry

from catalog.models import Shortlist

pytestmark = pytest.mark.django_db

FLUX = "fal-ai/flux/schnell"
BANANA = "fal-ai/nano-banana-2"
VEO = "fal-ai/veo3.1/fast/image-to-video"


@pytest.fixture
def product_shots(curator):
    shortlist = Shortlist.objects.create(
        title="Product shots", slug="product-shots", description="For the shop.", curator=curator
    )
    for position, endpoint_id in enumerate([FLUX, BANANA, VEO], start=1):
        shortlist.entries.create(endpoint_id=endpoint_id, position=position)
    return shortlist


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


NOT_ON_LIST = "That model is not on this list."


def order(shortlist) -> list[str]:
    return list(shortlist.entries.order_by("position", "pk").values_list("endpoint_id", flat=True))


def test_the_shortlist_page_offers_edit_and_move_to_curators_only(
    curator_client, product_shots, member
):
    page = curator_client.get("/shortlists/product-shots/").content.decode()
    assert 'href="/shortlists/product-shots/edit/"' in page
    assert f'aria-label="Move {BANANA} up"' in page and f'aria-label="Move {BANANA} down"' in page
    assert f'aria-label="Move {FLUX} up"' not in page  # the first has nowhere to go up
    curator_client.force_login(member)
    page = curator_client.get("/shortlists/product-shots/").content.decode()
    assert "/edit/" not in page and "Move " not in page


def test_a_rename_keeps_the_slug_so_shared_links_keep_working(curator_client, product_shots):
    response = curator_client.post(
        "/shortlists/product-shots/edit/",
        {"title": "  Hero images ", "description": "Big pictures for the home page."},
    )
    assert response.status_code == 302 and response["Location"] == "/shortlists/product-shots/"
    product_shots.refresh_from_db()
    assert (product_shots.title, product_shots.slug) == ("Hero images", "product-shots")
    assert product_shots.description == "Big pictures for the home page."
    page = curator_client.get("/shortlists/product-shots/").content.decode()
    assert "<h1>Hero images</h1>" in page and "Saved “Hero images”." in page
    log = LogEntry.objects.get()
    assert "Title" in log.get_change_message() and "Description" in log.get_change_message()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "!!!", "description": ""}, "Use at least one letter or digit in the title."),
        ({"title": "", "description": ""}, "This field is required."),
        ({"title": "x" * 121}, "Ensure this value has at most 120 characters (it has 121)."),
        (
            {"title": "Fine", "description": "d" * 2001},
            "Keep the description to at most 2,000 characters (it has 2,001).",
        ),
        ({"title": "Nul\x00", "description": ""}, "Null characters are not allowed."),
    ],
)
def test_a_bad_edit_is_a_400_saying_why_with_the_typed_text_kept(
    curator_client, product_shots, data, message
):
    response = curator_client.post("/shortlists/product-shots/edit/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    if data.get("description"):
        assert data["description"] in html  # nothing typed is lost
    assert "<h1>Edit “Product shots”</h1>" in html  # the saved title, not the refused one
    product_shots.refresh_from_db()
    assert (product_shots.title, product_shots.description) == ("Product shots", "For the shop.")
    assert not LogEntry.objects.exists()


def test_create_and_edit_say_a_rule_the_same_way(curator_client, product_shots):
    long = {"title": "Fine", "description": "d" * 2001}
    created = curator_client.post("/shortlists/", long).content.decode()
    edited = curator_client.post("/shortlists/product-shots/edit/", long).content.decode()
    rule = "Keep the description to at most 2,000 characters (it has 2,001)."
    assert rule in created and rule in edited


def test_moving_entries_up_and_down(curator_client, product_shots):
    response = curator_client.post(
        "/shortlists/product-shots/move/", {"endpoint_id": VEO, "direction": "up"}
    )
    assert response.status_code == 302
    moved = product_shots.entries.get(endpoint_id=VEO)
    assert response["Location"] == f"/shortlists/product-shots/#entry-{moved.pk}"
    assert order(product_shots) == [FLUX, VEO, BANANA]
    curator_client.post(
        "/shortlists/product-shots/move/", {"endpoint_id": FLUX, "direction": "down"}
    )
    assert order(product_shots) == [VEO, FLUX, BANANA]
    # At an end it stays; positions are renumbered even when the admin left ties.
    curator_client.post("/shortlists/product-shots/move/", {"endpoint_id": VEO, "direction": "up"})
    assert order(product_shots) == [VEO, FLUX, BANANA]
    assert list(product_shots.entries.order_by("position").values_list("position", flat=True)) == [
        1, 2, 3
    ]  # fmt: skip
    page = curator_client.get("/shortlists/product-shots/").content.decode()
    assert page.index(VEO) < page.index(FLUX) < page.index(BANANA)


def test_moving_renumbers_tied_positions(curator_client, product_shots):
    product_shots.entries.update(position=0)  # as entries from an old admin could be
    curator_client.post("/shortlists/product-shots/move/", {"endpoint_id": VEO, "direction": "up"})
    assert order(product_shots) == [FLUX, VEO, BANANA]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"endpoint_id": FLUX, "direction": "sideways"}, "Move an entry “up” or “down”."),
        ({"endpoint_id": FLUX}, "Move an entry “up” or “down”."),
        ({"endpoint_id": "fal-ai/not-on-the-list", "direction": "up"}, NOT_ON_LIST),
        ({"endpoint_id": "\x00../x", "direction": "down"}, NOT_ON_LIST),
        ({"endpoint_id": "x" * 5000, "direction": "up"}, NOT_ON_LIST),
    ],
)
def test_a_bad_move_is_a_400_and_changes_nothing(curator_client, product_shots, data, problem):
    response = curator_client.post("/shortlists/product-shots/move/", data)
    assert response.status_code == 400
    body = response.content.decode()
    assert f'{problem} <a href="/shortlists/product-shots/">Go back</a>.' in body
    # The lists page around it, as the curator sees it: their lists and the create form.
    assert '<a href="/shortlists/product-shots/">Product shots</a>' in body
    assert "<strong>3</strong> models" in body
    assert 'class="new-shortlist-form"' in body and "Sign out cora" in body
    assert order(product_shots) == [FLUX, BANANA, VEO]
    assert not LogEntry.objects.exists()


def test_the_delete_box_says_how_many_entries_go_with_the_list(curator_client, product_shots):
    page = curator_client.get("/shortlists/product-shots/edit/").content.decode()
    assert "Yes, delete “Product shots” and its 3 entries. This cannot be undone." in page
    product_shots.entries.exclude(endpoint_id=FLUX).delete()
    page = curator_client.get("/shortlists/product-shots/edit/").content.decode()
    assert "Yes, delete “Product shots” and its 1 entry. This cannot be undone." in page


def test_delete_needs_the_confirmation(curator_client, product_shots):
    refused = curator_client.post("/shortlists/product-shots/delete/", {})
    assert refused.status_code == 400
    assert "Nothing was deleted: tick the box to confirm." in refused.content.decode()
    assert Shortlist.objects.filter(slug="product-shots").exists()
    done = curator_client.post("/shortlists/product-shots/delete/", {"confirm": "yes"})
    assert done.status_code == 302 and done["Location"] == "/shortlists/"
    assert not Shortlist.objects.exists()
    assert LogEntry.objects.get().action_flag == DELETION
    index = curator_client.get("/shortlists/").content.decode()
    assert "Deleted the shortlist “Product shots” and its 3 entries." in index


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/shortlists/product-shots/edit/", {"title": "Mine now"}),
        ("/shortlists/product-shots/delete/", {"confirm": "yes"}),
        ("/shortlists/product-shots/move/", {"endpoint_id": VEO, "direction": "up"}),
    ],
)
def test_members_get_403_and_nothing_changes(client, member, product_shots, path, data):
    client.force_login(member)
    assert client.get("/shortlists/product-shots/edit/").status_code == 403
    assert client.post(path, data).status_code == 403
    product_shots.refresh_from_db()
    assert product_shots.title == "Product shots"
    assert order(product_shots) == [FLUX, BANANA, VEO]


def test_the_edit_page_shows_only_what_the_user_may_do(client, django_user_model, product_shots):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="del", password="x-pass-12345678")
    user.user_permissions.set(Permission.objects.filter(codename="delete_shortlist"))
    client.force_login(user)
    page = client.get("/shortlists/product-shots/edit/").content.decode()
    assert "Delete the list" in page and 'name="title"' not in page
    assert client.post("/shortlists/product-shots/edit/", {"title": "Mine"}).status_code == 403
    move = {"endpoint_id": VEO, "direction": "up"}
    assert client.post("/shortlists/product-shots/move/", move).status_code == 403
