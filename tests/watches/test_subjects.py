"""What a saved search counts as matching (watches.subjects): the models that answer its
words, never those the grid lists after them for matching only some of the words. And a
shortlisted model's deprecation comes with what could replace it."""

from __future__ import annotations

import copy

import pytest

from catalog.models import Shortlist, ShortlistEntry
from catalog.services import catalog_index
from watches.models import Notification
from watches.services import watch_create
from watches.subjects import grid_query

pytestmark = pytest.mark.django_db

FULL = "acme/zebra-quokka"  # matches both words of the search
PARTIAL = "acme/quokka-lamp"  # matches one of them


def with_two_models(catalog_copy, partial_price: float, others: int):
    """FULL and PARTIAL, and `others` unpriced models that match one word as PARTIAL does."""
    models, documents, prices = copy.deepcopy(catalog_copy)
    more = [(f"acme/quokka-{n}", f"Quokka {n}") for n in range(others)]
    for endpoint_id, name in ((FULL, "Zebra Quokka"), (PARTIAL, "Quokka Lamp"), *more):
        models.append({"endpoint_id": endpoint_id, "metadata": {
            "display_name": name, "category": "text-to-image", "status": "active",
            "license_type": "commercial", "kind": "inference"}})  # fmt: skip
    prices += [
        {"endpoint_id": FULL, "unit_price": 0.01, "unit": "images", "currency": "USD"},
        {"endpoint_id": PARTIAL, "unit_price": partial_price, "unit": "images", "currency": "USD"},
    ]
    return models, documents, prices


# However many match only some words (ten or more once made every match an answer).
@pytest.mark.parametrize("others", [0, 12])
def test_a_model_matching_only_some_words_is_no_match_of_a_saved_search(
    member, catalog_copy, sync_and_deliver, others
):
    sync_and_deliver(*with_two_models(catalog_copy, partial_price=5.0, others=others))
    watch = watch_create(
        owner=member, name="Zebras", subject="search", query="?q=zebra+quokka&max_price=1"
    ).watch
    assert watch.matched == [FULL]

    # The partial match's price falls under the search's maximum: still not a match.
    catalog = with_two_models(catalog_copy, partial_price=0.02, others=others)
    sync_and_deliver(*catalog)

    grid = catalog_index().grid(grid_query(watch))
    assert [m.endpoint_id for m in grid.models] == [FULL, PARTIAL]  # the grid lists it after
    assert not Notification.objects.filter(endpoint_id=PARTIAL).exists()
    watch.refresh_from_db()
    assert watch.matched == [FULL]


def test_a_deprecated_shortlisted_model_is_told_of_with_what_could_replace_it(
    curator, catalog_copy, sync_and_deliver
):
    models, documents, prices = catalog_copy
    for endpoint_id in ("acme/quokka-v1", "acme/quokka-v2"):
        metadata = {"display_name": endpoint_id, "category": "text-to-image", "status": "active"}
        models.append({"endpoint_id": endpoint_id, "metadata": metadata})
    sync_and_deliver(models, documents, prices)
    shortlist = Shortlist.objects.create(title="Quokkas", slug="quokkas", curator=curator)
    ShortlistEntry.objects.create(shortlist=shortlist, endpoint_id="acme/quokka-v1")
    watch_create(owner=curator, name="Quokkas", subject="shortlist", shortlist=shortlist)

    old = next(model for model in models if model["endpoint_id"] == "acme/quokka-v1")
    old["metadata"]["status"] = "deprecated"
    sync_and_deliver(models, documents, prices)

    (notice,) = Notification.objects.filter(endpoint_id="acme/quokka-v1", topic="deprecated")
    assert notice.successors == ["acme/quokka-v2"]
    assert notice.text.endswith("Could replace it: acme/quokka-v2.")
