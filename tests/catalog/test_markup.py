"""Markup a browser would have to repair: block elements inside a <p> (the parser closes the
<p> early, so styles and the accessibility tree no longer match the template)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from catalog.models import Shortlist, ShortlistEntry

pytestmark = pytest.mark.django_db

# Elements that may not appear inside a <p> (HTML's "flow but not phrasing" content we use).
BLOCKS = {
    "address", "article", "aside", "blockquote", "details", "dialog", "div", "dl", "fieldset",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main",
    "nav", "ol", "p", "pre", "section", "summary", "table", "ul",
}  # fmt: skip


class BlockInParagraph(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open_p = 0
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in BLOCKS and self.open_p:
            self.found.append(f"<{tag} {dict(attrs)}> at line {self.getpos()[0]}")
        if tag == "p":
            self.open_p += 1

    def handle_endtag(self, tag):
        if tag == "p" and self.open_p:
            self.open_p -= 1


def blocks_in_paragraphs(html: str) -> list[str]:
    parser = BlockInParagraph()
    parser.feed(html)
    return parser.found


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    Shortlist.objects.create(title="Product shots", slug="product-shots", curator=curator)
    return client


def test_the_checker_sees_a_block_in_a_paragraph():
    assert blocks_in_paragraphs("<p>a <details><summary>x</summary></details></p>")
    assert not blocks_in_paragraphs("<div><p>a</p><details></details></div>")


@pytest.mark.parametrize(
    "path",
    ["/models/fal-ai/flux/dev/", "/shortlists/product-shots/", "/shortlists/product-shots/edit/"],
)
def test_curators_pages_have_no_block_inside_a_paragraph(curator_client, path):
    ShortlistEntry.objects.create(
        shortlist=Shortlist.objects.get(slug="product-shots"), endpoint_id="fal-ai/flux/dev"
    )
    response = curator_client.get(path)
    assert response.status_code == 200
    assert blocks_in_paragraphs(response.content.decode()) == []
