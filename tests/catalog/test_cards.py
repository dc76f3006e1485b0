"""Card badges and links: one rule for tags (cards, compare, the grid's tag facet), and fal's
own pages named for what they are."""

from __future__ import annotations

import re

import pytest

from catalog.cards import card_for, fold_tags
from catalog.index import catalog_index

pytestmark = pytest.mark.django_db

MARQUEE = "_marquee-video-model"


def test_fold_tags_drops_case_duplicates_internal_tags_and_other_badges():
    tags = ("Pro", "pro", " ", "_internal", "text-to-image", "Turbo", "TEXT-to-image")
    assert fold_tags(tags) == ("Pro", "text-to-image", "Turbo")
    assert fold_tags(tags, besides=("text-to-image",)) == ("Pro", "Turbo")


def models_where(predicate):
    return [m for m in catalog_index().models if m.metadata and predicate(m.metadata)]


def test_no_card_repeats_its_category_family_or_license_or_shows_an_internal_tag():
    index = catalog_index()
    repeats = models_where(lambda meta: meta.category in meta.tags)
    internal = models_where(lambda meta: MARQUEE in meta.tags)
    assert repeats and internal, "the snapshot has both cases"
    for model in index.models:
        card = card_for(model)
        keys = [t.casefold() for t in card.tags]
        assert len(keys) == len(set(keys))
        assert not any(t.startswith("_") for t in card.tags)
        assert card.category.casefold() not in keys
        assert card.group_key.casefold() not in keys if card.group_key else True
        assert card.license not in keys


def test_the_grid_shows_and_offers_tags_by_the_same_rule(member_client):
    (model,) = models_where(lambda meta: MARQUEE in meta.tags)
    html = member_client.get("/", {"q": model.endpoint_id}).content.decode()
    assert MARQUEE not in html
    html = member_client.get("/", {"category": "text-to-image"}).content.decode()
    offered = re.findall(r'name="tag" value="([^"]*)"', html)
    assert offered and "text-to-image" not in offered
    assert not any(tag.startswith("_") for tag in offered)


def test_the_model_page_names_the_api_endpoint_and_links_fal_pages(member_client):
    html = member_client.get("/models/fal-ai/flux/dev/").content.decode()
    assert "<dt>API endpoint</dt>" in html and "Endpoint URL" not in html
    assert '<a href="https://fal.ai/models/fal-ai/flux/dev" ' in html
    assert '<a href="https://fal.ai/models/fal-ai/flux/dev/api" ' in html
    assert ">Open on fal.ai</a>" in html and ">API docs</a>" in html


def test_the_compare_overview_links_fal_pages(member_client):
    html = member_client.get(
        "/compare/", {"endpoint_id": ["fal-ai/flux/dev", "fal-ai/flux/schnell"]}
    ).content.decode()
    for endpoint_id in ("fal-ai/flux/dev", "fal-ai/flux/schnell"):
        assert f'href="https://fal.ai/models/{endpoint_id}"' in html
        assert f'href="https://fal.ai/models/{endpoint_id}/api"' in html
    assert ">API endpoint</a>" in html and "Model URL" not in html


def test_no_fal_page_for_an_id_that_is_not_an_endpoint_id():
    card = card_for(catalog_index().models[0])
    assert card.fal_page_url.startswith("https://fal.ai/models/")
    from dataclasses import replace

    odd = replace(card, endpoint_id="evil/<script>")
    assert odd.fal_page_url == "" and odd.fal_docs_url == ""
