"""Users with some of the shortlist permissions: each POST checks its own permission, and
the controls offer exactly what the user may do. (Members have none and curators all, so
a view checking the wrong permission passes every test that only uses those two.)"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission

from catalog.models import Shortlist, ShortlistEntry

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

FLUX = "fal-ai/flux/schnell"
BANANA = "fal-ai/nano-banana-2"
HTMX = {"HX-Request": "true"}

# Each change and the one permission it needs.
CHANGES = {
    "add_shortlist": ("/shortlists/", {"title": "Sneaky"}),
    "add_shortlistentry": ("/shortlists/product-shots/add/", {"endpoint_id": BANANA}),
    "change_shortlistentry": (
        "/shortlists/product-shots/note/",
        {"endpoint_id": FLUX, "note": "mine now"},
    ),
    "delete_shortlistentry": ("/shortlists/product-shots/remove/", {"endpoint_id": FLUX}),
    "change_shortlist": ("/shortlists/product-shots/edit/", {"title": "Renamed"}),
    "delete_shortlist": ("/shortlists/product-shots/delete/", {"confirm": "yes"}),
}


@pytest.fixture
def product_shots(db):
    shortlist = Shortlist.objects.create(title="Product shots", slug="product-shots")
    shortlist.entries.create(endpoint_id=FLUX, note="Fast drafts", position=1)
    return shortlist


def user_with(django_user_model, *codenames: str):
    user = django_user_model.objects.create_user(username="pat", password="partial-pass-1234")
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def state():
    return (
        sorted(Shortlist.objects.values_list("slug", "title")),
        sorted(ShortlistEntry.objects.values_list("endpoint_id", "note")),
        LogEntry.objects.count(),
    )


def changed_as_asked(perm: str) -> bool:
    """Whether the change `perm` allows is what the database now holds."""
    entries = dict(ShortlistEntry.objects.values_list("endpoint_id", "note"))
    return {
        "add_shortlist": Shortlist.objects.filter(title="Sneaky").exists(),
        "add_shortlistentry": BANANA in entries,
        "delete_shortlistentry": FLUX not in entries,
        "change_shortlistentry": entries.get(FLUX) == "mine now",
        "change_shortlist": Shortlist.objects.filter(title="Renamed").exists(),
        "delete_shortlist": not Shortlist.objects.filter(slug="product-shots").exists(),
    }[perm]


@pytest.mark.parametrize("granted", list(CHANGES))
@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
def test_each_change_needs_its_own_permission(
    client, django_user_model, product_shots, granted, change, htmx
):
    client.force_login(user_with(django_user_model, granted))
    path, data = CHANGES[change]
    before = state()
    response = client.post(path, data, headers=HTMX if htmx else {})
    if change == granted:
        assert response.status_code in (200, 302), response.status_code
        assert changed_as_asked(change)
        assert LogEntry.objects.count() == before[2] + (change != "add_shortlist")
    else:
        assert response.status_code == 403, f"{granted} may not {change}"
        assert state() == before


@pytest.mark.parametrize("missing", list(CHANGES))
def test_all_but_one_permission_still_refuses_that_one(
    client, django_user_model, product_shots, missing
):
    client.force_login(user_with(django_user_model, *(set(CHANGES) - {missing})))
    path, data = CHANGES[missing]
    before = state()
    assert client.post(path, data).status_code == 403
    assert client.post(path, data, headers=HTMX).status_code == 403
    assert state() == before
    for other in [perm for perm in CHANGES if perm != missing]:  # the removal comes last
        other_path, other_data = CHANGES[other]
        assert client.post(other_path, other_data).status_code in (200, 302), other
        assert changed_as_asked(other), other


def _choice(html: str, verb: str) -> str:
    """The shortlist menu's button for "Add to" or "Remove from" Product shots."""
    start = html.index(f'title="{verb} Product shots"')
    return html[start : html.index(">", start)]


@pytest.mark.parametrize(
    ("perms", "can_add", "can_remove"),
    [
        (("add_shortlistentry",), True, False),
        (("delete_shortlistentry",), False, True),
        (("add_shortlistentry", "delete_shortlistentry"), True, True),
    ],
)
def test_the_card_menu_offers_what_the_user_may_do(
    client, django_user_model, product_shots, perms, can_add, can_remove
):
    client.force_login(user_with(django_user_model, *perms))
    model_page = client.get(f"/models/{FLUX}/").content.decode()  # on the list: remove
    other_page = client.get(f"/models/{BANANA}/").content.decode()  # not on it: add
    assert ("disabled" not in _choice(model_page, "Remove from")) == can_remove
    assert ("disabled" not in _choice(other_page, "Add to")) == can_add


@pytest.mark.parametrize(
    ("perm", "shown"),
    [
        ("change_shortlistentry", "Edit note"),
        ("delete_shortlistentry", "entry-remove"),
        ("add_shortlist", "New shortlist"),
    ],
)
def test_list_pages_show_only_the_tools_of_granted_permissions(
    client, django_user_model, product_shots, perm, shown
):
    client.force_login(user_with(django_user_model, perm))
    pages = client.get("/shortlists/").content.decode() + (
        client.get("/shortlists/product-shots/").content.decode()
    )
    assert shown in pages
    for other, text in (
        ("change_shortlistentry", "Edit note"),
        ("delete_shortlistentry", "entry-remove"),
        ("add_shortlist", "New shortlist"),
    ):
        if other != perm:
            assert text not in pages, f"{perm} shows {text}"


def test_a_user_without_shortlist_permissions_gets_no_card_menu(
    client, django_user_model, product_shots
):
    client.force_login(user_with(django_user_model, "change_shortlistentry"))
    assert "shortlist-menu" not in client.get(f"/models/{FLUX}/").content.decode()
