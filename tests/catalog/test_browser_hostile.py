"""A hostile catalog in a real browser: no script runs, no dialog opens, the layout holds.

The catalog of fal_emulator/testing/hostile.py is served over loopback and every page that shows
it is opened (and hovered, focused, and its lazy parts loaded) in headless Chromium.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from catalog.models import Shortlist
from fal_emulator import serve
from fal_emulator.testing.hostile import FORMULA_ID, LONG_ID, VALID_IDS, XSS_ID, hostile_emulator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COMPARED = [XSS_ID, LONG_ID, "evil/rtl", "evil/no-metadata", "evil/wrong-types", FORMULA_ID]
PAGES = [
    "/?status=all",
    "/?status=all&sort=name",
    f"/?q=evil&compare={XSS_ID}&compare={LONG_ID}",
    *(f"/models/{quote(i, safe='/')}/" for i in (*VALID_IDS, "evil/url-3", "evil/surrogate")),
    "/compare/?" + "&".join(f"endpoint_id={i}" for i in COMPARED),
    "/shortlists/evil/",
]

# What a page must not contain once loaded: returned as a list of findings.
INSPECT = """() => {
  const findings = [];
  if (window.__xss !== undefined) findings.push("window.__xss was set");
  for (const script of document.scripts) {
    if (!script.src.startsWith(location.origin + "/static/"))
      findings.push("script not from /static/: " + (script.src || script.text.slice(0, 80)));
  }
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      if (/^(on|hx-on)/i.test(attr.name)) findings.push("handler " + attr.name);
      if (["href", "src", "action", "formaction", "data-animated", "poster"].includes(attr.name)
          && /^\\s*(javascript|data|vbscript):/i.test(attr.value))
        findings.push(attr.name + "=" + attr.value.slice(0, 60));
    }
  }
  for (const img of document.images) {
    if (img.currentSrc && !/^(https?:|blob:)/.test(img.currentSrc))
      findings.push("image from " + img.currentSrc.slice(0, 60));
  }
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  if (overflow > 1) findings.push("page scrolls sideways by " + overflow + " px");
  return findings;
}"""


@pytest.fixture(scope="module")
def hostile_server():
    server = serve(hostile_emulator())
    yield server
    server.shutdown()


@pytest.fixture
def hostile_page(settings, hostile_server, member_page, member):
    settings.FAL_API_URL = hostile_server.url
    shortlist = Shortlist.objects.create(title="Evil", slug="evil", curator=member)
    for position, endpoint_id in enumerate(VALID_IDS):
        shortlist.entries.create(
            endpoint_id=endpoint_id, note="<script>window.__xss=1</script>", position=position
        )
    dialogs: list[str] = []

    def dismiss(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    member_page.on("dialog", dismiss)
    member_page.dialogs = dialogs
    return member_page


def visit(page, base_url: str, path: str) -> list[str]:
    page.goto(base_url + path)
    page.wait_for_load_state("networkidle")  # the lazy schema and anything htmx loads
    for thumb in page.locator(".thumb").all()[:6]:  # the animated thumbnail swaps on hover
        thumb.hover()
    for field in page.locator("a, button, input").all()[:20]:  # autofocus/onfocus payloads
        field.focus()
    page.wait_for_timeout(100)
    return page.evaluate(INSPECT)


@pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_hostile_catalog_runs_no_script_and_keeps_its_layout(
    hostile_page, live_server, console_errors, viewport
):
    page = hostile_page
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    findings = {path: visit(page, live_server.url, path) for path in PAGES}
    assert {path: found for path, found in findings.items() if found} == {}
    assert page.dialogs == []
    assert console_errors == []  # a script blocked by the CSP would be reported here


def test_hostile_names_are_shown_as_text(hostile_page, live_server):
    page = hostile_page
    page.goto(f"{live_server.url}/models/{XSS_ID}/")
    heading = page.locator("h1").inner_text()
    assert heading.startswith("<script>window.__xss=1")
    assert page.locator("h1 script, h1 img").count() == 0
