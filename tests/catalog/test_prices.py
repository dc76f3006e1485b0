"""Prices: synced with the catalog (per key, with their history), shown on cards, the model
page (with a calculator over fal's estimate), compare and shortlists, sorted and filtered in
the grid; live without FAL_KEY, no price at all."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from collections import Counter
from decimal import Decimal
from html import unescape

import pytest
from django.core.cache import cache

from catalog import upstream
from catalog.browse import parse_grid_query
from catalog.index import catalog_index
from catalog.models import PriceRecord, Shortlist, SyncRun
from catalog.prices import NEEDS_KEY, card_price, key_fingerprint
from catalog.sync import sync_catalog
from fal.units import UNIT_CLASSES, format_money, parse_unit
from fal_emulator import Emulator, load_prices, load_snapshot, serve

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
KEY = "team-key-PRICECHECK-1"


@pytest.fixture(scope="module")
def snapshot():
    return load_snapshot()


@pytest.fixture(scope="module")
def recorded():
    """fal's recorded prices by endpoint id."""
    return {p["endpoint_id"]: p for p in load_prices()}


def of_class(recorded, key: str) -> list[str]:
    """The recorded endpoints whose unit is of class `key`."""
    return [i for i, p in recorded.items() if parse_unit(p["unit"]).cls.key == key]


def first_of_class(recorded, key: str) -> str:
    return of_class(recorded, key)[0]


@pytest.fixture
def live(settings, snapshot):
    """`live(prices, key=…)`: live mode against an emulator with these prices on loopback."""
    servers = []

    def start(prices, *, key=KEY):
        server = serve(Emulator(*copy.deepcopy(snapshot), prices))
        servers.append(server)
        settings.FAL_API_URL = server.url
        settings.FAL_KEY = key
        settings.CATALOG_SYNC_MAX_RPS = 0
        return server

    yield start
    for server in servers:
        server.shutdown()


def html(response) -> str:
    return unescape(response.content.decode())


def card_of(page: str, endpoint_id: str) -> str:
    start = page.index(f'data-endpoint-id="{endpoint_id}"')
    return page[start : page.index("</article>", start)]


# --- 3. The index: prices synced with the catalog, per key, with their history ------


def test_the_offline_sync_stores_every_recorded_price_under_no_key(recorded):
    current = PriceRecord.objects.filter(ended_at=None)
    assert set(current.values_list("key_fingerprint", flat=True)) == {""}
    stored = {r.endpoint_id: r for r in current}
    assert set(stored) == set(recorded) & set(catalog_index().by_id)
    for endpoint_id, row in stored.items():
        price = recorded[endpoint_id]
        assert (row.unit, row.currency) == (price["unit"], price["currency"])
        assert row.unit_price == Decimal(repr(price["unit_price"]))  # as written, no float dust
    run = SyncRun.objects.filter(state="succeeded").first()
    assert (run.price_calls, run.prices_seen, run.prices_error) == (29, len(stored), "")


def test_endpoints_per_unit_class_in_the_index(recorded):
    """The numbers in the report: every priced endpoint falls in exactly one class."""
    index = catalog_index()
    counts = Counter(p.unit_class for p in index.prices.values())
    expected = Counter(
        parse_unit(recorded[i]["unit"]).cls.key for i in index.prices if i in recorded
    )
    assert counts == expected and sum(counts.values()) == len(index.prices) == 1433
    assert set(counts) <= {c.key for c in UNIT_CLASSES}
    unpriced = [m.endpoint_id for m in index.models if m.endpoint_id not in index.prices]
    assert len(unpriced) == len(index.models) - 1433 == 1
    print("endpoints per unit class:", dict(counts), "unpriced:", unpriced)


def test_a_changed_price_starts_a_new_row_and_ends_the_old_one(sync_from, snapshot, recorded):
    endpoint_id = first_of_class(recorded, "image")
    before = PriceRecord.objects.get(endpoint_id=endpoint_id, ended_at=None)
    version = catalog_index().version
    prices = copy.deepcopy(list(recorded.values()))
    for price in prices:
        if price["endpoint_id"] == endpoint_id:
            price["unit_price"] = 0.0417
    run = sync_from(Emulator(*copy.deepcopy(snapshot), prices))
    assert run.state == "succeeded" and run.prices_changed == 1
    history = list(PriceRecord.objects.filter(endpoint_id=endpoint_id).order_by("first_seen"))
    assert [(r.unit_price, r.ended_at is None) for r in history] == [
        (before.unit_price, False),
        (Decimal("0.0417"), True),
    ]
    assert history[0].ended_at == history[1].first_seen  # queryable by endpoint and time
    assert history[1].first_seen_sync == run
    index = catalog_index()
    assert index.version != version and index.price(endpoint_id).text == "$0.0417 / image"


def test_an_unchanged_price_is_only_seen_again(sync_from, snapshot, recorded):
    rows = PriceRecord.objects.count()
    version = catalog_index().version
    run = sync_from(Emulator(*copy.deepcopy(snapshot), list(recorded.values())))
    assert run.prices_changed == 0 and PriceRecord.objects.count() == rows
    assert set(PriceRecord.objects.values_list("last_seen_sync", flat=True)) == {run.pk}
    assert catalog_index().version == version


def test_a_price_fal_no_longer_gives_ends_without_a_successor(sync_from, snapshot, recorded):
    endpoint_id = first_of_class(recorded, "second")
    prices = [p for p in recorded.values() if p["endpoint_id"] != endpoint_id]
    sync_from(Emulator(*copy.deepcopy(snapshot), prices))
    assert not PriceRecord.objects.filter(endpoint_id=endpoint_id, ended_at=None).exists()
    assert PriceRecord.objects.filter(endpoint_id=endpoint_id).count() == 1
    assert catalog_index().price(endpoint_id) is None


class PricingFails:
    """The emulator, but every pricing request is a 503."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"].startswith("/v1/models/pricing"):
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"error": {"type": "service_unavailable", "message": "down"}}']
        return self.app(environ, start_response)


def test_a_pricing_failure_does_not_fail_the_sync_and_prices_stay(sync_from, snapshot, recorded):
    before = set(PriceRecord.objects.values_list("pk", "unit_price", "ended_at"))
    prices = [{**p, "unit_price": p["unit_price"] * 2} for p in recorded.values()]
    run = sync_from(PricingFails(Emulator(*copy.deepcopy(snapshot), prices)))
    assert run.state == "succeeded" and run.error == ""
    assert run.prices_error.startswith("FalServerError") and "down" in run.prices_error
    assert set(PriceRecord.objects.values_list("pk", "unit_price", "ended_at")) == before
    assert len(catalog_index().prices) == 1433


def test_prices_are_kept_per_key_and_never_shared_between_keys(
    live, recorded, count_upstream, settings
):
    # This test reads the cache's keys, which only the local-memory cache can list.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Local-memory caches with one location share their store: start from an empty one.
    cache.clear()
    live(list(recorded.values()), key=KEY)
    run = sync_catalog()
    assert run.state == "succeeded" and run.price_calls == 29
    assert run.upstream_calls == run.pages + 29
    mine = key_fingerprint(KEY)
    assert PriceRecord.objects.filter(key_fingerprint=mine, ended_at=None).count() == 1433
    assert catalog_index().price_key == mine and len(catalog_index().prices) == 1433
    # Nothing stored or cached holds the key; only its fingerprint.
    assert not PriceRecord.objects.filter(key_fingerprint__contains=KEY).exists()
    # A sync caches none of its batches; the calculator's estimates are cached per key,
    # under its fingerprint, never the key.
    assert not any(":prices:" in str(k) for k in cache._cache)
    upstream.fetch_estimate(next(iter(recorded)), 1.0)
    assert any(":estimate:" in str(k) for k in cache._cache)
    assert KEY not in repr(list(cache._cache.keys()))
    # Another key sees no price of the first one's until its own sync.
    live(list(recorded.values()), key="another-team-key")
    index = catalog_index()
    assert index.price_key == key_fingerprint("another-team-key") and index.prices == {}


def test_the_price_cache_key_holds_the_fingerprint_not_the_key(settings):
    settings.FAL_API_URL = "http://127.0.0.1:9/v1"
    ids = ["fal-ai/flux/dev"]
    settings.FAL_KEY = KEY
    a = upstream.prices_cache_key(ids, generation="g", fingerprint=upstream.price_key_fingerprint())
    settings.FAL_KEY = "other"
    b = upstream.prices_cache_key(ids, generation="g", fingerprint=upstream.price_key_fingerprint())
    assert a != b and KEY not in a and "other" not in b


def test_live_without_a_key_fetches_no_prices(live, recorded, count_upstream):
    live(list(recorded.values()), key="")
    run = sync_catalog()
    assert run.state == "succeeded" and run.price_calls == 0
    assert not [url for url in count_upstream if "/pricing" in url]
    assert catalog_index().price_key is None and catalog_index().prices == {}


# --- 5. Where prices show -----------------------------------------------------------------


def test_every_card_shows_its_price_in_honest_units(member_client, recorded):
    page = html(member_client.get("/?q=flux"))
    shown = re.findall(r'data-endpoint-id="([^"]+)"', page)
    assert shown
    for endpoint_id in shown:
        card = card_of(page, endpoint_id)
        price = recorded.get(endpoint_id)
        if price is None:
            assert "No price from fal" in card
            continue
        text, tooltip = card_price(price["unit_price"], price["unit"], "USD").text, ""
        assert f"Price: </span>{text}</p>" in card, endpoint_id
        tooltip = card_price(price["unit_price"], price["unit"], "USD").tooltip
        assert f'title="{tooltip}"' in card


def test_a_vague_unit_says_price_varies_with_fals_figure_in_the_tooltip(member_client, recorded):
    endpoint_id = first_of_class(recorded, "vague")
    price = recorded[endpoint_id]
    page = html(member_client.get("/?" + f"q={endpoint_id}"))
    card = card_of(page, endpoint_id)
    assert "price varies" in card and "$1 / " not in card
    assert card_price(price["unit_price"], price["unit"], "USD").tooltip in card


def test_a_price_that_varies_has_no_calculator(member_client, recorded):
    """fal's unit for it counts nothing a person could enter: no form, and no estimate."""
    endpoint_id = first_of_class(recorded, "vague")
    page = html(member_client.get(f"/models/{endpoint_id}/"))
    assert "price varies" in page
    assert 'class="calculator"' not in page and "How many" not in page
    fragment = html(member_client.get(f"/estimate/{endpoint_id}/?quantity=4", headers=HTMX))
    assert "in a unit nothing can be counted in: no estimate." in fragment
    assert "<strong>" not in fragment
    priced = first_of_class(recorded, "image")
    assert 'class="calculator"' in html(member_client.get(f"/models/{priced}/"))


def test_the_grid_renders_a_cards_price_into_its_cached_html(sync_from, snapshot, recorded):
    """Members' cards are rendered once per index keyed by the card: a new price shows."""
    endpoint_id = first_of_class(recorded, "image")
    old = catalog_index()
    old.card_html(old.card(old.get(endpoint_id)), picked=False)
    prices = [
        {**p, "unit_price": 0.0999} if p["endpoint_id"] == endpoint_id else p
        for p in recorded.values()
    ]
    sync_from(Emulator(*copy.deepcopy(snapshot), prices))
    new = catalog_index()
    rendered = new.card_html(new.card(new.get(endpoint_id)), picked=False)
    assert "$0.0999 / image" in rendered


def test_the_model_page_shows_price_unit_in_words_and_a_reference_job(member_client, recorded):
    endpoint_id = first_of_class(recorded, "second")
    price = card_price(recorded[endpoint_id]["unit_price"], recorded[endpoint_id]["unit"], "USD")
    page = html(member_client.get(f"/models/{endpoint_id}/"))
    section = page[page.index('id="price-heading"') : page.index("<h2>Facts</h2>")]
    assert price.text in section and price.unit_words in section
    assert price.reference.startswith("≈ $") and "for a 5 s clip" in price.reference
    assert price.reference in section
    assert f"How many {price.quantity_noun}?" in section


def test_a_video_priced_per_megapixel_is_held_to_a_clip_not_an_image(member_client, recorded):
    video = "fal-ai/ltx-2-19b/distilled/text-to-video"
    assert recorded[video]["unit"].strip() == "megapixels"
    page = html(member_client.get(f"/models/{video}/"))
    assert "for a 121-frame 1280×720 clip (about 5 s)" in page
    assert "for a 1024×1024 image" not in page
    index = catalog_index()
    clip = Decimal(repr(recorded[video]["unit_price"])) * Decimal("111.5136")
    assert index.price(video).per_job == clip
    image = first_of_class(recorded, "megapixel")  # an image model's stays an image
    assert "1024×1024 image" in index.price(image).reference
    # "At most $0.05 for a typical job" no longer keeps it as if it cost a tenth of a cent.
    cheap = html(member_client.get("/?category=text-to-video&max_price=0.05&per_page=96"))
    assert f'data-endpoint-id="{video}"' not in cheap
    assert clip > Decimal("0.05")


def test_the_calculator_shows_fals_estimate(member_client, recorded, count_upstream):
    endpoint_id = first_of_class(recorded, "megapixel")
    price = recorded[endpoint_id]
    url = f"/estimate/{endpoint_id}/?quantity=12.5"
    response = member_client.get(url, headers=HTMX)
    assert response.status_code == 200
    fragment = html(response)
    assert fragment.lstrip().startswith('<div id="estimate"')
    total = Decimal(repr(price["unit_price"])) * Decimal("12.5")
    assert f"<strong>{format_money(total)}</strong> for 12.5 megapixels" in fragment
    assert [u for u in count_upstream if u.endswith("/models/pricing/estimate")]  # fal was asked
    # Without JavaScript the model page comes back with the estimate in it.
    page = html(member_client.get(url))
    assert "<h1>" in page and f"<strong>{format_money(total)}</strong>" in page


def test_the_calculator_converts_to_fals_unit(member_client, recorded):
    """12 seconds of a "5 seconds" unit is 2.4 fal units."""
    endpoint_id = next(
        i
        for i, p in recorded.items()
        if parse_unit(p["unit"]).multiplier == 5 and parse_unit(p["unit"]).cls.key == "second"
    )
    price = recorded[endpoint_id]
    fragment = html(member_client.get(f"/estimate/{endpoint_id}/?quantity=12", headers=HTMX))
    expected = format_money(Decimal(repr(price["unit_price"])) * Decimal("2.4"))
    assert f"<strong>{expected}</strong> for 12 seconds" in fragment


@pytest.mark.parametrize("unit", ["1000 characters", "1000 characters ", "1k characters"])
def test_a_price_per_1000_characters_asks_for_characters_and_counts_thousands(unit):
    price = card_price(Decimal("0.30"), unit, "USD")
    assert (price.unit_class, price.quantity_noun) == ("1k_characters", "characters")
    assert price.unit_quantity(Decimal(2500)) == Decimal("2.5")  # fal units: thousands
    assert price.per_class == Decimal("0.3")


@pytest.mark.parametrize(("unit", "fal_units"), [("1m tokens", 2), ("1000 tokens", 2000)])
def test_a_price_per_million_tokens_asks_for_tokens(unit, fal_units):
    price = card_price(Decimal("1.2"), unit, "USD")
    assert (price.unit_class, price.quantity_noun) == ("token", "tokens")
    assert price.unit_quantity(Decimal(2_000_000)) == fal_units


def test_the_calculator_prices_characters_by_the_thousand(
    member_client, sync_from, snapshot, recorded
):
    """$0.30 per 1,000 characters × 2,500 characters is $0.75 (fal is asked for 2.5 units)."""
    endpoint_id = first_of_class(recorded, "1k_characters")
    prices = [
        {**p, "unit_price": 0.30} if p["endpoint_id"] == endpoint_id else p
        for p in recorded.values()
    ]
    sync_from(Emulator(*copy.deepcopy(snapshot), prices))
    fragment = html(member_client.get(f"/estimate/{endpoint_id}/?quantity=2500", headers=HTMX))
    assert "<strong>$0.75</strong> for 2,500 characters" in fragment


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("", "Enter a quantity"),
        ("abc", "must be a positive number"),
        ("-3", "must be a positive number"),
        ("0", "must be more than 0"),
        ("1e9", "must be a positive number"),
        ("99999999999", "at most 1,000,000,000"),
        ("999999999999", "at most 1,000,000,000"),
        ("9" * 30, "at most 1,000,000,000"),
        ("2000000000", "at most 1,000,000,000"),
    ],
)
def test_the_calculator_says_what_is_wrong_with_a_quantity(member_client, quantity, message):
    response = member_client.get("/estimate/fal-ai/flux/dev/", {"quantity": quantity}, headers=HTMX)
    assert response.status_code == 200 and message in html(response)
    assert "<strong>" not in html(response)


def test_the_calculator_says_when_fal_fails(member_client, monkeypatch):
    from fal.errors import FalServerError

    def fail(**kwargs):
        raise FalServerError("Service temporarily unavailable", status=503)

    monkeypatch.setattr("catalog.services.catalog_estimate", fail)
    response = member_client.get("/estimate/fal-ai/flux/dev/?quantity=2", headers=HTMX)
    body = html(response)
    assert response.status_code == 200 and "banner-error" in body
    assert "fal could not estimate the cost: Service temporarily unavailable" in body


def estimate_calls(count_upstream) -> int:
    return len([u for u in count_upstream if u.endswith("/models/pricing/estimate")])


def shown_total(client, endpoint_id: str, quantity: str) -> str:
    """The total the calculator shows, or its message when it shows none."""
    page = html(client.get(f"/estimate/{endpoint_id}/?quantity={quantity}", headers=HTMX))
    found = re.search(r"<strong>(.*?)</strong>", page)
    return found.group(1) if found else re.sub(r"<[^>]+>|\s+", " ", page).strip()


def fals_total(recorded, endpoint_id: str, quantity: str) -> str:
    return format_money(Decimal(repr(recorded[endpoint_id]["unit_price"])) * Decimal(quantity))


def test_each_model_and_quantity_has_its_own_estimate_and_a_repeat_asks_fal_once(
    member_client, recorded, count_upstream
):
    megapixels = of_class(recorded, "megapixel")
    first = megapixels[0]
    second = next(
        i for i in megapixels if recorded[i]["unit_price"] != recorded[first]["unit_price"]
    )
    for endpoint_id, quantity in [(first, "2"), (first, "3"), (second, "2")]:
        assert shown_total(member_client, endpoint_id, quantity) == fals_total(
            recorded, endpoint_id, quantity
        )
    assert estimate_calls(count_upstream) == 3
    # The same quantity typed again: fal's answer is kept, not asked for again.
    assert shown_total(member_client, first, "2") == fals_total(recorded, first, "2")
    assert estimate_calls(count_upstream) == 3


class EstimateFailsFor:
    """The emulator, but an estimate that names `endpoint_id` is a 503."""

    def __init__(self, app, endpoint_id: str):
        self.app, self.endpoint_id, self.failed = app, endpoint_id, 0

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"].endswith("/pricing/estimate"):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            if self.endpoint_id.encode() in body:
                self.failed += 1
                start_response("503 Service Unavailable", [("Content-Type", "application/json")])
                return [b'{"error": {"type": "service_unavailable", "message": "busy"}}']
        return self.app(environ, start_response)


def test_a_failed_estimate_is_remembered_for_its_model_alone(
    member_client, recorded, snapshot, monkeypatch
):
    megapixels = of_class(recorded, "megapixel")
    failing, working = megapixels[:2]
    upstream_app = EstimateFailsFor(
        Emulator(*copy.deepcopy(snapshot), list(recorded.values())), failing
    )
    monkeypatch.setattr(upstream, "offline_app", lambda: upstream_app)
    assert "fal could not estimate the cost: busy" in shown_total(member_client, failing, "2")
    asked = upstream_app.failed
    assert asked >= 1
    # Another model's estimate is asked for, and answers.
    assert shown_total(member_client, working, "2") == fals_total(recorded, working, "2")
    # The failure is kept a while: asking again shows it without asking fal again.
    assert "fal could not estimate the cost: busy" in shown_total(member_client, failing, "2")
    assert upstream_app.failed == asked


def test_estimates_are_kept_per_key(live, recorded, count_upstream, member_client, settings):
    endpoint_id = first_of_class(recorded, "megapixel")
    live(list(recorded.values()), key=KEY)
    sync_catalog()
    assert shown_total(member_client, endpoint_id, "2") == fals_total(recorded, endpoint_id, "2")
    assert estimate_calls(count_upstream) == 1
    # Another key on the same fal asks fal itself: accounts' prices can differ.
    settings.FAL_KEY = "another-team-key"
    sync_catalog()
    assert shown_total(member_client, endpoint_id, "2") == fals_total(recorded, endpoint_id, "2")
    assert estimate_calls(count_upstream) == 2


def test_the_calculator_of_an_unknown_model_is_404(member_client):
    assert member_client.get("/estimate/nobody/nothing/?quantity=1").status_code == 404
    assert member_client.get("/estimate/not an id/?quantity=1").status_code == 404


def test_compare_has_a_price_row_and_tints_the_cheapest_of_a_class(member_client, recorded):
    images = of_class(recorded, "image")
    by_price = sorted(images, key=lambda i: recorded[i]["unit_price"])
    cheap, dear = by_price[0], by_price[-1]
    other = first_of_class(recorded, "second")
    query = "&".join(f"endpoint_id={i}" for i in (dear, other, cheap))
    page = html(member_client.get(f"/compare/?{query}"))
    rows = {
        label: row
        for label, row in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', page, re.S)
    }
    cells = re.findall(r"<td([^>]*)>(.*?)</td>", rows["Price"], re.S)
    assert len(cells) == 3
    texts = [
        card_price(recorded[i]["unit_price"], recorded[i]["unit"], "USD")
        for i in (dear, other, cheap)
    ]
    for (attrs, body), price in zip(cells, texts, strict=True):
        assert price.text in body and f'title="{price.tooltip}"' in attrs
    assert ["cell-cheapest" in attrs for attrs, _ in cells] == [False, False, True]
    assert "Reference job" in rows
    assert texts[0].reference in rows["Reference job"]
    markdown = page[page.index("## Comparing") :]
    assert f"| Price | {texts[0].text} | {texts[1].text} | {texts[2].text} |" in markdown


def test_compare_only_differences_keeps_the_price_row(member_client, recorded):
    ids = list(recorded)[:2]
    page = html(member_client.get(f"/compare/?endpoint_id={ids[0]}&endpoint_id={ids[1]}&only=diff"))
    if recorded[ids[0]]["unit_price"] != recorded[ids[1]]["unit_price"]:
        assert '<th scope="row">Price</th>' in page


def test_shortlist_page_and_exports_carry_prices(member_client, member, recorded):
    endpoint_id = first_of_class(recorded, "megapixel")
    shortlist = Shortlist.objects.create(title="Shots", slug="shots", curator=member)
    shortlist.entries.create(endpoint_id=endpoint_id, position=1)
    price = card_price(recorded[endpoint_id]["unit_price"], recorded[endpoint_id]["unit"], "USD")
    page = html(member_client.get("/shortlists/shots/"))
    assert price.text in card_of(page, endpoint_id)
    exported = json.loads(member_client.get("/shortlists/shots/export.json").content)
    (row,) = exported["entries"]
    assert (row["price"], row["unit"], row["unit_class"]) == (
        repr(recorded[endpoint_id]["unit_price"]),
        recorded[endpoint_id]["unit"],
        "megapixel",
    )
    (csv_row,) = csv.DictReader(
        io.StringIO(member_client.get("/shortlists/shots/export.csv").content.decode())
    )
    assert csv_row["price"] == row["price"] and csv_row["unit"] == row["unit"]


# --- The grid: sort=price, unit=, max_price= ---------------------------------------


def test_sort_price_is_cheapest_first_within_unit_classes_in_a_fixed_order(recorded):
    index = catalog_index()
    result = index.grid(parse_grid_query({"sort": "price", "status": "all"}))
    order = [c.key for c in UNIT_CLASSES]
    keys = []
    for model in result.models:
        price = index.price(model.endpoint_id)
        rank = order.index(price.unit_class) if price else len(order)
        keys.append((rank, price.per_class if price and price.per_class is not None else 0))
    assert keys == sorted(keys) and len(keys) == len(index.models)
    classes = [
        index.price(m.endpoint_id).unit_class for m in result.models if index.price(m.endpoint_id)
    ]
    assert classes[0] == "image" and classes[-1] == "vague"
    assert index.price(result.models[-1].endpoint_id) is None  # the unpriced one is last


def test_the_unit_filter_and_its_counts(member_client):
    index = catalog_index()
    result = index.grid(parse_grid_query({"unit": "second", "status": "all"}))
    expected = [
        m for m in index.models if (p := index.price(m.endpoint_id)) and p.unit_class == "second"
    ]
    assert result.models == expected and result.total > 0
    counts = {o.value: o.count for o in result.facets["unit"]}
    assert counts["second"] == len(expected)
    assert sum(counts.values()) == 1433  # disjunctive: each option says what choosing it shows
    body = html(member_client.get("/?unit=second&status=all"))
    assert f"<strong>{len(expected)}</strong> model" in body
    assert "unit: per second" in body


def test_max_price_keeps_comparable_prices_at_most_that(member_client):
    index = catalog_index()
    query = parse_grid_query({"max_price": "0.01", "unit": "image", "status": "all"})
    result = index.grid(query)
    assert result.models
    for model in result.models:
        price = index.price(model.endpoint_id)
        assert price.unit_class == "image" and price.per_class <= Decimal("0.01")
    everything = [
        m for m in index.models
        if (p := index.price(m.endpoint_id)) and p.unit_class == "image"
        and p.per_class <= Decimal("0.01")
    ]  # fmt: skip
    assert result.models == everything
    vague = index.grid(parse_grid_query({"max_price": "1000", "unit": "vague", "status": "all"}))
    assert vague.total == 0  # "price varies" cannot be held to a maximum


def test_the_rail_keeps_the_max_price_and_says_when_results_have_no_price(member_client):
    page = html(member_client.get("/", {"max_price": "0.050", "unit": "image"}))
    assert (
        'name="max_price" type="text" inputmode="decimal" placeholder="e.g. 0.05" value="0.05"'
        in page
    )
    # Prices are known, only not for these results: the price facet says that, not why.
    nothing = html(member_client.get("/", {"q": "zzqqxx"}))  # matches nothing, not even in part
    assert '<li class="muted">No prices in these results</li>' in nothing


def test_price_filters_stay_in_the_url_in_canonical_order():
    query = parse_grid_query(
        {"sort": "price", "max_price": "$0.050", "unit": "image", "q": "flux", "kind": "inference"}
    )
    assert query.url() == "?q=flux&kind=inference&unit=image&max_price=0.05&sort=price"
    assert query.has_filters
    assert parse_grid_query({"max_price": "0"}).url() == "?max_price=0"


# --- A max price is per the unit the person chose, or per typical job (issue 28) -----------

# What a typical job is, per class, written out here (fal.units' reference jobs): a model
# priced in a class without one has no cost "per job" to hold to a maximum.
JOB_SIZE = {"image": 1, "megapixel": Decimal("1.048576"), "second": 5, "video": 1,
            "1k_characters": 1, "call": 1}  # fmt: skip
PER_1M_TOKENS = {"1m tokens": 1, "1000 tokens": 1000}
CHIPS = re.compile(r'aria-label="Remove filter ([^"]+)"')
CARD_PRICES = re.compile(
    r'<p class="card-price[^"]*"[^>]*><span class="visually-hidden">Price: </span>([^<]+)</p>'
)


def job_cost(price) -> Decimal | None:
    if price is None or price.unit_class not in JOB_SIZE:
        return None
    return price.unit_price / parse_unit(price.unit).multiplier * JOB_SIZE[price.unit_class]


def test_a_bare_max_price_is_per_typical_job_and_the_page_counts_what_it_leaves_out(
    member_client,
):
    """`?category=text-to-image&max_price=0.01` kept $0.00007 per compute-second models."""
    index = catalog_index()
    every = index.grid(parse_grid_query({"category": "text-to-image"})).models
    per_compute_second = [
        m for m in every
        if (p := index.price(m.endpoint_id)) and p.unit_class == "compute_second"
        and p.unit_price <= Decimal("0.01")
    ]  # fmt: skip
    assert per_compute_second, "the snapshot has the case the issue found"
    result = index.grid(parse_grid_query({"category": "text-to-image", "max_price": "0.01"}))
    expected = [
        m for m in every
        if (cost := job_cost(index.price(m.endpoint_id))) is not None and cost <= Decimal("0.01")
    ]  # fmt: skip
    assert result.models == expected and expected
    left_out = [
        m for m in every
        if (p := index.price(m.endpoint_id)) and p.unit_class not in JOB_SIZE
    ]  # fmt: skip
    page = html(member_client.get("/?category=text-to-image&max_price=0.01"))
    assert CHIPS.findall(page) == ["text-to-image", "at most $0.01 for a typical job"]
    assert f"{len(left_out)} models left out" in page
    assert "per compute second" in page[page.index(f"{len(left_out)} models left out") :]


def test_a_max_price_without_a_unit_never_keeps_a_price_per_token():
    """`max_price=0.00001` showed "$2.50 / 1M tokens" (0.0000025 per token)."""
    index = catalog_index()
    result = index.grid(parse_grid_query({"max_price": "0.00001", "status": "all"}))
    classes = {index.price(m.endpoint_id).unit_class for m in result.models}
    assert classes <= set(JOB_SIZE)
    assert "token" not in classes and "compute_second" not in classes


@pytest.mark.parametrize(
    ("url", "chip", "label"),
    [
        ("unit=second&max_price=0.01", "at most $0.01 per second", "At most $ per second"),
        (
            "unit=image&unit=second&max_price=0.5",
            "at most $0.50 per image or per second",
            "At most $ per image or per second",
        ),
        ("unit=token&max_price=3", "at most $3 per 1M tokens", "At most $ per 1M tokens"),
        ("max_price=0.05", "at most $0.05 for a typical job", "At most $ for a typical job"),
        ("unit=second&unit=vague&max_price=1", "at most $1 per second", "At most $ per second"),
        ("unit=vague&max_price=1", "at most $1 per fal unit", "At most $ per fal unit"),
        ("max_price=0", "at most $0 for a typical job", "At most $ for a typical job"),
    ],
)
def test_the_chip_and_the_price_box_say_what_the_maximum_is_per(member_client, url, chip, label):
    page = html(member_client.get(f"/?{url}"))
    assert chip in CHIPS.findall(page)
    assert re.search(rf'<label class="price-filter" for="max_price">\s*{re.escape(label)}', page)


def test_a_max_price_with_a_unit_is_per_that_unit_as_the_cards_show_it(member_client, recorded):
    """Per 1M tokens, whether fal wrote "1m tokens" or "1000 tokens"."""
    index = catalog_index()
    result = index.grid(parse_grid_query({"unit": "token", "max_price": "3", "status": "all"}))
    expected = [
        m for m in index.models
        if (p := recorded.get(m.endpoint_id)) and p["unit"] in PER_1M_TOKENS
        and Decimal(repr(p["unit_price"])) * PER_1M_TOKENS[p["unit"]] <= 3
    ]  # fmt: skip
    assert result.models == expected
    assert 0 < len(expected) < len(of_class(recorded, "token"))
    page = html(member_client.get("/?unit=token&max_price=3&status=all"))
    shown = CARD_PRICES.findall(page)
    assert len(shown) == len(expected)
    assert all(text.endswith(" / 1M tokens") for text in shown), shown
    assert all(Decimal(text[1:].split(" ")[0]) <= 3 for text in shown), shown


def figure(text: str) -> Decimal:
    return Decimal(text.removeprefix("$").split(" / ")[0].replace(",", ""))


def test_a_unit_sorted_by_price_shows_one_unit_cheapest_first_in_three_figures(member_client):
    """`?unit=second&sort=price` listed $0.00001/s, "$0.0007 / min", "$0.00006944444 / s"."""
    page = html(member_client.get("/?unit=second&sort=price&status=all"))
    shown = CARD_PRICES.findall(page)
    assert len(shown) == 48
    assert all(re.fullmatch(r"\$[0-9.,]+ / s( of input)?", text) for text in shown), shown
    figures = [figure(text) for text in shown]
    assert figures == sorted(figures)
    assert {"$0.00001 / s", "$0.0000117 / s", "$0.0000694 / s"} <= set(shown)
    for value in figures:  # three significant figures, or to the cent
        digits = len(value.normalize().as_tuple().digits)
        assert digits <= 3 or value == value.quantize(Decimal("0.01")), value


# --- 6. Live without FAL_KEY ------------------------------------------------------------


def test_live_without_a_key_says_so_and_invents_nothing(live, recorded, member_client):
    live(list(recorded.values()), key="")
    assert sync_catalog().state == "succeeded"
    endpoint_id = first_of_class(recorded, "image")
    offline = card_price(recorded[endpoint_id]["unit_price"], recorded[endpoint_id]["unit"], "USD")
    for url in (f"/?q={endpoint_id}", f"/models/{endpoint_id}/"):
        body = html(member_client.get(url))
        assert NEEDS_KEY in body and offline.text not in body, url
    # The rail's price facet says why it has no options.
    assert f'<li class="muted">{NEEDS_KEY}</li>' in html(member_client.get("/"))
    card = card_of(html(member_client.get(f"/?q={endpoint_id}")), endpoint_id)
    assert "$" not in card
    page = html(
        member_client.get(f"/compare/?endpoint_id={endpoint_id}&endpoint_id=fal-ai/flux/dev")
    )
    assert NEEDS_KEY in page and "cell-cheapest" not in page
    estimate = html(member_client.get(f"/estimate/{endpoint_id}/?quantity=2", headers=HTMX))
    assert NEEDS_KEY in estimate and "<strong>" not in estimate
