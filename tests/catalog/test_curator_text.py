"""What curators write (shortlist titles, descriptions, entry notes) is shown back as text on
every page that shows it: escaped in HTML, exact in exports, never as markup.

Each field carries its own payload, so a page that drops a field fails as surely as one
that lets its markup through (e.g. `{{ shortlist.title|safe }}` in one template).
"""

from __future__ import annotations

import csv
import io
import json
from html import escape

import pytest

from catalog.models import Shortlist
from tests.catalog.test_hostile_content import PageAudit

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

FLUX = "fal-ai/flux/schnell"
BANANA = "fal-ai/nano-banana-2"
HTMX = {"HX-Request": "true"}

TITLE = 'Picks <script>alert("title")</script> & <b>more</b>'
DESCRIPTION = "<img src=x onerror=alert('description')> first line\n<i>second</i> line"
NOTE = '<svg onload=alert("note")> it\'s <u>fast</u>'
RAW = ['<script>alert("title")', "<b>more</b>", "<img src=x", "<i>second</i>", "<svg onload"]
SHOWN = {
    "title": escape(TITLE),
    "description": escape(DESCRIPTION.split("\n")[0]),
    "note": escape(NOTE),
}


@pytest.fixture
def picks(curator):
    shortlist = Shortlist.objects.create(
        title=TITLE, slug="picks", description=DESCRIPTION, curator=curator
    )
    shortlist.entries.create(endpoint_id=FLUX, note=NOTE, position=1, added_by=curator)
    return shortlist


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


def shown(response, *fields: str, audit: bool = True) -> str:
    """The page, after checking it shows each field as escaped text and none as markup."""
    assert response.status_code < 400, response.status_code
    html = response.content.decode()
    for raw in RAW:
        assert raw not in html, f"{raw!r} reached {response.request['PATH_INFO']} as markup"
    for field in fields:
        assert SHOWN[field] in html, f"{field} is not shown on {response.request['PATH_INFO']}"
    if audit:
        parser = PageAudit()
        parser.feed(html)
        assert parser.problems == []
    return html


def test_the_shortlist_index_shows_titles_and_descriptions_as_text(member_client, picks):
    html = shown(member_client.get("/shortlists/"), "title", "description")
    assert f'<a href="/shortlists/picks/">{SHOWN["title"]}</a>' in html


def test_the_shortlist_page_shows_everything_as_text(curator_client, picks):
    html = shown(curator_client.get("/shortlists/picks/"), "title", "description", "note")
    assert f"<title>{SHOWN['title']} · Shortlists" in html
    assert f"<h1>{SHOWN['title']}</h1>" in html
    assert f'<p class="card-note">{SHOWN["note"]}</p>' in html
    assert f">{SHOWN['note']}</textarea>" in html  # the note editor
    assert f'aria-label="Remove {FLUX} from {SHOWN["title"]}"' in html
    assert SHOWN["description"] + "<br>" + escape("<i>second</i> line") in html


def test_members_see_the_same_text(member_client, picks):
    shown(member_client.get("/shortlists/picks/"), "title", "description", "note")


@pytest.mark.parametrize(
    "path",
    [f"/models/{FLUX}/", f"/models/{BANANA}/", "/", "/?q=flux", f"/compare/?endpoint_id={FLUX}"],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_card_menus_show_list_titles_as_text(curator_client, picks, path, htmx):
    headers = HTMX if htmx else {}
    if path == "/" or path.startswith("/?"):
        # Grid cards load their lists when a menu opens: the menu FLUX's card points to.
        page = curator_client.get(path, headers=headers).content.decode()
        menu = f"/shortlist-menu/?endpoint_id={FLUX}"
        assert f'hx-get="{menu}"' in page and SHOWN["title"] not in page
        path = menu
    html = shown(curator_client.get(path, headers=headers), "title")
    verb = "Remove from" if FLUX in path else "Add to"
    assert f'title="{verb} {SHOWN["title"]}"' in html
    assert f"</span> {SHOWN['title']}</button>" in html


def test_change_fragments_show_the_text(curator_client, picks):
    added = curator_client.post("/shortlists/picks/add/", {"endpoint_id": BANANA}, headers=HTMX)
    assert 'aria-pressed="true"' in shown(added, "title")
    noted = curator_client.post(
        "/shortlists/picks/note/", {"endpoint_id": BANANA, "note": NOTE}, headers=HTMX
    )
    shown(noted, "note")
    entry = picks.entries.get(endpoint_id=BANANA)
    removed = curator_client.post(
        "/shortlists/picks/remove/",
        {"endpoint_id": BANANA},
        headers={**HTMX, "HX-Target": f"entry-{entry.pk}"},
    )
    assert "Removed <code>" in shown(removed, "title")


def test_a_refused_change_shows_the_lists_as_text(curator_client, picks):
    response = curator_client.post("/shortlists/picks/add/", {"endpoint_id": "not an id"})
    assert response.status_code == 400
    html = response.content.decode()
    for raw in RAW:
        assert raw not in html
    assert SHOWN["title"] in html and SHOWN["description"] in html


def test_exports_carry_the_text_exactly_and_are_not_html(member_client, picks):
    response = member_client.get("/shortlists/picks/export.json")
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    data = json.loads(response.content)
    assert data["shortlist"]["title"] == TITLE
    assert data["shortlist"]["description"] == DESCRIPTION
    assert [entry["note"] for entry in data["entries"]] == [NOTE]
    response = member_client.get("/shortlists/picks/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["note"] for row in rows] == [NOTE]


def test_the_admin_shows_the_text_escaped(admin_client, picks):
    base = f"/admin/catalog/shortlist/{picks.pk}"
    # The admin has scripts of its own; only the curator's text is checked there.
    shown(admin_client.get("/admin/catalog/shortlist/"), "title", audit=False)
    change = shown(admin_client.get(f"{base}/change/"), "title", "note", audit=False)
    assert f">\n{escape(DESCRIPTION)}</textarea>" in change or escape(DESCRIPTION) in change
    shown(admin_client.get(f"{base}/delete/"), "title", audit=False)
    admin_client.post(
        f"{base}/change/",
        {
            "title": TITLE,
            "slug": "picks",
            "description": DESCRIPTION,
            "curator": picks.curator.pk,
            "entries-TOTAL_FORMS": "1",
            "entries-INITIAL_FORMS": "1",
            "entries-0-id": picks.entries.get().pk,
            "entries-0-shortlist": picks.pk,
            "entries-0-position": "1",
            "entries-0-endpoint_id": FLUX,
            "entries-0-note": NOTE + " edited",
        },
    )
    assert picks.entries.get().note == NOTE + " edited"
    shown(admin_client.get(f"{base}/history/"), "title", audit=False)
    shown(admin_client.get("/admin/"), "title", audit=False)  # recent actions


RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"


def test_bidirectional_controls_are_dropped_from_titles_descriptions_and_notes(curator_client):
    """ "\u202eevil\u202c" would show as "live": what a curator types is kept without them."""
    curator_client.post(
        "/shortlists/", {"title": f"{RLO}evil{PDF} list", "description": f"a {LRI}b{PDI} c"}
    )
    shortlist = Shortlist.objects.get()
    assert (shortlist.title, shortlist.description) == ("evil list", "a b c")
    slug = shortlist.slug
    curator_client.post(f"/shortlists/{slug}/add/", {"endpoint_id": FLUX, "note": f"{RLO}x"})
    assert shortlist.entries.get().note == "x"
    curator_client.post(f"/shortlists/{slug}/note/", {"endpoint_id": FLUX, "note": f"y{PDF}"})
    assert shortlist.entries.get().note == "y"


def test_a_title_of_bidirectional_controls_alone_is_refused(curator_client):
    response = curator_client.post("/shortlists/", {"title": RLO + PDF})
    assert response.status_code == 400 and not Shortlist.objects.exists()
    assert "Use at least one letter or digit in the title." in response.content.decode()
