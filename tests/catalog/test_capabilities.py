"""Capabilities in the catalog: stored at sync time, the grid's Accepts/Has/Outputs facets
and limit filters (counts, URLs), compare's Capabilities rows, the model page's chips,
nested types, reconstructed-schema note and snippets."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.http import QueryDict

from catalog import services
from catalog.browse import parse_grid_query
from catalog.models import CatalogEntry
from catalog.snippets import queue_urls
from catalog.sync import bump_index_version, sync_catalog
from fal.capabilities import RULES_VERSION, capabilities
from fal.openapi import reconstructed_source
from fal_emulator import Emulator, load_snapshot

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def count_of(html: str) -> int:
    return int(re.search(r'<p id="result-count"[^>]*><strong>(\d+)</strong>', html).group(1))


def card_ids(html: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" data-endpoint-id="([^"]+)"', html)


def option_count(html: str, name: str, value: str) -> int:
    match = re.search(
        rf'id="{re.escape(name)}-{re.escape(value)}"[^>]*>[^<]*<span class="count">(\d+)</span>',
        html,
    )
    assert match, f"no {name}={value} option"
    return int(match.group(1))


@pytest.fixture(scope="module")
def documents():
    return load_snapshot()[1]


def expected(documents, predicate) -> set[str]:
    """Present models whose document's capabilities satisfy `predicate` (computed directly)."""
    ids = {m.endpoint_id for m in services.catalog_index().models}
    return {i for i in ids if (c := capabilities(documents.get(i))) is not None and predicate(c)}


# --- Sync and index ---------------------------------------------------------------------------


def test_the_sync_stores_capabilities_for_every_row_and_unknown_for_those_without_a_document(
    documents,
):
    rows = dict(CatalogEntry.objects.values_list("endpoint_id", "capabilities"))
    assert len(rows) == 1434
    assert all(value["version"] == RULES_VERSION for value in rows.values())
    unknown = {i for i, value in rows.items() if value.get("unknown")}
    assert len(unknown) == 145
    assert unknown == {i for i in rows if i not in documents}
    index = services.catalog_index()
    assert len(index.capabilities) == 1289
    assert index.capabilities["fal-ai/flux-lora"] == capabilities(documents["fal-ai/flux-lora"])


def test_the_index_holds_the_reconstructed_documents_marked_as_such():
    docs = services.catalog_documents(["fal-ai/clarity-upscaler", "fal-ai/flux/dev"])
    assert reconstructed_source(docs["fal-ai/clarity-upscaler"]) == "tanstack"
    assert reconstructed_source(docs["fal-ai/flux/dev"]) is None
    stored = CatalogEntry.objects.values_list("openapi", flat=True)
    assert sum(1 for d in stored if reconstructed_source(d)) == 369


def test_rows_stored_by_older_rules_are_recomputed_by_the_next_sync(documents):
    CatalogEntry.objects.update(capabilities={"version": RULES_VERSION - 1, "accepts": ["x"]})
    CatalogEntry.objects.filter(endpoint_id="fal-ai/flux/dev").update(capabilities=None)
    bump_index_version()
    assert len(services.catalog_index().capabilities) == 0  # stale rows count for nothing
    run = sync_catalog(trigger="test")
    assert run.state == "succeeded" and run.documents_fetched == 0  # nothing refetched
    stored = CatalogEntry.objects.get(endpoint_id="fal-ai/flux/dev").capabilities
    assert stored == capabilities(documents["fal-ai/flux/dev"]).to_json()
    assert len(services.catalog_index().capabilities) == 1289


def test_a_changed_document_changes_the_stored_capabilities(sync_from):
    models, docs = load_snapshot()
    doc = docs["fal-ai/flux/dev"]
    schemas = dict(doc["components"]["schemas"])
    inputs = dict(schemas["FluxDevInput"])
    inputs["properties"] = {k: v for k, v in inputs["properties"].items() if k != "seed"}
    schemas["FluxDevInput"] = inputs
    changed = {**doc, "components": {**doc["components"], "schemas": schemas}}
    models = [
        {**m, "metadata": {**m["metadata"], "updated_at": "2099-01-01T00:00:00Z"}}
        if m["endpoint_id"] == "fal-ai/flux/dev"
        else m
        for m in models
    ]
    run = sync_from(Emulator(models, {**docs, "fal-ai/flux/dev": changed}))
    assert run.state == "succeeded", run.error
    assert "seed" not in services.catalog_index().capabilities["fal-ai/flux/dev"].has


# --- Grid: facets, counts, URLs -----------------------------------------------------------------


def test_the_rail_shows_the_three_facets_with_counts_and_the_schema_unknown_count(
    member_client, documents
):
    html = member_client.get("/").content.decode()
    for legend in ("Accepts", "Has", "Outputs", "Limits"):
        assert f'<summary class="legend">{legend}</summary>' in html
    assert option_count(html, "has", "seed") == len(expected(documents, lambda c: "seed" in c.has))
    assert option_count(html, "outputs", "video") == len(
        expected(documents, lambda c: "video" in c.outputs)
    )
    assert option_count(html, "accepts", "end_image") == 92
    assert "145 models here: schema unknown." in html


def test_start_and_end_image_with_a_seed_video_models(member_client, documents):
    url = "/?accepts=image&accepts=end_image&has=seed&outputs=video"
    html = member_client.get(url).content.decode()
    want = expected(
        documents,
        lambda c: {"image", "end_image"} <= c.accepts and "seed" in c.has and "video" in c.outputs,
    )
    assert 0 < len(want) == count_of(html)
    assert set(card_ids(html)) <= want
    assert "fal-ai/wan/v2.2-a14b/image-to-video/turbo" in want
    # Every shown count is what adding that option would show.
    for value in ("lora", "mask", "video"):
        n = option_count(html, "accepts", value)
        more = count_of(member_client.get(f"{url}&accepts={value}").content.decode())
        assert n == more
    assert "schema unknown, left out by these filters" in html


def test_capability_facets_combine_with_every_other_filter(member_client, documents):
    index = services.catalog_index()
    category = {m.endpoint_id: m.metadata.category for m in index.models}
    licence_of = {m.endpoint_id: m.metadata.license_type for m in index.models}
    html = member_client.get(
        "/?category=image-to-video&license=commercial&has=seed&q=wan"
    ).content.decode()
    shown = count_of(html)
    want = {
        i
        for i in expected(documents, lambda c: "seed" in c.has)
        if category[i] == "image-to-video" and licence_of[i] == "commercial"
    }
    assert 0 < shown <= len(want)
    assert set(card_ids(html)) <= want
    # The other facets count with the capability filter applied.
    licence_counts = re.search(
        r'id="license-commercial"[^>]*>.*?<span class="count">(\d+)</span>', html
    )
    assert int(licence_counts.group(1)) == shown


def test_the_limit_filters(member_client, documents):
    html = member_client.get("/?outputs=video&max_duration=15").content.decode()
    want = expected(documents, lambda c: "video" in c.outputs and (c.max_duration or 0) >= 15)
    assert 0 < count_of(html) == len(want)
    html = member_client.get("/?max_outputs=8").content.decode()
    assert count_of(html) == len(expected(documents, lambda c: (c.max_outputs or 0) >= 8))
    assert "outputs per call at least 8" in html  # the removable chip


@pytest.mark.parametrize(
    "query",
    [
        "accepts=image&accepts=end_image&has=seed&outputs=video",
        "q=flux&category=text-to-image&license=commercial&accepts=lora&has=num_outputs"
        "&outputs=image&max_outputs=4&sort=name",
        "has=duration&max_duration=10.5",
        "outputs=3d&compare=fal-ai/flux/dev",
    ],
)
def test_urls_round_trip(query):
    parsed = parse_grid_query(QueryDict(query))
    assert parsed.messages == ()
    pairs = [(k, v) for k, values in QueryDict(query).lists() for v in values]
    assert parsed.url() == "?" + urlencode(pairs)
    assert parse_grid_query(QueryDict(parsed.url()[1:])) == parsed


def test_parameters_come_out_in_canonical_order():
    parsed = parse_grid_query(QueryDict("outputs=video&max_duration=10&has=seed&accepts=image&q=x"))
    assert parsed.url() == "?q=x&accepts=image&has=seed&outputs=video&max_duration=10"


def test_toggling_an_option_keeps_the_rest():
    parsed = parse_grid_query(QueryDict("accepts=image&has=seed"))
    assert parsed.url(accepts=()) == "?has=seed"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("accepts=telepathy", "Unknown “accepts” value “telepathy” was ignored."),
        ("has=<b>x</b>", "Unknown “has” value “<b>x</b>” was ignored."),
        ("outputs=smell", "Unknown “outputs” value “smell” was ignored."),
        ("max_duration=abc", "“max_duration” must be a number of seconds from 1 to 100,000"),
        ("max_duration=0", "“max_duration” must be a number of seconds"),
        ("max_duration=1e9", "“max_duration” must be a number of seconds"),
        ("max_outputs=2.5", "“max_outputs” must be a whole number from 1 to 1,000"),
        ("max_outputs=²", "“max_outputs” must be a whole number"),
    ],
)
def test_invalid_values_are_dropped_with_a_message(member_client, query, message):
    parsed = parse_grid_query(QueryDict(query))
    assert not parsed.has_capability_filters
    assert any(m.startswith(message) for m in parsed.messages), parsed.messages
    response = member_client.get("/?" + query)
    assert response.status_code == 200
    assert "<b>x</b>" not in response.content.decode()


def test_an_htmx_filter_change_pushes_the_canonical_url(member_client):
    response = member_client.get("/?has=seed&accepts=image", headers=HTMX)
    assert response["HX-Push-Url"] == "/?accepts=image&has=seed"


def test_clear_all_drops_the_capability_filters(member_client):
    html = member_client.get("/?accepts=image&max_duration=5&sort=name").content.decode()
    assert (
        'href="?sort=name" hx-get="?sort=name" hx-target="#results" hx-swap="outerHTML">Clear all'
        in html
    )


# --- Compare and model page -----------------------------------------------------------------


def test_compare_has_a_capabilities_group(member_client):
    unknown = next(i for i, c in _stored().items() if c.get("unknown"))
    ids = ["fal-ai/flux/dev", "fal-ai/kling-video/v2.1/pro/image-to-video", unknown]
    query = urlencode([("endpoint_id", i) for i in ids])
    html = member_client.get("/compare/?" + query).content.decode()
    group = html[
        html.index("group-capabilities") : html.index('<tbody class="group group-inputs">')
    ]
    assert "Accepts" in group and "Outputs" in group and "Longest duration" in group
    assert "end image" in group and "schema unknown" in group
    assert "10 s" in group  # Kling's longest duration


def _stored() -> dict:
    return dict(CatalogEntry.objects.values_list("endpoint_id", "capabilities"))


def test_the_model_page_shows_capability_chips_and_nested_types(member_client):
    html = member_client.get("/schema/fal-ai/flux-lora/").content.decode()
    assert '<ul class="capability-chips" aria-label="Accepts">' in html
    assert '<li class="chip">LoRA</li>' in html
    assert "up to 4 outputs per call" in html
    # loras: array<LoraWeight> unfolds into LoraWeight's own fields.
    assert "<summary><code>LoraWeight</code> fields</summary>" in html
    assert "<summary><code>Image</code> fields</summary>" in html  # in the outputs
    inputs, outputs = html.index("<h2>Inputs</h2>"), html.index("<h2>Outputs</h2>")
    assert inputs < html.index("<code>loras</code>") < outputs < html.index("<code>images</code>")
    assert "schema reconstructed" not in html


def test_a_nested_type_under_a_generated_name_is_shown_by_its_own_name(member_client):
    # FLUX ultra's output refers to registry__image__fast_sdxl__models__Image.
    html = member_client.get("/schema/fal-ai/flux-pro/v1.1-ultra/").content.decode()
    assert "<summary><code>Image</code> fields</summary>" in html
    assert "registry__" not in html


def test_a_reconstructed_schema_says_so(member_client):
    html = member_client.get("/schema/fal-ai/clarity-upscaler/").content.decode()
    assert "Schema reconstructed from a public crawl" in html


def test_snippets_use_the_documents_own_examples(member_client, documents):
    example = documents["fal-ai/flux/dev"]["components"]["schemas"]["FluxDevInput"]["properties"][
        "prompt"
    ]["examples"][0]
    html = member_client.get("/schema/fal-ai/flux/dev/").content.decode()
    assert "Extreme close-up of a single tiger eye" in example
    assert "Extreme close-up of a single tiger eye" in html


def test_a_model_without_a_document_says_so_and_gives_the_queue_url(member_client):
    unknown = next(i for i, c in _stored().items() if c.get("unknown"))
    html = member_client.get(f"/schema/{unknown}/").content.decode()
    assert "The catalog has no schema for this model" in html
    urls = queue_urls(unknown)
    assert f"--url {urls.submit} \\" in html and f"--url {urls.status} \\" in html


def test_an_endpoint_id_ending_in_schema_or_estimate_has_its_own_page(sync_from, member_client):
    """A model's fragments live outside /models/<id>/, so no id can collide with them."""
    models, docs = load_snapshot()
    flux = next(m for m in models if m["endpoint_id"] == "fal-ai/flux/dev")
    ours = [
        {**flux, "endpoint_id": f"fal-ai/flux/dev/{tail}",
         "metadata": {**flux["metadata"], "display_name": f"Tail {tail}"}}
        for tail in ("schema", "estimate")
    ]  # fmt: skip
    assert sync_from(Emulator([*models, *ours], docs)).state == "succeeded"
    for tail in ("schema", "estimate"):
        page = member_client.get(f"/models/fal-ai/flux/dev/{tail}/")
        assert page.status_code == 200 and f"Tail {tail}" in page.content.decode()
    schema = member_client.get("/schema/fal-ai/flux/dev/", headers={"HX-Request": "true"})
    assert schema.status_code == 200 and "prompt" in schema.content.decode()


def test_the_model_page_loads_its_schema_from_the_schema_route(member_client):
    page = member_client.get("/models/fal-ai/flux/dev/").content.decode()
    url = re.search(r'<section id="schema" class="schema" hx-get="([^"]+)"', page).group(1)
    assert url == "/schema/fal-ai/flux/dev/"
    fragment = member_client.get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "prompt" in fragment.content.decode()
