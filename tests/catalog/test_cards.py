"""Card badges and links: one rule for tags (cards, compare, the grid's tag facet), fal's
own pages named for what they are, and only http(s) URLs from a model's metadata linked."""

from __future__ import annotations

import copy
import re

import pytest

from catalog.cards import HUES, card_for, fold_tags, placeholder_hue, safe_url
from catalog.index import catalog_index
from fal_emulator import Emulator, load_prices, load_snapshot

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


def test_a_plain_https_url_is_kept_whatever_its_letters():
    url = "https://v3.fal.media/files/XyZ/Thumb_X9-Q.PNG?v=2#X"
    assert safe_url(url) == url


def test_each_placeholder_is_one_of_the_stylesheets_hues():
    hues = {placeholder_hue(m.endpoint_id) for m in catalog_index().models}
    assert hues == set(range(HUES))  # every class hue-0 … hue-11 used, no other


# Schemes other than http(s) that still have a host: the hostile catalog's bad URLs have
# none, so only these reach safe_url's scheme check.
HOSTED_BAD_URLS = ("javascript://x/%0Aalert(1)", "vbscript://x/msgbox(1)", "ftp://files.example")
URL_ATTRIBUTE = re.compile(r'\b(?:href|src|data-animated)="([^"]*)"')


def with_urls(entry: dict, url: str, github: str) -> dict:
    entry = copy.deepcopy(entry)
    entry["metadata"].update(
        thumbnail_url=f"{url}/thumb.png", thumbnail_animated_url=f"{url}/thumb.webp",
        model_url=f"{url}/run", stream_url=f"{url}/stream", github_url=f"{url}/{github}",
    )  # fmt: skip
    return entry


def card_in(page: str, endpoint_id: str) -> str:
    start = page.index(f'data-endpoint-id="{endpoint_id}"')
    return page[start : page.index("</article>", start)]


def test_a_url_with_a_host_but_not_http_is_never_a_link_or_an_image(member_client, sync_from):
    """Thumbnail, animated thumbnail, API endpoint, stream, license and GitHub links: only
    http(s) becomes an href or src, on the grid's card and on the model page."""
    models, documents = load_snapshot()
    # Each URL twice: its github_url a license (the License fact's link) or a repository.
    urls = [(url, github) for url in ("https://fal.example", *HOSTED_BAD_URLS)
            for github in ("LICENSE", "repo")]  # fmt: skip
    entries = [m for m in models if m.get("metadata")][: len(urls)]
    changed = {
        entry["endpoint_id"]: with_urls(entry, url, github)
        for entry, (url, github) in zip(entries, urls, strict=True)
    }
    models = [changed.get(m.get("endpoint_id"), m) for m in models]
    assert sync_from(Emulator(models, documents, load_prices())).state == "succeeded"

    for endpoint_id, (url, github) in zip(changed, urls, strict=True):
        card = card_in(member_client.get("/", {"q": endpoint_id}).content.decode(), endpoint_id)
        page = member_client.get(f"/models/{endpoint_id}/").content.decode()
        if url.startswith("https:"):  # the control: these are the places a URL shows
            assert f'src="{url}/thumb.png" data-animated="{url}/thumb.webp"' in card
            wanted = {f"{url}/thumb.png", f"{url}/run", f"{url}/stream", f"{url}/{github}"}
            assert wanted <= set(URL_ATTRIBUTE.findall(page))
            continue
        for html in (card, page):  # (the page's history may name it, as text)
            links = URL_ATTRIBUTE.findall(html)
            assert all(link.startswith(("https://", "/", "?", "#")) for link in links), links


def test_cards_of_one_family_that_share_a_name_say_their_role(member_client):
    """/?q=veo showed eight cards titled "Veo 3.1" or "Veo 3.1 Fast" and nothing else apart."""
    html = member_client.get("/", {"q": "veo3.1"}).content.decode()
    cards = re.findall(
        r'<h2 class="card-title"><a [^>]*>([^<]+)</a></h2>\s*'
        r'(?:<p class="card-role">([^<]+)</p>)?',
        html,
    )
    assert len(cards) >= 10
    assert len(set(cards)) == len(cards), "two cards read the same"
    assert ("Veo 3.1 Fast", "Image to Video (Fast)") in cards


def test_a_role_the_name_already_says_is_not_repeated():
    model = next(
        m for m in catalog_index().models if m.endpoint_id == "fal-ai/veo3.1/lite/image-to-video"
    )
    card = card_for(model)
    assert card.name == "Veo3.1 Lite Image to Video" and card.role == ""
