"""Shortlist pages over the catalog index: cards, notes, flags, exports, curators' edits."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs

import pytest
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import CatalogEntry, Shortlist, ShortlistEntry
from catalog.shortlists import FLAG_DEPRECATED, FLAG_GONE, FLAG_MISSING
from catalog.sync import bump_index_version
from fal_emulator import SNAPSHOT_DIR, Emulator, load_prices, load_snapshot
from tests.helpers import FRESH

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SNAPSHOT = SNAPSHOT_DIR
FLUX = "fal-ai/flux/schnell"
BANANA = "fal-ai/nano-banana-2"
GONE = "fal-ai/retired-model"  # never in fal's catalog
HTMX = {"HX-Request": "true"}


def flag_text(flag: str) -> str:
    return flag.replace("'", "&#x27;")


def change_entry(endpoint_id: str, **metadata) -> None:
    """Change an indexed entry's metadata as a sync would, and tell the index."""
    row = CatalogEntry.objects.get(endpoint_id=endpoint_id)
    row.entry = {**row.entry, "metadata": {**row.entry["metadata"], **metadata}}
    row.save(update_fields=["entry"])
    bump_index_version()


@pytest.fixture
def curator_client(curator):
    client = Client()  # not the `client` fixture, which member_client signs in
    client.force_login(curator)
    return client


@pytest.fixture
def product_shots(curator):
    shortlist = Shortlist.objects.create(
        title="Product shots", slug="product-shots", description="Studio images", curator=curator
    )
    shortlist.entries.create(endpoint_id=FLUX, note="Fast drafts", position=1, added_by=curator)
    shortlist.entries.create(endpoint_id=GONE, note="Was our default", position=2)
    return shortlist


# --- Reading ---------------------------------------------------------------------------------


def test_index_lists_shortlists_with_counts_and_curator(member_client, product_shots):
    Shortlist.objects.create(title="Lip-sync", slug="lip-sync")
    body = member_client.get("/shortlists/").content.decode()
    assert '<a href="/shortlists/product-shots/">Product shots</a>' in body
    assert "<strong>2</strong> models" in body and "cora" in body
    assert '<a href="/shortlists/lip-sync/">Lip-sync</a>' in body
    assert "New shortlist" not in body  # members cannot create


def test_shortlist_page_shows_live_cards_with_the_curators_notes(member_client, product_shots):
    response = member_client.get("/shortlists/product-shots/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "FLUX.1 [schnell]" in body  # the name comes live from the catalog
    assert '<p class="card-note">Fast drafts</p>' in body
    assert 'class="badge license-commercial"' in body


def test_entry_fal_no_longer_knows_is_flagged_not_hidden(member_client, product_shots):
    body = member_client.get("/shortlists/product-shots/").content.decode()
    assert f'data-endpoint-id="{GONE}"' in body
    assert "No longer in fal&#x27;s catalog" in body
    assert '<p class="card-note">Was our default</p>' in body
    assert "1 entry needs attention" in body


def test_deprecated_entry_is_flagged(member_client, product_shots):
    change_entry(FLUX, status="deprecated")
    body = member_client.get("/shortlists/product-shots/").content.decode()
    assert flag_text(FLAG_DEPRECATED) in body
    assert '<li class="badge badge-deprecated">deprecated</li>' in body
    assert "FLUX.1 [schnell]" in body and '<p class="card-note">Fast drafts</p>' in body
    assert "2 entries need attention" in body
    exported = json.loads(member_client.get("/shortlists/product-shots/export.json").content)
    assert [e["status"] for e in exported["entries"]] == ["deprecated", "missing"]


def test_entry_gone_from_the_last_full_sync_is_flagged_with_its_last_card(
    member_client, product_shots
):
    CatalogEntry.objects.filter(endpoint_id=FLUX).update(gone_at=_now())
    bump_index_version()
    body = member_client.get("/shortlists/product-shots/").content.decode()
    assert flag_text(FLAG_GONE) in body and flag_text(FLAG_MISSING) in body  # FLUX, GONE
    assert "FLUX.1 [schnell]" in body  # the card the index last had
    assert "2 entries need attention" in body


def test_an_unknown_entry_is_flagged_as_missing(member_client, product_shots):
    body = member_client.get("/shortlists/product-shots/").content.decode()
    assert body.count('<p class="card-flag" role="status">') == 1
    assert f'<p class="card-flag" role="status">{flag_text(FLAG_MISSING)}</p>' in body


def test_the_page_reads_the_index_even_while_fal_is_down(
    member_client, product_shots, fal_down, count_upstream
):
    response = member_client.get("/shortlists/product-shots/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "The fal API failed" not in body
    assert "FLUX.1 [schnell]" in body and '<p class="card-note">Fast drafts</p>' in body
    assert f'data-endpoint-id="{GONE}"' in body and flag_text(FLAG_MISSING) in body
    assert count_upstream == []


def test_a_long_shortlist_costs_fal_nothing(member_client, curator, snapshot_ids, count_upstream):
    shortlist = Shortlist.objects.create(title="Big", slug="big")
    ShortlistEntry.objects.bulk_create(
        ShortlistEntry(shortlist=shortlist, endpoint_id=i, position=n)
        for n, i in enumerate(snapshot_ids[:120])
    )
    body = member_client.get("/shortlists/big/").content.decode()
    assert count_upstream == []
    assert body.count('<article class="card') == 120
    assert "attention" not in body
    member_client.get("/shortlists/big/export.csv")
    assert count_upstream == []


def test_compare_these_links_the_first_six_known_models(member_client, curator, snapshot_ids):
    shortlist = Shortlist.objects.create(title="Many", slug="many")
    wanted = [GONE, *snapshot_ids[:8]]
    for n, endpoint_id in enumerate(wanted):
        shortlist.entries.create(endpoint_id=endpoint_id, position=n)
    body = member_client.get("/shortlists/many/").content.decode()
    href = body.split('href="/compare/?', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert parse_qs(href)["endpoint_id"] == snapshot_ids[:6]


def test_a_list_without_a_model_fal_knows_has_no_compare_link(member_client, curator):
    shortlist = Shortlist.objects.create(title="Only gone", slug="only-gone")
    body = member_client.get("/shortlists/only-gone/").content.decode()
    assert "/compare/" not in body and "Compare these" not in body
    shortlist.entries.create(endpoint_id=GONE, position=1)
    body = member_client.get("/shortlists/only-gone/").content.decode()
    assert "/compare/" not in body and "Compare these" not in body
    assert "1 entry needs attention" in body


def test_on_the_list_page_a_curators_cards_say_they_are_shortlisted(curator_client, product_shots):
    body = curator_client.get("/shortlists/product-shots/").content.decode()
    cards = body.count('<article class="card')
    assert cards == 2
    assert body.count('<details class="shortlist-menu"') == cards
    assert body.count("★ Shortlisted") == cards and "☆ Shortlist" not in body


def test_a_lists_page_asks_the_database_the_same_whatever_its_length(
    curator_client, curator, snapshot_ids
):
    def queries_for(length: int) -> int:
        shortlist = Shortlist.objects.create(title=f"Of {length}", slug=f"of-{length}")
        ShortlistEntry.objects.bulk_create(
            ShortlistEntry(shortlist=shortlist, endpoint_id=i, position=n, added_by=curator)
            for n, i in enumerate(snapshot_ids[:length])
        )
        curator_client.get(f"/shortlists/of-{length}/")  # warm: the session and the index
        with CaptureQueriesContext(connection) as captured:
            assert curator_client.get(f"/shortlists/of-{length}/").status_code == 200
        return len(captured)

    assert queries_for(3) == queries_for(30)


def test_unknown_shortlist_is_404(member_client):
    assert member_client.get("/shortlists/nope/").status_code == 404


# --- Export ----------------------------------------------------------------------------------


def test_the_json_export_describes_the_list_asked_for(member_client, product_shots, curator):
    Shortlist.objects.create(title="Lip-sync", slug="lip-sync", curator=curator)
    product_shots.refresh_from_db()
    response = member_client.get("/shortlists/product-shots/export.json")
    assert json.loads(response.content)["shortlist"] == {
        "title": "Product shots",
        "slug": "product-shots",
        "description": "Studio images",
        "url": "http://testserver/shortlists/product-shots/",
        "updated_at": product_shots.updated_at.isoformat(),
    }


def test_json_and_csv_exports_parse_and_match(member_client, product_shots):
    json_response = member_client.get("/shortlists/product-shots/export.json")
    csv_response = member_client.get("/shortlists/product-shots/export.csv")
    assert json_response["Content-Type"] == "application/json"
    assert json_response["Content-Disposition"] == 'attachment; filename="product-shots.json"'
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_response["Content-Disposition"] == 'attachment; filename="product-shots.csv"'
    exported = json.loads(json_response.content)
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode())))
    assert exported["entries"] == rows
    assert exported["shortlist"]["title"] == "Product shots"
    (flux_price,) = [p for p in load_prices() if p["endpoint_id"] == FLUX]
    assert rows == [
        {"endpoint_id": FLUX, "name": "FLUX.1 [schnell]", "category": "text-to-image",
         "license": "commercial", "note": "Fast drafts", "status": "active",
         # fal's figure as it wrote it (0.003, not 0.0030000000000000001) and its raw unit
         "price": repr(flux_price["unit_price"]), "currency": "USD",
         "unit": flux_price["unit"], "unit_class": "megapixel"},
        {"endpoint_id": GONE, "name": "", "category": "", "license": "", "note": "Was our default",
         "status": "missing", "price": "", "currency": "", "unit": "", "unit_class": ""},
    ]  # fmt: skip


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_export_quotes_every_start_a_spreadsheet_reads_as_a_formula(
    member_client, product_shots, start
):
    product_shots.entries.filter(endpoint_id=FLUX).update(note=start + "1+2")
    csv_text = member_client.get("/shortlists/product-shots/export.csv").content.decode()
    assert list(csv.DictReader(io.StringIO(csv_text)))[0]["note"] == "'" + start + "1+2"


def test_csv_export_keeps_formulas_from_running_in_spreadsheets(member_client, product_shots):
    product_shots.entries.filter(endpoint_id=FLUX).update(note='=HYPERLINK("http://x","y")')
    rows = list(
        csv.DictReader(
            io.StringIO(member_client.get("/shortlists/product-shots/export.csv").content.decode())
        )
    )
    assert rows[0]["note"] == '\'=HYPERLINK("http://x","y")'
    exported = json.loads(member_client.get("/shortlists/product-shots/export.json").content)
    assert exported["entries"][0]["note"] == '=HYPERLINK("http://x","y")'


def test_other_export_formats_are_404(member_client, product_shots):
    assert member_client.get("/shortlists/product-shots/export.xlsx").status_code == 404


# --- Curators' changes -----------------------------------------------------------------------


def test_curator_adds_a_model_with_htmx_and_gets_the_control_back(
    curator_client, curator, product_shots
):
    response = curator_client.post(
        "/shortlists/product-shots/add/", {"endpoint_id": BANANA}, headers=HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<details class="shortlist-menu" open>')
    assert "★ Shortlisted" in body and 'aria-pressed="true"' in body
    assert 'formaction="/shortlists/product-shots/remove/"' in body
    entry = product_shots.entries.get(endpoint_id=BANANA)
    assert (entry.position, entry.added_by, entry.note) == (3, curator, "")
    log = LogEntry.objects.get(object_id=str(product_shots.pk))
    assert log.user == curator
    assert log.get_change_message() == f"Added shortlist entry “{BANANA}”."


def test_adding_twice_keeps_one_entry(curator_client, product_shots):
    for _ in range(2):
        curator_client.post("/shortlists/product-shots/add/", {"endpoint_id": BANANA})
    assert product_shots.entries.filter(endpoint_id=BANANA).count() == 1
    assert LogEntry.objects.count() == 1


def test_adding_an_unknown_model_says_so_and_changes_nothing(curator_client, product_shots):
    response = curator_client.post(
        "/shortlists/product-shots/add/", {"endpoint_id": "fal-ai/made-up"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "fal&#x27;s catalog has no model “fal-ai/made-up”." in response.content.decode()
    plain = curator_client.post(
        "/shortlists/product-shots/add/", {"endpoint_id": "<script>", "next": "/?q=flux"}
    )
    assert plain.status_code == 400
    # Without JavaScript: the curator's lists page, saying what is wrong and the way back.
    body = plain.content.decode()
    assert 'That is not a fal endpoint id. <a href="/?q=flux">Go back</a>.' in body
    assert "Sign out cora" in body and 'class="new-shortlist-form"' in body
    elsewhere = curator_client.post(
        "/shortlists/product-shots/add/", {"endpoint_id": "<script>", "next": "//evil.example/"}
    )
    assert '<a href="/shortlists/product-shots/">Go back</a>' in elsewhere.content.decode()
    assert product_shots.entries.count() == 2


def test_adding_a_model_the_index_has_asks_fal_nothing(
    curator_client, product_shots, fal_down, count_upstream
):
    response = curator_client.post(
        "/shortlists/product-shots/add/", {"endpoint_id": BANANA}, headers=HTMX
    )
    assert "★ Shortlisted" in response.content.decode()
    assert product_shots.entries.filter(endpoint_id=BANANA).exists()
    assert count_upstream == []


def test_adding_a_model_the_index_lacks_asks_find_mode_once_and_adds_it(
    curator_client, product_shots, fal_with_fresh_model
):
    response = curator_client.post(
        "/shortlists/product-shots/add/", {"endpoint_id": FRESH}, headers=HTMX
    )
    assert "★ Shortlisted" in response.content.decode()
    assert product_shots.entries.filter(endpoint_id=FRESH).exists()
    # Find mode once, then (its expansion failed) fal's public document for it, once.
    find, fallback = fal_with_fresh_model.requests
    assert find["path"] == "/v1/models" and ("endpoint_id", FRESH) in find["query"]
    assert fallback["path"].endswith("/openapi.json")
    assert CatalogEntry.objects.filter(endpoint_id=FRESH).exists()  # now in the index
    body = curator_client.get("/shortlists/product-shots/").content.decode()
    assert "Fresh Model" in body and body.count('<p class="card-flag"') == 1  # only GONE
    assert len(fal_with_fresh_model.requests) == 2  # the page read the index


def test_adding_while_fal_is_down_says_it_could_not_check(curator_client, product_shots, fal_down):
    response = curator_client.post(
        "/shortlists/product-shots/add/", {"endpoint_id": FRESH}, headers=HTMX
    )
    assert (
        '<p class="shortlist-error" role="alert">fal&#x27;s API failed (upstream is down), '
        "so the model could not be checked. Try again.</p>"
    ) in response.content.decode()
    assert not product_shots.entries.filter(endpoint_id=FRESH).exists()
    assert not CatalogEntry.objects.filter(endpoint_id=FRESH).exists()


@pytest.mark.parametrize("mode", ["503", "timeout", "not_json"])
def test_adding_while_live_fal_down_says_it_could_not_check(
    settings, curator_client, product_shots, fal_with_fresh_model, mode
):
    settings.FAL_API_TIMEOUT = 0.5
    fal_with_fresh_model.set_mode(mode)
    response = curator_client.post(
        "/shortlists/product-shots/add/", {"endpoint_id": FRESH, "next": "/"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "so the model could not be checked. Try again." in body
    assert "UPSTREAM-BODY-MARKER" not in body and "Traceback" not in body
    assert not product_shots.entries.filter(endpoint_id=FRESH).exists()
    # Once fal answers again (and the short error memo is gone), the same add works.
    fal_with_fresh_model.set_mode("healthy")
    cache.clear()
    again = curator_client.post("/shortlists/product-shots/add/", {"endpoint_id": FRESH})
    assert again.status_code == 302 and product_shots.entries.filter(endpoint_id=FRESH).exists()


def test_without_javascript_adding_redirects_back_to_a_safe_next(curator_client, product_shots):
    response = curator_client.post(
        "/shortlists/product-shots/add/", {"endpoint_id": BANANA, "next": "/?q=banana&page=2"}
    )
    assert response.status_code == 302 and response["Location"] == "/?q=banana&page=2"
    for evil in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = curator_client.post(
            "/shortlists/product-shots/remove/", {"endpoint_id": BANANA, "next": evil}
        )
        assert response["Location"] == "/shortlists/product-shots/"


def test_removing_from_a_card_returns_the_control(curator_client, product_shots):
    response = curator_client.post(
        "/shortlists/product-shots/remove/", {"endpoint_id": FLUX}, headers=HTMX
    )
    assert "☆ Shortlist" in response.content.decode()
    assert not product_shots.entries.filter(endpoint_id=FLUX).exists()
    log = LogEntry.objects.get(object_id=str(product_shots.pk))
    assert log.get_change_message() == f"Deleted shortlist entry “{FLUX}”."


def test_removing_on_the_shortlist_page_replaces_the_entry(curator_client, product_shots):
    entry = product_shots.entries.get(endpoint_id=FLUX)
    response = curator_client.post(
        "/shortlists/product-shots/remove/",
        {"endpoint_id": FLUX},
        headers={**HTMX, "HX-Target": f"entry-{entry.pk}"},
    )
    body = response.content.decode().strip()
    assert body.startswith('<li class="shortlist-entry shortlist-entry-removed" role="status">')
    assert f"Removed <code>{FLUX}</code> from Product shots." in body


def test_curator_edits_a_note_in_place(curator_client, curator, product_shots):
    entry = product_shots.entries.get(endpoint_id=FLUX)
    before = Shortlist.objects.get(pk=product_shots.pk).updated_at
    response = curator_client.post(
        "/shortlists/product-shots/note/",
        {"endpoint_id": FLUX, "note": "  Best for <b>drafts</b>  "},
        headers=HTMX,
    )
    body = response.content.decode().strip()
    assert body.startswith(f'<li id="entry-{entry.pk}" class="shortlist-entry">')
    assert '<p class="card-note">Best for &lt;b&gt;drafts&lt;/b&gt;</p>' in body
    entry.refresh_from_db()
    assert entry.note == "Best for <b>drafts</b>"
    assert Shortlist.objects.get(pk=product_shots.pk).updated_at > before
    log = LogEntry.objects.get(object_id=str(product_shots.pk))
    assert log.get_change_message() == f"Changed Note for shortlist entry “{FLUX}”."


def test_a_note_that_is_too_long_is_refused_with_a_message(curator_client, product_shots):
    response = curator_client.post(
        "/shortlists/product-shots/note/", {"endpoint_id": FLUX, "note": "x" * 2001}, headers=HTMX
    )
    assert "Keep the note to at most 2,000 characters (it has 2,001)." in response.content.decode()
    assert product_shots.entries.get(endpoint_id=FLUX).note == "Fast drafts"


def test_curator_creates_a_shortlist_and_lands_on_it(curator_client, curator):
    response = curator_client.post("/shortlists/", {"title": "Lip-sync", "description": "Talk"})
    assert response.status_code == 302 and response["Location"] == "/shortlists/lip-sync/"
    again = curator_client.post("/shortlists/", {"title": "Lip sync!"})
    assert again["Location"] == "/shortlists/lip-sync-2/"
    assert Shortlist.objects.get(slug="lip-sync").curator == curator
    empty = curator_client.post("/shortlists/", {"title": "!!!"})
    assert empty.status_code == 400
    assert ">Use at least one letter or digit in the title.</p>" in empty.content.decode()


# --- The card control elsewhere --------------------------------------------------------------


@pytest.mark.parametrize(
    ("referer", "back_to"),
    [
        ("http://testserver/?q=flux&license=commercial", "/?q=flux&amp;license=commercial"),
        ("http://testserver/shortlists/product-shots/", "/shortlists/product-shots/"),
        ("https://evil.example/?q=flux", f"/models/{FLUX}/"),
        ("", f"/models/{FLUX}/"),
    ],
)
def test_the_menu_page_without_javascript_goes_back_where_the_curator_came_from(
    curator_client, product_shots, referer, back_to
):
    headers = {"Referer": referer} if referer else {}
    page = curator_client.get("/shortlist-menu/", {"endpoint_id": FLUX}, headers=headers)
    assert page.status_code == 200
    assert f'<input type="hidden" name="next" value="{back_to}">' in page.content.decode()


def test_grid_cards_carry_the_control_for_curators_only(
    curator_client, member_client, product_shots, django_assert_max_num_queries
):
    curator_client.get("/")  # the first visit records it, and this process loads the index
    # session, user, index version, grid visit, permissions (2), shortlisted ids, last sync
    with django_assert_max_num_queries(8):
        response = curator_client.get("/")
    body = response.content.decode()
    assert body.count('<details class="shortlist-menu"') == body.count('<article class="card')
    assert '<form id="shortlist-action" method="post"' in body
    # Closed controls show whether a card is in a list; the lists load when one opens.
    flux_card = body[body.index(f'data-endpoint-id="{FLUX}"') :]
    assert flux_card[: flux_card.index("</article>")].count("★ Shortlisted") == 1
    assert body.count("★ Shortlisted") == 1  # GONE is in the list but not on the grid
    assert "product-shots" not in body
    opened = curator_client.get("/shortlist-menu/", {"endpoint_id": FLUX}, headers=HTMX)
    assert opened.status_code == 200
    assert 'formaction="/shortlists/product-shots/remove/"' in opened.content.decode()
    assert '<details class="shortlist-menu" open' in opened.content.decode()
    for headers in ({}, HTMX):
        member = member_client.get("/", headers=headers)
        member_body = member.content.decode()
        assert member_body.count('<article class="card') == 48
        assert "shortlist-menu" not in member_body and "shortlist-action" not in member_body


def test_the_lazy_shortlist_menu_is_for_curators_and_checks_its_input(
    curator_client, member_client, product_shots
):
    assert member_client.get("/shortlist-menu/", {"endpoint_id": FLUX}).status_code == 403
    for bad in ("", "../etc", "fal-ai/flux\n", "x" * 600):
        answer = curator_client.get("/shortlist-menu/", {"endpoint_id": bad})
        assert answer.status_code == 400 and "endpoint id" in answer.content.decode()
    # Without JavaScript the control opens as a page, with the form its buttons submit.
    page = curator_client.get("/shortlist-menu/", {"endpoint_id": FLUX}).content.decode()
    assert '<form id="shortlist-action" method="post"' in page
    assert 'formaction="/shortlists/product-shots/remove/"' in page


def test_a_curators_grid_weighs_at_most_a_third_more_than_a_members(
    curator_client, member_client, curator
):
    for n in range(12):
        Shortlist.objects.create(title=f"Team list number {n}", slug=f"list-{n}", curator=curator)
    for url in ("/", "/?page=30"):
        member = len(member_client.get(url).content)
        curated = len(curator_client.get(url).content)
        assert curated <= 1.3 * member, (url, curated, member, round(curated / member, 2))


def test_model_page_shows_the_control_with_membership(curator_client, product_shots):
    body = curator_client.get(f"/models/{FLUX}/").content.decode()
    assert "★ Shortlisted" in body
    assert 'formaction="/shortlists/product-shots/remove/"' in body


def _now():
    from django.utils import timezone

    return timezone.now()


def test_compare_page_columns_carry_the_control_for_curators(
    curator_client, member_client, product_shots
):
    url = f"/compare/?endpoint_id={FLUX}&endpoint_id={BANANA}"
    body = curator_client.get(url).content.decode()
    assert body.count('<details class="shortlist-menu"') == 2
    assert 'formaction="/shortlists/product-shots/remove/"' in body  # FLUX is on the list
    assert "shortlist-menu" not in member_client.get(url).content.decode()


def test_a_long_title_makes_a_link_of_70_characters_with_room_for_a_number(curator_client):
    first = curator_client.post("/shortlists/", {"title": "a" * 70 + " first of two"})
    assert first["Location"] == f"/shortlists/{'a' * 70}/"
    second = curator_client.post("/shortlists/", {"title": "a" * 70 + " second"})
    assert second["Location"] == f"/shortlists/{'a' * 70}-2/"


def test_a_title_in_any_script_is_a_shortlist_with_a_plain_link(curator_client):
    response = curator_client.post("/shortlists/", {"title": "商品写真"})
    assert response.status_code == 302 and response["Location"] == "/shortlists/list-1/"
    again = curator_client.post("/shortlists/", {"title": "Видео"})
    assert again["Location"] == "/shortlists/list-2/"
    page = curator_client.get("/shortlists/list-1/")
    assert page.status_code == 200 and "商品写真" in page.content.decode()
    assert Shortlist.objects.get(slug="list-2").title == "Видео"
    # An ASCII part still names the link.
    mixed = curator_client.post("/shortlists/", {"title": "商品写真 v2"})
    assert mixed["Location"] == "/shortlists/v2/"


# --- What a curator's control and an export say (found by mutation testing) -------------------


def test_a_closed_control_offers_add_for_lists_without_the_endpoint(curator_client, product_shots):
    Shortlist.objects.create(title="Lip-sync", slug="lip-sync")
    html = curator_client.get(f"/models/{FLUX}/").content.decode()
    control = html[html.index('<details class="shortlist-menu"') :]
    control = control[: control.index("</details>")]
    assert control.startswith('<details class="shortlist-menu">')  # closed until opened
    assert "shortlist-error" not in control  # no error without a failed change
    assert 'formaction="/shortlists/product-shots/remove/"' in control  # FLUX is in it
    assert 'formaction="/shortlists/lip-sync/add/"' in control  # and not in this one


def test_a_model_gone_from_fals_catalog_cannot_be_added_and_exports_without_a_price(
    curator_client, product_shots, sync_from
):
    models, documents = load_snapshot()
    flux = next(m for m in models if m["endpoint_id"] == FLUX)
    priced = json.loads(curator_client.get("/shortlists/product-shots/export.json").content)
    assert next(e for e in priced["entries"] if e["endpoint_id"] == FLUX)["price"] != ""
    run = sync_from(Emulator([m for m in models if m is not flux], documents, load_prices()))
    assert run.state == "succeeded" and run.gone == 1
    lip_sync = Shortlist.objects.create(title="Lip-sync", slug="lip-sync")
    refused = curator_client.post("/shortlists/lip-sync/add/", {"endpoint_id": FLUX})
    assert refused.status_code == 400
    assert f"fal&#x27;s catalog has no model “{FLUX}”." in refused.content.decode()
    assert not lip_sync.entries.exists()
    exported = json.loads(curator_client.get("/shortlists/product-shots/export.json").content)
    gone = next(e for e in exported["entries"] if e["endpoint_id"] == FLUX)
    assert (gone["price"], gone["currency"], gone["unit"], gone["unit_class"]) == ("", "", "", "")


def test_a_saved_notes_card_keeps_its_shortlist_control_and_watch(curator_client, product_shots):
    """The entry htmx swaps in after "Save note" is the list page's entry, not a poorer one."""
    change_entry(FLUX, status="deprecated")
    entry = product_shots.entries.get(endpoint_id=FLUX)
    page = curator_client.get("/shortlists/product-shots/").content.decode()
    assert "deprecated by fal." in page
    swapped = curator_client.post(
        "/shortlists/product-shots/note/",
        {"endpoint_id": FLUX, "note": "Sharp edges"},
        headers={**HTMX, "HX-Target": f"entry-{entry.pk}"},
    ).content.decode()
    assert "Sharp edges" in swapped
    assert swapped.count("★ Shortlisted") == 1 and 'class="shortlist-menu"' in swapped
    assert "<strong>Needs attention:</strong>" in swapped and "deprecated by fal." in swapped
