"""/usage/ in a real headless Chromium: the chart is drawn by the vendored Chart.js under the
site's CSP, beside its table of the same figures; axe-core finds nothing, light and dark,
desktop and phone."""

from __future__ import annotations

import re

import pytest

from tests.helpers import axe_violations, describe_violations, sign_in
from usage.sync import usage_sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def demo_usage(settings):
    settings.USAGE_SYNC_CANDIDATES = ""  # the demo team's endpoints: one analytics batch
    run = usage_sync()
    assert (run.usage, run.analytics) == ("fetched", "fetched")


def open_usage(new_page, live_server, scheme: str, size: str, **options):
    page = new_page(viewport=SIZES[size], color_scheme=scheme, **options)
    sign_in(page, live_server, "mia", "member-pass-1234", "/usage/")
    page.wait_for_function("document.getElementById('usage-chart')?.dataset.drawn === 'true'")
    return page


def test_the_chart_is_drawn_under_the_csp_beside_its_table(
    new_page, live_server, member, demo_usage
):
    page = open_usage(new_page, live_server, "light", "desktop")
    assert page.url.endswith("/usage/")
    canvas = page.locator("#usage-chart")
    box = canvas.bounding_box()
    assert box["width"] > 600 and box["height"] > 200
    painted = page.evaluate(
        """() => {
          const c = document.getElementById('usage-chart');
          const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) n++;
          return n;
        }"""
    )
    assert painted > 10_000  # bars, not a blank canvas
    legend = page.evaluate("Chart.getChart('usage-chart').data.datasets.map(d => d.label)")
    assert len(legend) == 6 and legend[-1] == "Other models"
    canvas.focus()
    page.keyboard.press("End")
    shown = page.evaluate("Chart.getChart('usage-chart').tooltip.getActiveElements().length")
    assert shown == 6  # the last day's figures, each series
    table = page.locator(".usage-chart-table tbody tr")
    assert table.count() == 30
    page.locator(".usage-chart-table summary").click()
    assert page.locator(".usage-chart-table table").is_visible()
    assert new_page.errors == []  # a CSP violation would be one


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_page_passes_axe(new_page, live_server, member, demo_usage, axe_path, scheme, size):
    page = open_usage(new_page, live_server, scheme, size, bypass_csp=True)
    blocking = describe_violations({"usage": axe_violations(page, axe_path)})
    assert not blocking, f"axe-core, /usage/ on {size} in {scheme}:\n{blocking}"


def test_on_a_phone_each_model_is_a_card_read_without_scrolling_sideways(
    new_page, live_server, member, demo_usage
):
    page = open_usage(new_page, live_server, "light", "phone")
    scroller = page.locator(".table-scroll:has(.usage-table)")
    assert scroller.evaluate("s => s.scrollWidth <= s.clientWidth")
    first = page.locator(".usage-table tbody tr").first
    name, calls, quantity, spend, cost = (
        first.locator(part).bounding_box()
        for part in ("th", ".usage-calls", ".usage-quantity", ".usage-spend", ".usage-cost")
    )
    assert calls["y"] >= name["y"] + name["height"] - 1  # the figures under the model
    assert calls["y"] == quantity["y"] == spend["y"] < cost["y"]  # three to a line
    label = first.locator(".usage-spend").evaluate("c => getComputedStyle(c, '::before').content")
    assert label == '"Spend"'
    # Still a table to a screen reader, and the headings still sort it.
    assert page.get_by_role("rowheader").count() == page.locator(".usage-table tbody tr").count()
    spent = first.locator(".usage-spend").inner_text()
    assert page.get_by_role("cell", name=re.compile(re.escape(spent) + "$")).count() >= 1
    page.locator(".usage-table thead a", has_text="Errors").click()
    page.wait_for_url("**sort=errors**")
    assert page.locator(".usage-table th[aria-sort]").inner_text().startswith("ERRORS")
