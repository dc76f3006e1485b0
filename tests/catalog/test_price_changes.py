"""Price changes in the catalog history: recorded by the sync against an earlier recorded
price (changed, gone away, appeared), listed on /changes/?kind=price, in the Atom feed and
in the model page's History section; the first prices of an index are a baseline."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest

from catalog.changes import describe
from catalog.models import Change, PriceRecord
from fal_emulator import Emulator, load_prices, load_snapshot

pytestmark = pytest.mark.django_db
FLUX = "fal-ai/flux/dev"  # $0.025 per megapixel in the recorded prices
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def snapshot():
    return load_snapshot()


def emulator(snapshot, prices, *, extra_models=()):
    models, documents = copy.deepcopy(snapshot)
    return Emulator([*models, *extra_models], documents, prices)


def prices_with(**changes):
    """The recorded prices, flux/dev's changed by `changes` (unit_price=None drops it)."""
    prices = copy.deepcopy(load_prices())
    flux = next(p for p in prices if p["endpoint_id"] == FLUX)
    if changes.get("unit_price", 0) is None:
        return [p for p in prices if p is not flux]
    flux.update(changes)
    return prices


@pytest.fixture
def raised(sync_from, snapshot):
    """A sync that sees flux/dev's price go from $0.025 to $0.03 per megapixel."""
    run = sync_from(emulator(snapshot, prices_with(unit_price=0.03)))
    assert run.state == "succeeded", run.error
    return run


def test_a_changed_price_is_one_price_change_with_before_and_after(raised):
    (change,) = Change.objects.filter(kind="price")
    assert (change.endpoint_id, change.sync, change.breaking) == (FLUX, raised, False)
    assert change.before == {"unit_price": "0.025", "unit": "megapixels", "currency": "USD"}
    assert change.after == {"unit_price": "0.03", "unit": "megapixels", "currency": "USD"}
    assert change.category == "text-to-image"
    assert describe(change) == "Price changed from $0.025 per megapixel to $0.03 per megapixel."
    assert Change.objects.count() == 1  # nothing else changed


def test_unchanged_prices_record_no_change(sync_from, snapshot):
    run = sync_from(emulator(snapshot, load_prices()))
    assert run.state == "succeeded" and run.prices_seen > 1000
    assert not Change.objects.exists()


def test_a_new_unit_or_currency_is_a_price_change(sync_from, snapshot):
    sync_from(emulator(snapshot, prices_with(unit="images")))
    (change,) = Change.objects.filter(kind="price")
    assert describe(change) == "Price changed from $0.025 per megapixel to $0.025 per image."
    sync_from(emulator(snapshot, prices_with(unit="images", currency="EUR")))
    assert describe(Change.objects.filter(kind="price").first()) == (
        "Price changed from $0.025 per image to 0.025 EUR per image."
    )


def test_a_price_that_goes_away_and_comes_back_is_recorded_both_times(sync_from, snapshot):
    sync_from(emulator(snapshot, prices_with(unit_price=None)))
    (gone,) = Change.objects.filter(kind="price")
    assert (gone.before["unit_price"], gone.after) == ("0.025", None)
    assert describe(gone) == "fal no longer gives a price (it was $0.025 per megapixel)."
    sync_from(emulator(snapshot, load_prices()))
    back = Change.objects.filter(kind="price").exclude(pk=gone.pk).get()
    assert (back.before, back.after["unit_price"]) == (None, "0.025")
    assert describe(back) == "fal now gives a price: $0.025 per megapixel."


def test_the_first_prices_of_an_index_and_of_a_new_endpoint_are_no_change(sync_from, snapshot):
    """An index that never had prices (a new key, or every pricing call failed so far)
    gets its first ~1,400 prices without a change each; a new endpoint's price is part of
    its "added", not a price change."""
    PriceRecord.objects.all().delete()
    run = sync_from(emulator(snapshot, load_prices()))
    assert run.prices_changed > 1000 and not Change.objects.exists()
    new = {"endpoint_id": "acme/new-model", "metadata": {"display_name": "New",
           "category": "text-to-image", "status": "active"}}  # fmt: skip
    priced = [*load_prices(), {"endpoint_id": "acme/new-model", "unit_price": 0.01,
                               "unit": "images", "currency": "USD"}]  # fmt: skip
    sync_from(emulator(snapshot, priced, extra_models=[new]))
    assert list(Change.objects.values_list("endpoint_id", "kind")) == [("acme/new-model", "added")]


def test_the_kind_filter_lists_price_changes(member_client, raised):
    response = member_client.get("/changes/?kind=price")
    assert [c.kind for day in response.context["days"] for c in day.changes] == ["price"]
    html = response.content.decode()
    assert "Price changed from $0.025 per megapixel to $0.03 per megapixel." in html
    assert f'href="/models/{FLUX}/#history"' in html
    assert member_client.get("/changes/?kind=schema").context["days"] == []


def test_the_feed_carries_the_price_change(member_client, raised):
    body = member_client.get("/changes/feed/?kind=price").content
    (entry,) = ET.fromstring(body).findall(f"{ATOM}entry")  # noqa: S314 (our own feed)
    assert entry.find(f"{ATOM}title").text == f"{FLUX}: price"
    assert entry.find(f"{ATOM}summary").text == (
        "Price changed from $0.025 per megapixel to $0.03 per megapixel."
    )
    assert entry.find(f"{ATOM}link").get("href") == f"http://testserver/models/{FLUX}/#history"


def test_the_model_page_history_shows_the_price_change(member_client, raised):
    html = member_client.get(f"/models/{FLUX}/").content.decode()
    section = html[html.index('id="history"') :]
    assert "Price changed from $0.025 per megapixel to $0.03 per megapixel." in section
    assert 'class="change change-price"' in section


def test_fal_pricing_nothing_at_all_is_a_pricing_failure_not_every_price_gone(sync_from, snapshot):
    priced = PriceRecord.objects.filter(ended_at=None).count()
    run = sync_from(emulator(snapshot, []))  # every pricing batch answers 404
    assert run.state == "succeeded"
    assert run.prices_error.startswith("fal priced none of the 1434 listed endpoints")
    assert PriceRecord.objects.filter(ended_at=None).count() == priced > 1000
    assert not Change.objects.exists()
