"""Hostile form posts: the shortlist forms and the admin's shortlist form take whatever is
posted (null bytes, huge and right-to-left text, markup, malformed ids, missing and
repeated fields) and either save all of a valid change or nothing, with a message;
never a 500. Runs on PostgreSQL too (bin/test), which refuses NUL characters outright.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import Shortlist, ShortlistEntry

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
EXAMPLES = 300
FLUX = "fal-ai/flux/dev"
KNOWN = "fal-ai/flux/schnell"

text = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=60),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "note\x00with a null",
            "<script>alert(1)</script>",
            "\u202eevil",
            "e\u0301\u0301",
            "=HYPERLINK(1)",
            "x" * 2001,
            "y" * 20_000,
            FLUX,
            KNOWN,
            "fal-ai/no-such-model",
            "fal ai/flux",
            "../../etc",
            "/admin/",
            "https://evil.example/",
        ]
    ),
)


ids = st.one_of(st.sampled_from([FLUX, KNOWN]), text)  # often an id the catalog knows


def fields(names: list[str]) -> st.SearchStrategy[dict]:
    """Each field missing, once, or repeated with different values."""
    values = {name: ids if name == "endpoint_id" else text for name in names}
    return st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(value, st.lists(value, min_size=2, max_size=3))
            for name, value in values.items()
        },
    )


@pytest.fixture
def curator_client(django_user_model, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = django_user_model.objects.create_user(username="cora", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="curator"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def picks(curator_client):
    shortlist = Shortlist.objects.create(title="Picks", slug="picks")
    shortlist.entries.create(endpoint_id=FLUX, note="original", position=1)
    return shortlist


def snapshot():
    return (
        sorted(Shortlist.objects.values_list("slug", "title", "description")),
        sorted(ShortlistEntry.objects.values_list("shortlist__slug", "endpoint_id", "note")),
    )


def run(test) -> None:
    settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )(test)()


def test_creating_a_shortlist(curator_client, picks):
    @given(data=fields(["title", "description"]))
    def create(data):
        before = snapshot()
        response = curator_client.post("/shortlists/", data)
        assert response.status_code in (302, 400), response.status_code
        if response.status_code == 400:  # every error is said next to its field
            assert snapshot() == before
            html = response.content.decode()
            form = response.context["form"]
            assert form.errors
            for errors in form.errors.values():
                assert all(escape(error) in html for error in errors)
        else:
            created = Shortlist.objects.exclude(slug="picks").get()
            assert "\x00" not in created.title + created.description
            created.delete()

    run(create)


@pytest.mark.parametrize("action", ["add", "remove", "note"])
def test_changing_entries(curator_client, picks, action):
    @given(data=fields(["endpoint_id", "note", "next"]), htmx=st.booleans())
    def change(data, htmx):
        before = snapshot()
        headers = {"HX-Request": "true"} if htmx else {}
        response = curator_client.post(f"/shortlists/picks/{action}/", data, headers=headers)
        assert response.status_code in (200, 302, 400, 404), response.status_code
        after = snapshot()
        entries = dict((e, n) for _, e, n in after[1])
        assert set(entries) <= {FLUX, KNOWN}  # only real, well-formed ids are ever saved
        assert all("\x00" not in note for note in entries.values())
        if response.status_code in (400, 404):
            assert after == before
        if response.status_code == 302:
            location = response["Location"]
            assert location.startswith("/") and not location.startswith("//")
        # Back to the one original entry for the next example.
        ShortlistEntry.objects.exclude(endpoint_id=FLUX).delete()
        if not ShortlistEntry.objects.filter(endpoint_id=FLUX).exists():
            picks.entries.create(endpoint_id=FLUX, note="original", position=1)
        picks.entries.filter(endpoint_id=FLUX).update(note="original")

    run(change)


def admin_form(title, slug, entries) -> dict:
    data = {
        "title": title,
        "slug": slug,
        "description": "",
        "curator": "",
        "entries-TOTAL_FORMS": str(len(entries)),
        "entries-INITIAL_FORMS": "0",
        "entries-MIN_NUM_FORMS": "0",
        "entries-MAX_NUM_FORMS": "1000",
    }
    for n, (endpoint_id, note) in enumerate(entries):
        data |= {f"entries-{n}-endpoint_id": endpoint_id, f"entries-{n}-note": note}
        data[f"entries-{n}-position"] = ""
    return data


def test_the_admin_saves_a_shortlist_with_its_entries_or_nothing(curator_client, picks):
    @given(
        title=text,
        slug=st.one_of(text, st.just("fresh"), st.just("picks")),
        entries=st.lists(st.tuples(text, text), max_size=4),
    )
    def save(title, slug, entries):
        before = snapshot()
        response = curator_client.post(
            "/admin/catalog/shortlist/add/", admin_form(title, slug, entries)
        )
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 200:  # the form again, with what is wrong
            assert snapshot() == before
            assert "errornote" in response.content.decode()
        else:
            created = Shortlist.objects.exclude(slug="picks").get()
            # A row left blank (no id, no note) is an unused form, which the admin skips.
            assert created.entries.count() == len({e for e, _ in entries if e})
            created.delete()

    run(save)


# --- What the sweeps found (PostgreSQL refuses NUL), kept as plain regression tests ----------


def test_a_note_with_a_null_character_is_refused_with_a_message(curator_client, picks):
    response = curator_client.post(
        "/shortlists/picks/note/", {"endpoint_id": FLUX, "note": "a\x00"}
    )
    assert response.status_code == 400
    assert "Notes cannot contain null characters." in response.content.decode()
    response = curator_client.post(
        "/shortlists/picks/note/",
        {"endpoint_id": FLUX, "note": "a\x00"},
        headers={"HX-Request": "1"},
    )
    assert "Notes cannot contain null characters." in response.content.decode()
    response = curator_client.post("/shortlists/picks/add/", {"endpoint_id": KNOWN, "note": "\x00"})
    assert "Notes cannot contain null characters." in response.content.decode()
    assert list(picks.entries.values_list("endpoint_id", "note")) == [(FLUX, "original")]


def test_an_endpoint_id_with_a_null_character_matches_nothing(curator_client, picks):
    response = curator_client.post("/shortlists/picks/note/", {"endpoint_id": "a\x00", "note": "x"})
    assert response.status_code == 404
    response = curator_client.post("/shortlists/picks/remove/", {"endpoint_id": "a\x00"})
    assert response.status_code == 302 and picks.entries.count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/admin/catalog/shortlist/?title=%00",
        "/admin/autocomplete/?term=%00&app_label=catalog&model_name=shortlistentry"
        "&field_name=shortlist",
    ],
)
def test_null_characters_never_reach_the_admins_queries(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 400
    assert "contains a null character" in response.content.decode()


def test_admin_actions_change_exactly_what_was_confirmed(admin_client):
    def reset() -> Shortlist:
        Shortlist.objects.all().delete()
        shortlist = Shortlist.objects.create(pk=1, title="Picks", slug="picks")
        shortlist.entries.create(endpoint_id=FLUX, note="original", position=1)
        return shortlist

    reset()

    @given(
        action=st.one_of(st.sampled_from(["delete_selected", "", "no_such_action"]), text),
        selected=st.lists(st.one_of(st.just("1"), text), max_size=3),
        confirm=st.booleans(),
        index=st.sampled_from(["0", "", "x", "99"]),
    )
    def act(action, selected, confirm, index):
        data = {"action": action, "_selected_action": selected, "index": index}
        if confirm:
            data["post"] = "yes"
        response = admin_client.post("/admin/catalog/shortlist/", data, follow=True)
        assert response.status_code in (200, 400)
        html = response.content.decode()
        if Shortlist.objects.filter(pk=1).exists():
            assert ShortlistEntry.objects.count() == 1  # nothing half-done
            said = ("Are you sure", 'class="messagelist"', "errornote", "could not be read")
            assert any(text in html for text in said)
        else:  # deleted: only when confirmed, for the id selected, entries and all
            assert action == "delete_selected" and confirm and "1" in selected
            assert ShortlistEntry.objects.count() == 0
            reset()

    run(act)
