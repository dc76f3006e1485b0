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


# --- What a shallow cleanup may drop --------------------------------------------------------
# app.js empties an element marked data-cleanup="shallow" before htmx cleans it up, so htmx
# never undoes what it set up inside: a timer (delay, throttle, every, load, revealed,
# intersect) or a listener on another element (from:), an extension, an hx-on handler.
# Inside such an element, only triggers that live and die with their own element.
NEEDS_CLEANUP = ("from:", "every", "delay", "throttle", "load", "revealed", "intersect")


class ShallowCleanupChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # open elements inside a shallow-cleanup element (0: outside)
        self.shallow = 0
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            trigger = attrs.get("hx-trigger") or ""
            risky = [word for word in NEEDS_CLEANUP if word in trigger]
            risky += [name for name in attrs if name.startswith(("hx-on", "hx-ext", "hx-sse"))]
            if risky:
                self.found.append(f"<{tag} {attrs}>: {risky}")
        if attrs.get("data-cleanup") == "shallow":
            self.shallow += 1
        void = tag in {"input", "img", "br", "hr", "meta", "link", "source", "wbr"}
        if (self.depth or attrs.get("data-cleanup") == "shallow") and not void:
            self.depth += 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1


def shallow_cleanup_problems(html: str) -> tuple[int, list[str]]:
    checker = ShallowCleanupChecker()
    checker.feed(html)
    return checker.shallow, checker.found


def test_the_shallow_cleanup_checker_sees_a_timer_inside():
    html = '<div data-cleanup="shallow"><p><a hx-get="/" hx-trigger="every 2s">x</a></p></div>'
    shallow, problems = shallow_cleanup_problems(html)
    assert shallow == 1 and len(problems) == 1 and "every" in problems[0]
    html = '<div data-cleanup="shallow"><p></p></div><a hx-get="/" hx-trigger="load">x</a>'
    assert shallow_cleanup_problems(html) == (1, [])


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("who", ["member", "curator"])
def test_the_grids_results_hold_nothing_htmx_must_clean_up(client, member, curator, who, htmx):
    client.force_login(member if who == "member" else curator)
    if who == "curator":
        Shortlist.objects.create(title="Product shots", slug="product-shots", curator=curator)
    headers = {"HX-Request": "true", "HX-Target": "results"} if htmx else {}
    for path in ("/", "/?q=flux&compare=fal-ai/flux/dev", "/?q=zzzzzz", "/?page=2"):
        html = client.get(path, headers=headers).content.decode()
        shallow, problems = shallow_cleanup_problems(html)
        assert shallow == 1, path
        assert problems == [], path


def test_no_template_comment_spans_lines():
    """`{# … #}` ends on its own line in Django templates: one spanning lines is page text."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.html"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if line.count("{#") != line.count("#}")
    ]
    assert found == []
