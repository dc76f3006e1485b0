"""Hostile upstream content: whatever fal's API sends, every page escapes it, links and shows
only http(s) URLs, and still renders (see fal_emulator/testing/hostile.py for what is sent).

Each page is parsed: no inline script, no event-handler or style attribute, no URL
attribute outside http(s) and the site's own paths, no payload as markup, and the
payloads still shown as text.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest

from catalog.models import CatalogEntry, Shortlist
from fal_emulator.testing.hostile import (
    FORMULA_ID,
    LONG_ID,
    RAW_MARKERS,
    SCRIPT,
    VALID_IDS,
    XSS_ID,
    hostile_emulator,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "srcset", "data-animated"}
URL_ATTRIBUTES |= {"hx-get", "hx-post", "hx-put", "hx-delete", "hx-patch", "background", "cite"}


class PageAudit(HTMLParser):
    """Everything in a page that could run code or load something it should not."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            if name == "style":
                self.problems.append(f"<{tag} style=…> inline style")
            if name in URL_ATTRIBUTES and value:
                self.urls.append(value)
                if not _safe_url(value):
                    self.problems.append(f"<{tag} {name}={value[:80]!r}> unsafe URL")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.problems.append(f"<script src={src[:80]!r}> not the site's own")
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script {data[:80]!r}")


def _safe_url(value: str) -> bool:
    value = value.strip()
    if value.startswith(("/", "?", "#")) and not value.startswith("//"):
        return True
    return urlsplit(value).scheme in ("http", "https") and "evil.example" not in value


def audit(response) -> str:
    """The page as text after checking it; fails on a 5xx or anything unsafe."""
    assert response.status_code < 500, response.status_code
    html = response.content.decode()
    parser = PageAudit()
    parser.feed(html)
    assert parser.problems == []
    for marker in RAW_MARKERS:
        assert marker not in html, f"{marker!r} reached the page as markup"
    return html


@pytest.fixture
def hostile(sync_from):
    """The index synced from the hostile catalog (the snapshot's models are then gone)."""
    run = sync_from(hostile_emulator())
    assert run.state == "succeeded", run.error
    return run


def model_url(endpoint_id: str) -> str:
    return "/models/" + quote(endpoint_id, safe="/") + "/"


# --- The grid -----------------------------------------------------------------------------------


PRESENT = 18  # the 16 usable ids, the markup id (text only) and fal-ai/flux/dev
EVERY = -1  # a count of every model, gone ones too (known only once synced)
ESCAPED_SCRIPT = "&lt;script&gt;window.__xss=1"


def card_count(html: str) -> int:
    return int(re.search(r'<p id="result-count"[^>]*><strong>(\d+)</strong>', html).group(1))


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("", PRESENT),
        ("?q=evil&status=all", PRESENT - 1),
        ("?sort=name", PRESENT),
        ("?sort=newest&status=all", EVERY),  # the bundled catalog synced before is gone now
        # No model has exactly this category or group: the value is echoed (chip, facet).
        (f"?category={quote(SCRIPT)}", 0),
        (f"?tag={quote(SCRIPT)}", 10),  # evil/xss-everywhere and the nine URL cases
        (f"?group={quote(SCRIPT)}", 0),
        (f"?compare={XSS_ID}&compare={LONG_ID}", PRESENT),
        ("?license=unknown&kind=inference", 5),
    ],
)
def test_the_grid_escapes_everything(member_client, hostile, query, count):
    if count == EVERY:  # present and gone: every entry the index keeps
        count = PRESENT + CatalogEntry.objects.exclude(gone_at=None).count()
    for headers in ({}, HTMX):
        html = audit(member_client.get("/" + query, headers=headers))
        assert card_count(html) == count
        # Each view shows a payload, so each one proves it escaped rather than dropped it.
        assert ESCAPED_SCRIPT in html
        assert ("No models match" in html) == (count == 0)


def test_the_grid_shows_hostile_entries_as_text(member_client, hostile):
    html = audit(member_client.get("/?status=all"))
    assert "&lt;script&gt;window.__xss=1;alert(&#x27;script&#x27;)&lt;/script&gt;" in html
    assert "evil/no-metadata" in html and "evil/wrong-types" in html
    assert "=HYPERLINK" in html
    assert "broken \ufffd text" in html or "broken ? text" in html  # the lone surrogate


def test_entries_whose_id_cannot_be_a_url_are_left_out(member_client, hostile):
    indexed = set(CatalogEntry.objects.filter(gone_at=None).values_list("endpoint_id", flat=True))
    assert "evil/new\nline" not in indexed and "" not in indexed
    assert hostile.models_seen == len(indexed) == PRESENT
    html = audit(member_client.get("/?status=all"))
    assert "id with a newline" not in html and "empty id" not in html
    # Markup in an id is only text: shown escaped, its model page a clear 404.
    assert "evil/&lt;script&gt;window.__xss" in html
    response = member_client.get(model_url(f"evil/{SCRIPT}"))
    assert response.status_code == 404
    assert "That is not a fal endpoint id." in audit(response)


# --- Model pages, schemas, compare ------------------------------------------------------------


@pytest.mark.parametrize("endpoint_id", [*VALID_IDS, "evil/surrogate", "evil/url-3", "evil/url-9"])
def test_model_pages_escape_everything(member_client, hostile, endpoint_id):
    html = audit(member_client.get(model_url(endpoint_id)))
    assert endpoint_id in html


def test_the_model_page_links_only_http_urls(member_client, hostile):
    html = audit(member_client.get(model_url(XSS_ID)))
    assert "javascript:" not in html.lower() and "data:" not in html
    assert '<img class="thumb-img"' not in html  # its thumbnail URL is javascript:
    assert "API endpoint" not in html and "Stream URL" not in html


@pytest.mark.parametrize("endpoint_id", [XSS_ID, FORMULA_ID, LONG_ID])
def test_schemas_and_snippets_escape_everything(member_client, hostile, endpoint_id):
    schema_url = "/schema/" + quote(endpoint_id, safe="/") + "/"
    fragment = audit(member_client.get(schema_url, headers=HTMX))
    page = audit(member_client.get(schema_url))
    if endpoint_id == LONG_ID:  # its document is only a payload, with no paths at all
        assert "The schema lists no inputs." in fragment and SCRIPT not in fragment
        assert f"fal_client.subscribe(\n    &quot;{LONG_ID}&quot;" in fragment
    else:
        assert "&lt;script&gt;window.__xss" in fragment and "&lt;script&gt;window.__xss" in page
        assert "&lt;img src=x onerror" in fragment  # a field's description, as text


def test_compare_escapes_everything(member_client, hostile):
    ids = [XSS_ID, LONG_ID, "evil/rtl", "evil/no-metadata", "evil/wrong-types", FORMULA_ID]
    path = "/compare/?" + "&".join(f"endpoint_id={i}" for i in ids)
    html = audit(member_client.get(path))
    audit(member_client.get(path + "&only=diff", headers=HTMX))
    assert "&lt;script&gt;window.__xss" in html
    # The Markdown to copy is text in the page: escaped like the rest.
    audit(member_client.get(f"/compare/?endpoint_id={XSS_ID}&add=evil"))


# --- Shortlists and exports ---------------------------------------------------------------------


@pytest.fixture
def evil_list(hostile, member):
    shortlist = Shortlist.objects.create(title="Evil", slug="evil", curator=member)
    for position, endpoint_id in enumerate(VALID_IDS):
        shortlist.entries.create(endpoint_id=endpoint_id, note=SCRIPT, position=position)
    return shortlist


def test_a_shortlist_of_hostile_models_escapes_everything(member_client, evil_list):
    html = audit(member_client.get("/shortlists/evil/"))
    assert html.count("&lt;script&gt;window.__xss") >= len(VALID_IDS)  # notes and names
    audit(member_client.get("/shortlists/"))


def test_csv_export_keeps_formulas_as_text(member_client, evil_list):
    response = member_client.get("/shortlists/evil/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    formula = next(row for row in rows if row["endpoint_id"] == FORMULA_ID)
    assert formula["name"].startswith("'=HYPERLINK")
    assert formula["category"].startswith("'+cmd")
    assert all(not value.startswith(("=", "+", "-", "@")) for row in rows for value in row.values())


def test_json_export_is_json_not_html(member_client, evil_list):
    response = member_client.get("/shortlists/evil/export.json")
    assert response["Content-Type"].startswith("application/json")
    assert response["X-Content-Type-Options"] == "nosniff"
    names = [entry["name"] for entry in response.json()["entries"]]
    assert any(SCRIPT in name for name in names)  # data, exactly as fal sent it
