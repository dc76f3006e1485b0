"""The team's usage over the catalog (catalog.overlays, the cards' badge, the grid's used
facet and spend/calls sorts, the model page's "Our usage", compare's rows, shortlists, the
risk banner): after a usage sync over the emulator, every figure is the sum of what fal's
API answered for the last 30 days; the pages ask fal nothing and cost at most one query
more than without usage; before any usage sync they render as they did."""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import upstream
from catalog.index import catalog_index
from catalog.models import Change, Shortlist, SyncRun
from catalog.sync import CrawlFacts, sync_catalog
from catalog.watch import successors
from fal.client import FalModelsClient
from fal.usage import AnalyticsQuery, UsageQuery
from fal_emulator import Emulator, WSGITransport, load_snapshot, snapshot_emulator
from fal_emulator.demo_team import TEAM
from fal_emulator.usage import OFFLINE_ADMIN_KEY
from usage import selectors
from usage.figures import WINDOW_DAYS
from usage.sync import usage_sync

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
SORA, DEV = "fal-ai/sora-2/text-to-video", "fal-ai/flux/dev"
DEMO = "Demo usage, made up by the offline emulator"
COMPARE = f"/compare/?endpoint_id={DEV}&endpoint_id=fal-ai/flux/schnell"
PAGES = ("/?sort=spend", f"/models/{DEV}/", COMPARE)


@pytest.fixture(autouse=True)
def fresh_memo():
    """Each test's usage runs start again at the same ids: no figures kept from another."""
    selectors._kept.clear()
    selectors._daily.clear()


@pytest.fixture
def synced():
    """A usage sync over the emulator; the API's own sums of its last 30 days per endpoint:
    {endpoint: (spend, calls, errors, p50, p95)}."""
    run = usage_sync()
    until = run.until
    since = until - timedelta(days=WINDOW_DAYS)
    client = FalModelsClient(
        base_url="http://fal-emulator.invalid/v1",
        key=OFFLINE_ADMIN_KEY,
        transport=WSGITransport(snapshot_emulator()),
    )
    spend: dict[str, Decimal] = defaultdict(Decimal)
    report = client.usage(UsageQuery(start=since, end=until, timeframe="day", limit=100))
    for bucket in report.time_series:
        for line in bucket.lines:
            spend[line.endpoint_id] += Decimal(repr(line.cost_total))
    team = tuple(e.endpoint_id for e in TEAM)
    expected = {}
    for batch in (team[:25], team[25:]):
        query = AnalyticsQuery(
            endpoint_ids=batch, start=since, end=until, timeframe="day",
            expand=("summary", "request_count", "error_count", "p50_duration", "p95_duration"),
        )  # fmt: skip
        for record in client.analytics(query).summary:
            m = record.metrics()
            expected[record.endpoint_id] = (
                spend[record.endpoint_id], m["request_count"], m["error_count"],
                m["p50_duration"], m["p95_duration"],
            )  # fmt: skip
    assert set(expected) == set(team) and all(v[0] > 0 for v in expected.values())
    return expected


def badges(html: str) -> dict[str, str]:
    """Each card's endpoint id → its usage badge's text, in page order."""
    found = {}
    for card in re.findall(r'<article class="card.*?</article>', html, re.S):
        endpoint_id = re.search(r'data-endpoint-id="([^"]+)"', card).group(1)
        badge = re.search(r'<p class="card-usage"[^>]*>(.*?)</p>', card, re.S)
        found[endpoint_id] = unescape(re.sub(r"<[^>]+>", "", badge.group(1))) if badge else ""
    return found


def test_each_cards_figures_are_the_apis_sums_over_30_days(member_client, synced):
    catalog = catalog_index()
    usage = selectors.team_usage(selectors.latest_run_id())
    assert usage.demo
    for endpoint_id, (spend, calls, errors, p50, p95) in synced.items():
        model = catalog.get(endpoint_id)
        if model is None:
            assert endpoint_id == SORA  # fal's catalog does not list it
            continue
        card = catalog.card(model, usage)
        assert (card.usage.spend, card.usage.calls) == (spend, calls), endpoint_id
        assert (card.usage.errors, card.usage.p50, card.usage.p95) == (errors, p50, p95)
        assert DEMO in card.usage_title and f"{calls:,} calls" in card.usage_title
    html = member_client.get("/?sort=spend").content.decode()
    shown = badges(html)
    first = next(iter(shown))
    card = catalog.card(catalog.get(first), usage)
    assert shown[first] == f"{card.usage_badge} demo: {DEMO}"
    assert card.usage_badge.startswith("ours: ") and card.usage_badge.endswith(" / 30 d")


def test_sort_spend_and_calls_put_the_teams_most_first(member_client, synced):
    present = {e: v for e, v in synced.items() if e != SORA}
    for sort, place in (("spend", 0), ("calls", 1)):
        grid = member_client.get(f"/?sort={sort}").context["grid"]
        ids = [m.endpoint_id for m in grid.models]
        expected = sorted(present, key=lambda e: present[e][place], reverse=True)
        assert ids[: len(expected)] == expected, sort
        assert sorted(ids) == sorted(
            m.endpoint_id for m in member_client.get("/").context["grid"].models
        )


def test_used_counts_in_the_rail_what_the_grid_then_shows(member_client, synced):
    rail = member_client.get("/").context["grid"].facets["used"]
    assert [(o.value, o.count) for o in rail] == [("1", len(synced) - 1)]  # Sora 2: not listed
    response = member_client.get("/?used=1")
    grid = response.context["grid"]
    assert grid.total == len(synced) - 1
    assert {m.endpoint_id for m in grid.models} == set(synced) - {SORA}
    html = response.content.decode()
    assert "used by us, last 30 days" in html  # its chip
    assert set(badges(html)) <= set(synced) and all(badges(html).values())


def test_the_model_page_says_our_usage_in_figures_and_words(member_client, synced):
    spend, calls, errors, p50, p95 = synced[DEV]
    response = member_client.get(f"/models/{DEV}/")
    section = response.context["our_usage"]
    assert (section.usage.spend, section.usage.calls) == (spend, calls)
    assert sum(d.spend for d in section.days if d.spend) == spend
    assert sum(d.calls for d in section.days if d.calls) == calls
    html = unescape(response.content.decode())
    assert "Our usage" in html and f"{DEMO}: not your team's real figures." in html
    assert f"<dd>{calls:,}</dd>" in html
    assert f"{errors / calls * 100:.1f} %" in html
    assert f"{p50:,.3f}".rstrip("0").rstrip(".") + " s / " in html
    assert f"${spend.quantize(Decimal('0.01'))}" in html.replace(",", "")


@pytest.mark.parametrize(
    "endpoint_id",
    [DEV, "fal-ai/luma-dream-machine/ray-2", "fal-ai/elevenlabs/tts/multilingual-v2"],
)
def test_the_model_page_writes_each_figure_as_the_usage_page_does(
    member_client, synced, endpoint_id
):
    row = next(
        r
        for r in member_client.get("/usage/").context["rows"]
        if r.figures.endpoint_id == endpoint_id
    )
    html = unescape(member_client.get(f"/models/{endpoint_id}/").content.decode())
    section = html[html.index('id="our-usage-heading"') :]
    assert f"<dt>Spend, last 30 days</dt><dd>{row.spend}</dd>" in section
    assert f"<dt>Quantity</dt><dd>{row.quantity}</dd>" in section  # "199 × 5 seconds"
    assert f"<dd>{row.p50} / {row.p95}</dd>" in section


def test_compare_adds_the_teams_rows(member_client, synced):
    other = "fal-ai/flux/schnell"
    response = member_client.get(f"/compare/?endpoint_id={DEV}&endpoint_id={other}")
    rows = {row.key: [cell.text for cell in row.cells] for row in response.context["overview"]}
    spend, calls, *_ = synced[DEV]
    assert rows["our_calls"][0] == f"{calls:,}"
    assert rows["our_spend"][0] == f"${spend.quantize(Decimal('0.01')):,}"
    if other not in synced:
        assert rows["our_calls"][1] == ""
    assert "Demo usage, made up by the offline emulator." in response.content.decode()


def test_a_shortlist_shows_each_entrys_usage(member_client, curator, synced):
    shortlist = Shortlist.objects.create(title="Gen", slug="gen", curator=curator)
    shortlist.entries.create(endpoint_id=DEV, note="Our default")
    unused = next(m.endpoint_id for m in catalog_index().models if m.endpoint_id not in synced)
    shortlist.entries.create(endpoint_id=unused, note="Not called yet")
    shown = badges(member_client.get("/shortlists/gen/").content.decode())
    assert shown[DEV].startswith("ours: ") and DEMO in shown[DEV]
    assert shown[unused] == ""


def _breaking(documents: dict, endpoint_id: str) -> None:
    """Make an optional input of the endpoint required: a breaking change."""
    schemas = documents[endpoint_id]["components"]["schemas"]
    name = next(n for n in schemas if n.endswith("Input"))  # FluxLoraInput
    required = schemas[name].setdefault("required", [])
    required.append(next(p for p in schemas[name]["properties"] if p not in required))


def test_the_risk_banner_lists_gone_deprecated_and_broken_models_with_successors(
    client, member_client, curator, synced
):
    models, documents = copy.deepcopy(load_snapshot()[0]), copy.deepcopy(load_snapshot()[1])
    next(m for m in models if m["endpoint_id"] == DEV)["metadata"]["status"] = "deprecated"
    broken = "fal-ai/flux-lora"
    assert broken in synced
    _breaking(documents, broken)
    next(m for m in models if m["endpoint_id"] == broken)["metadata"]["updated_at"] = "later"
    with upstream.offline_source(Emulator(models, documents)):
        # Documents of this date, as fal's own are (the snapshot's are never diffed).
        assert sync_catalog(trigger="test", facts=CrawlFacts()).state == "succeeded"
    response = member_client.get("/")
    risks = {r.endpoint_id: r for r in response.context["usage_risks"]}
    assert set(risks) == {SORA, DEV, broken}
    assert risks[SORA].reasons == ("gone from fal",) and not risks[SORA].known
    assert risks[DEV].reasons == ("deprecated",) and risks[DEV].suggestions
    change = Change.objects.filter(endpoint_id=broken, breaking=True).latest("seen_at")
    assert risks[broken].reasons == (f"a breaking change on {change.seen_at:%Y-%m-%d}",)
    html = unescape(response.content.decode())
    assert "3 models you call are at risk" in html
    for suggestion in risks[DEV].suggestions:
        assert f'href="/models/{suggestion.endpoint_id}/"' in html
    assert "Used but on no shortlist" not in html  # members do not curate
    client.force_login(curator)
    unlisted = client.get("/").context["unlisted_used"]
    assert len(unlisted) == len(synced) - 1 and SORA not in unlisted


def test_a_change_from_before_the_window_is_no_risk_though_a_sync_read_it_today(
    member_client, synced
):
    # A first sync replays fal's older states today (offline: the snapshot's history, with
    # breaking changes of 2026-06-05 to models the demo team calls).
    replayed = "fal-ai/flux-lora"
    assert replayed in synced
    today = SyncRun.objects.latest("started_at")
    june = datetime(2026, 6, 5, 8, 8, tzinfo=UTC)
    assert june.date() < date.today() - timedelta(days=WINDOW_DAYS)
    Change.objects.create(
        endpoint_id=replayed, kind="schema", field="input.enable_safety_checker",
        breaking=True, sync=today, seen_at=june,
    )  # fmt: skip
    risks = member_client.get("/").context["usage_risks"]
    assert replayed not in {r.endpoint_id for r in risks}


def test_no_successor_is_offered_that_broke_in_the_same_window(member_client, synced):
    models = copy.deepcopy(load_snapshot()[0])
    next(m for m in models if m["endpoint_id"] == DEV)["metadata"]["status"] = "deprecated"
    with upstream.offline_source(Emulator(models, load_snapshot()[1])):
        assert sync_catalog(trigger="test", facts=CrawlFacts()).state == "succeeded"
    index = catalog_index()
    would_offer = [m.endpoint_id for m in successors(index.get(DEV), index, {DEV})]
    assert len(would_offer) >= 2
    latest = SyncRun.objects.latest("started_at")
    Change.objects.create(
        endpoint_id=would_offer[0], kind="schema", field="input.prompt", breaking=True,
        sync=latest, seen_at=latest.started_at,
    )  # fmt: skip
    offered = [c.endpoint_id for c in _risk(member_client, DEV).suggestions]
    assert would_offer[0] not in offered and offered[0] == would_offer[1]


def _risk(client, endpoint_id: str):
    return next(r for r in client.get("/").context["usage_risks"] if r.endpoint_id == endpoint_id)


def test_the_pages_ask_fal_nothing(member_client, synced, count_upstream):
    for url in PAGES:
        assert member_client.get(url).status_code == 200, url
    assert count_upstream == []


def _queries(client, url: str) -> int:
    client.get(url)  # warm: the session, the index, what is kept per run
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_pages_cost_at_most_one_query_more_with_usage(member_client):
    before = {url: _queries(member_client, url) for url in PAGES}
    usage_sync()
    after = {url: _queries(member_client, url) for url in PAGES}
    for url in PAGES:
        print(f"{url}: {before[url]} queries without usage, {after[url]} with")
        assert after[url] <= before[url] + 1, url


def test_without_a_usage_sync_the_pages_render_as_before(member_client):
    response = member_client.get("/?sort=spend")
    html = response.content.decode()
    assert not any(badges(html).values()) and "card-usage" not in html
    assert "Sorting by our spend needs usage: no usage synced yet." in html
    assert "No usage synced yet" in html  # the rail's usage facet
    assert "at risk" not in html
    model = member_client.get(f"/models/{DEV}/").content.decode()
    assert "No usage synced yet." in model and "ours:" not in model
    compare = member_client.get(COMPARE)
    assert not any(row.key.startswith("our_") for row in compare.context["overview"])


def test_the_catalogs_one_state_query_names_the_latest_usage_run():
    from catalog.index import catalog_state

    assert catalog_state().usage_run_id is None
    run = usage_sync()
    with CaptureQueriesContext(connection) as queries:
        assert catalog_state().usage_run_id == run.pk == selectors.latest_run_id()
    assert len(queries) == 2  # the state, then latest_run_id: the same answer


def test_a_new_worker_warms_the_cards_with_the_teams_badges(member_client):
    """gunicorn's warm-up renders the first page's cards as visitors will see them."""
    from catalog.index import warm_up

    usage_sync()
    index = warm_up()
    rendered = sum(1 for key in index._derived if key[0] == "card_html")
    html = member_client.get("/").content.decode()
    assert any(badges(html).values())
    assert sum(1 for key in index._derived if key[0] == "card_html") == rendered
