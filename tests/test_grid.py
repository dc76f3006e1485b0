"""The grid at `/` on the offline snapshot: every parameter, invalid input, htmx partials."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.http import QueryDict

from catalog import services
from catalog.browse import PAGE_SIZE, browse, parse_grid_query
from fal.types import Group, Model, ModelMetadata

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def card_ids(html: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" data-endpoint-id="([^"]+)"', html)


def count_of(html: str) -> int:
    return int(re.search(r'<p id="result-count"[^>]*><strong>(\d+)</strong>', html).group(1))


@pytest.fixture(scope="module")
def catalog():
    return services.catalog_search().models


def test_grid_shows_the_first_48_active_models_in_api_order(member_client, catalog):
    html = member_client.get("/").content.decode()
    assert card_ids(html) == [m.endpoint_id for m in catalog[:PAGE_SIZE]]
    assert count_of(html) == len(catalog)


def test_q_uses_fal_search_semantics(member_client):
    html = member_client.get("/?q=kling").content.decode()
    ids = card_ids(html)
    assert ids and count_of(html) < 1434
    expected = [m.endpoint_id for m in services.catalog_search(q="kling").models]
    assert ids == expected[:PAGE_SIZE]


def test_category_filters_upstream_and_counts_every_category(member_client):
    html = member_client.get("/?category=image-to-video").content.decode()
    assert count_of(html) == 196
    # The category facet still counts the other categories of this search.
    assert re.search(r'value="text-to-image"[^>]*> text-to-image <span class="count">195<', html)


def test_license_filter_and_disjunctive_counts(member_client):
    html = member_client.get("/?license=research").content.decode()
    assert count_of(html) == 7
    # Selecting one license leaves the others' counts as "what you'd get with it too".
    assert re.search(
        r'id="license-commercial"> <span class="dot license-commercial">'
        r'</span>commercial <span class="count">1314<',
        html,
    )
    both = member_client.get("/?license=research&license=private").content.decode()
    assert count_of(both) == 15


def test_tag_filter_is_case_insensitive_and_all_of(member_client, catalog):
    html = member_client.get("/?tag=STYLIZED").content.decode()
    expected = [m for m in catalog if "stylized" in {t.lower() for t in m.metadata.tags}]
    assert count_of(html) == len(expected) > 0
    none = member_client.get("/?tag=stylized&tag=no-such-tag").content.decode()
    assert count_of(none) == 0
    assert "No models match these filters." in none


def test_group_and_kind(member_client, catalog):
    html = member_client.get("/?kind=training").content.decode()
    assert count_of(html) == sum(1 for m in catalog if m.metadata.kind == "training")
    group = next(m.metadata.group for m in catalog if m.metadata.group)
    html = member_client.get("/", {"group": group.key}).content.decode()
    expected = [
        m for m in catalog if m.metadata.group and m.metadata.group.key.lower() == group.key.lower()
    ]
    assert count_of(html) == len(expected) > 0


def test_sort_newest_and_name(member_client, catalog):
    newest = card_ids(member_client.get("/?sort=newest").content.decode())
    dates = {m.endpoint_id: m.metadata.date for m in catalog}
    assert [dates[i] for i in newest] == sorted((dates[i] for i in newest), reverse=True)
    assert newest[0] == max(catalog, key=lambda m: m.metadata.date).endpoint_id
    names = card_ids(member_client.get("/?sort=name").content.decode())
    display = {m.endpoint_id: m.metadata.display_name.casefold() for m in catalog}
    assert [display[i] for i in names] == sorted(display[i] for i in names)


def test_page_parameter_shows_every_page_up_to_it(member_client, catalog):
    html = member_client.get("/?page=2").content.decode()
    assert card_ids(html) == [m.endpoint_id for m in catalog[: 2 * PAGE_SIZE]]
    assert 'href="?page=3"' in html


def test_load_more_partial_appends_only_the_next_page(member_client, catalog):
    response = member_client.get("/?page=2", headers={**HTMX, "HX-Target": "load-more"})
    html = response.content.decode()
    assert "<html" not in html
    assert card_ids(html) == [m.endpoint_id for m in catalog[PAGE_SIZE : 2 * PAGE_SIZE]]
    assert response["HX-Replace-Url"] == "/?page=2"
    assert "HX-Push-Url" not in response


def test_filter_partial_pushes_the_canonical_url(member_client):
    response = member_client.get(
        "/?sort=newest&license=commercial&q=kling&page=1", headers={**HTMX, "HX-Target": "results"}
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="results"' in html
    assert response["HX-Push-Url"] == "/?q=kling&license=commercial&sort=newest"
    assert "HX-Request" in response["Vary"]


def test_typing_replaces_rather_than_pushes(member_client):
    response = member_client.get("/?q=flu", headers={**HTMX, "HX-Trigger-Name": "q"})
    assert response["HX-Replace-Url"] == "/?q=flu"
    assert "HX-Push-Url" not in response


def test_full_page_varies_on_hx_request(member_client):
    response = member_client.get("/")
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=gone", "Unknown status “gone”"),
        ("sort=price", "Unknown sort “price”"),
        ("kind=robot", "Unknown kind “robot”"),
        ("license=gpl", "Unknown license “gpl”"),
        ("page=0", "is not a page number"),
        ("page=abc", "is not a page number"),
        ("page=99999999999", "is not a page number"),
        ("page=%C2%B2", "is not a page number"),
        ("page=500", "There is no page 500"),
        ("q=a&q=b", "Only one “q”"),
        ("q=" + "x" * 300, "longer than 200 characters"),
        ("compare=javascript:alert(1)", "is not an endpoint id"),
    ],
)
def test_invalid_values_get_a_clear_message_not_an_error(member_client, query, message):
    response = member_client.get("/?" + query)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_null_bytes_and_control_characters_are_dropped(member_client):
    response = member_client.get("/?q=klin%00g%01&category=%00")
    assert response.status_code == 200


def test_deprecated_status_is_asked_upstream_and_dims_cards(settings, member_client, no_internet):
    settings.FAL_API_URL = "https://api.fal.test/v1"
    entry = {
        "endpoint_id": "old/model",
        "metadata": {"display_name": "Old", "category": "llm", "status": "deprecated", "tags": []},
    }
    no_internet.get(
        "https://api.fal.test/v1/models",
        json={"models": [entry], "next_cursor": None, "has_more": False},
    )
    html = member_client.get("/?status=deprecated").content.decode()
    sent = dict(parse_qsl(urlsplit(no_internet.calls[-1].request.url).query))
    assert sent["status"] == "deprecated"
    assert 'class="card card-deprecated"' in html and "badge-deprecated" in html
    # Default view hides deprecated models but keeps entries without a status.
    assert card_ids(member_client.get("/").content.decode()) == []


def test_compare_picks_live_in_the_url_and_fill_the_tray(member_client, catalog):
    a, b = catalog[0].endpoint_id, catalog[1].endpoint_id
    html = member_client.get("/", {"compare": [a, b], "q": "banana"}).content.decode()
    assert 'id="open-compare"' in html
    assert (
        f"/compare/?endpoint_id={a.replace('/', '%2F')}&amp;endpoint_id={b.replace('/', '%2F')}"
        in html
    )
    # Removing a filter keeps the picks.
    chip = re.search(
        r'<a class="chip" href="([^"]+)"[^>]*aria-label="Remove filter “banana”"', html
    )
    assert parse_qsl(urlsplit(chip.group(1).replace("&amp;", "&")).query) == [
        ("compare", a),
        ("compare", b),
    ]


def test_api_failure_shows_a_banner_not_a_500(settings, member_client, no_internet):
    settings.FAL_API_URL = "https://api.fal.test/v1"
    settings.FAL_API_MAX_RETRIES = 0
    no_internet.get("https://api.fal.test/v1/models", status=503, body="<html>down</html>")
    response = member_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The fal API failed" in html and "<html>down" not in html


# --- browse() directly ---------------------------------------------------------------------


def model(endpoint_id: str, **meta) -> Model:
    return Model(endpoint_id, ModelMetadata(display_name=endpoint_id, status="active", **meta))


def test_tags_are_folded_and_empty_tags_dropped():
    models = [model("a/1", tags=("New", "new", "")), model("a/2", tags=("NEW",))]
    grid = browse(parse_grid_query(QueryDict("")), models)
    assert [(o.label, o.count) for o in grid.facets["tag"]] == [("New", 2)]


def test_group_facet_folds_case_and_sorts_by_family_name():
    models = [
        model("a/1", group=Group("Kling", "Kling")),
        model("a/2", group=Group("kling", "Kling")),
        model("a/3", group=Group("flux", "Flux")),
    ]
    grid = browse(parse_grid_query(QueryDict("group=KLING")), models)
    assert grid.total == 2
    assert [(o.label, o.count, o.selected) for o in grid.groups] == [
        ("flux", 1, False),
        ("Kling", 2, True),
    ]


def test_models_without_metadata_are_shown_as_unknown_license():
    grid = browse(parse_grid_query(QueryDict("license=unknown")), [Model("bare/model")])
    assert [m.endpoint_id for m in grid.models] == ["bare/model"]


def test_rendered_fragments_follow_the_data(settings, member_client, no_internet):
    """A warm grid reuses its rendered cards, until the catalog is refreshed with new data."""
    settings.FAL_API_URL = "https://api.fal.test/v1"
    url = "https://api.fal.test/v1/models"

    def answer(name):
        entry = {"endpoint_id": "acme/one", "metadata": {"display_name": name, "status": "active"}}
        return {"models": [entry], "next_cursor": None, "has_more": False}

    no_internet.get(url, json=answer("First name"))
    assert "First name" in member_client.get("/").content.decode()
    no_internet.replace("GET", url, json=answer("Second name"))
    assert "First name" in member_client.get("/").content.decode()  # cached pages, same HTML
    services.catalog_refresh()
    assert "Second name" in member_client.get("/").content.decode()
