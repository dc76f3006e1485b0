"""Latencies a member feels in Chromium: a facet click, and typing, until htmx has settled.

Playwright's sync API drives Debian's Chromium (headless) against a gunicorn on loopback,
signed in through the session cookie. Times are taken inside the page with
`performance.now()`: from the click (or the last keystroke) to the `htmx:afterSettle` of
the swap that answered it, so they include the request, the swap and the settle, and
exclude Playwright's own round trips.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.helpers import CHROMIUM, CHROMIUM_ARGS  # launched as the browser tests launch it

DEBOUNCE_MS = 300  # the search box's `delay:300ms` (templates/catalog/index.html)
# Successive facet clicks: each toggles a filter on or off, so every click changes the grid.
FACETS = [
    "#license-commercial",
    "#kind-inference",
    "#license-commercial",
    "#kind-all",
    "#status-all",
    "#license-research",
    "#status-active",
    "#license-research",
]
WORDS = ["flux", "video", "kling", "upscale", "whisper", "lora", "sdxl", "veo", "audio", "edit"]

_LISTEN = """() => {
  window.__settles = [];
  window.__lastKey = 0;
  document.body.addEventListener('htmx:afterSettle',
    () => window.__settles.push(performance.now()));
  document.addEventListener('keydown', () => { window.__lastKey = performance.now(); }, true);
}"""

_CLICK = """(selector) => new Promise((resolve, reject) => {
  const el = document.querySelector(selector);
  if (!el) { reject(new Error('no ' + selector)); return; }
  const started = performance.now();
  document.body.addEventListener('htmx:afterSettle',
    () => resolve(performance.now() - started), {once: true});
  el.click();
})"""


def measure(url: str, cookie: str, *, samples: int = 20) -> dict:
    """p50/p95 of a facet click until settled, and of the last keystroke until settled."""
    from playwright.sync_api import sync_playwright

    host = urlsplit(url).hostname
    out: dict = {"facet_ms": [], "keystroke_after_debounce_ms": [], "errors": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            # Inline, so that mypy reads the dict as playwright's SetCookieParam.
            context.add_cookies(
                [{"name": "sessionid", "value": cookie, "domain": host, "path": "/"}]
            )
            page = context.new_page()
            page.on("pageerror", lambda error: out["errors"].append(str(error)))
            page.set_default_timeout(15_000)
            page.goto(url + "/")
            page.wait_for_selector("#results")
            page.evaluate(_LISTEN)
            for n in range(2 + samples):  # two warm-up clicks, not counted
                ms = page.evaluate(_CLICK, FACETS[n % len(FACETS)])
                if n >= 2:
                    out["facet_ms"].append(round(ms, 1))
                page.wait_for_timeout(50)
            page.goto(url + "/")
            page.wait_for_selector("#results")
            page.evaluate(_LISTEN)
            box = page.locator("#q")
            for n in range(2 + samples):
                word = WORDS[n % len(WORDS)]
                box.evaluate("el => { el.value = ''; }")  # silently: no request for clearing
                box.focus()
                page.evaluate("() => { window.__settles = []; }")
                page.keyboard.type(word, delay=40)  # well inside the debounce
                page.wait_for_function(
                    "() => window.__settles.some(t => t > window.__lastKey)", timeout=15_000
                )
                ms = page.evaluate(
                    "() => window.__settles.find(t => t > window.__lastKey) - window.__lastKey"
                )
                if n >= 2:
                    out["keystroke_after_debounce_ms"].append(round(ms - DEBOUNCE_MS, 1))
                page.wait_for_timeout(50)
        finally:
            browser.close()
    for key in ("facet_ms", "keystroke_after_debounce_ms"):
        values = sorted(out[key])
        out[f"{key}_p50"] = _rank(values, 50)
        out[f"{key}_p95"] = _rank(values, 95)
    return out


def _rank(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]
