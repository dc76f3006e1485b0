"""The grid at `/` over the catalog index: every parameter, invalid input, htmx partials."""

from __future__ import annotations

import copy
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.http import QueryDict
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from catalog import services
from catalog.browse import PAGE_SIZE, browse, parse_grid_query, row_for
from catalog.index import CatalogIndex, Presence, Shared
from catalog.models import SyncRun
from catalog.search import tokens
from catalog.sync import sync_catalog
from fal.types import Group, Model, ModelMetadata
from fal_emulator import Emulator, load_snapshot
from fal_emulator.testing import FaultUpstream
from fal_emulator.testing.faults import MARKER

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def card_ids(html: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" data-endpoint-id="([^"]+)"', html)


def count_of(html: str) -> int:
    return int(re.search(r'<p id="result-count"[^>]*><strong>(\d+)</strong>', html).group(1))


@pytest.fixture
def catalog():
    """The index's present models in the API's order (the snapshot has no deprecated one)."""
    return list(services.catalog_index().models)


@pytest.fixture
def staff_client(django_user_model):
    """A second session, signed in as staff (member_client keeps its own)."""
    staff = django_user_model.objects.create_user(username="sam", password="x", is_staff=True)
    client = Client()
    client.force_login(staff)
    return client


def changed_snapshot(change) -> Emulator:
    """An emulator over the snapshot with `change(entries)` applied to a deep copy."""
    models, documents = load_snapshot()
    models = copy.deepcopy(models)
    change(models)
    return Emulator(models, documents)


def words_of(model: Model, *, name_only: bool = False) -> set[str]:
    meta = model.metadata
    texts = [model.endpoint_id, meta.display_name]
    if not name_only:
        texts += [meta.description, meta.category, *meta.tags]
        texts += [meta.group.key, meta.group.label] if meta.group else []
    return set(tokens(" ".join(texts)))


def matches(model: Model, token: str, **kwargs) -> bool:
    return any(token in word for word in words_of(model, **kwargs))


def test_grid_shows_the_first_48_active_models_in_api_order(member_client, catalog):
    html = member_client.get("/").content.decode()
    assert card_ids(html) == [m.endpoint_id for m in catalog[:PAGE_SIZE]]
    assert count_of(html) == len(catalog)


def test_q_matches_every_word_of_every_field_of_the_index(member_client, catalog):
    html = member_client.get("/?q=kling").content.decode()
    expected = [m for m in catalog if matches(m, "kling")]
    assert count_of(html) == len(expected) == 75
    shown = card_ids(html)
    assert len(shown) == PAGE_SIZE and set(shown) <= {m.endpoint_id for m in expected}
    # Every token must match, in any order (fal's substring search would take the phrase).
    both = member_client.get("/?q=video+kling").content.decode()
    with_both = [m for m in catalog if matches(m, "kling") and matches(m, "video")]
    assert count_of(both) == len(with_both) == 69
    swapped = member_client.get("/?q=kling+video").content.decode()
    assert count_of(swapped) == 69
    every = {m.endpoint_id for m in with_both}
    assert set(card_ids(swapped)) <= every and set(card_ids(both)) <= every
    # A word that matches nothing leaves the others (issue 29): the kling models, not nothing.
    partial = member_client.get("/?q=kling+zzzzqx").content.decode()
    assert count_of(partial) == 75
    assert set(card_ids(partial)) <= {m.endpoint_id for m in expected}


def test_q_tolerates_a_typo_and_suggests_a_spelling(member_client):
    right = member_client.get("/?q=kling").content.decode()
    typo = member_client.get("/?q=klingg").content.decode()
    assert count_of(typo) == count_of(right) and card_ids(typo) == card_ids(right)
    # Two forgiven words find what the right spelling finds; a word that matches nothing
    # leaves them (issue 29), and words that all match nothing find nothing.
    forgiven = card_ids(member_client.get("/?q=klingg+vidqo+zqxjw").content.decode())
    both = {m.endpoint_id for m in services.catalog_index().search("kling video")}
    assert len(forgiven) == PAGE_SIZE and set(forgiven) <= both
    none = member_client.get("/?q=zqxjw+vvkqp").content.decode()
    assert count_of(none) == 0 and "No models match these filters." in none


def test_q_ranks_name_and_id_matches_before_description_matches(member_client, catalog):
    html = member_client.get("/?q=avatar").content.decode()
    by_id = {m.endpoint_id: m for m in catalog}
    shown = [by_id[i] for i in card_ids(html)]
    # Every model saying "avatar", and those saying another name for it ("talking head").
    assert count_of(html) == len(shown)
    assert {m.endpoint_id for m in catalog if matches(m, "avatar")} <= set(card_ids(html))
    in_name = [matches(m, "avatar", name_only=True) for m in shown]
    assert True in in_name and False in in_name  # both kinds of match are present…
    assert in_name == sorted(in_name, reverse=True)  # …and the name/id ones come first
    assert "Best match" in html  # the default sort is named for what it is


def test_category_filter_counts_every_category(member_client):
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


def test_a_grid_of_a_page_and_a_half_offers_a_second_page(member_client, catalog):
    """Pages are counted up: 48 cards shown of a larger total say so and link page 2."""
    category = next(
        c for c in sorted({m.metadata.category for m in catalog if m.metadata})
        if PAGE_SIZE < sum(1 for m in catalog if m.metadata and m.metadata.category == c)
        < 2 * PAGE_SIZE
    )  # fmt: skip
    total = sum(1 for m in catalog if m.metadata and m.metadata.category == category)
    html = member_client.get(f"/?category={category}").content.decode()
    assert len(card_ids(html)) == PAGE_SIZE
    assert f"Showing {PAGE_SIZE} of {total}" in html and f"All {total} shown" not in html
    last = member_client.get(f"/?category={category}&page=2").content.decode()
    assert len(card_ids(last)) == total and f"All {total} shown" in last


def test_the_empty_index_poll_reloads_the_page_once_the_grid_is_ready(rf):
    """The syncing page polls with htmx; once the index has models it asks for a reload."""
    from django_htmx.middleware import HtmxDetails

    from catalog.views.sync import syncing

    request = rf.get("/", headers=HTMX)
    request.htmx = HtmxDetails(request)
    response = syncing(request)
    assert response["HX-Refresh"] == "true"
    assert not response.content


@pytest.mark.parametrize("q", ["✓", "!!!", "— · —"])
def test_a_search_without_a_word_says_so(member_client, q):
    response = member_client.get("/", {"q": q})
    html = response.content.decode()
    assert f"“{escape(q)}” has no letters or digits to search for." in html


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
        ("status=vanished", "Unknown status “vanished”"),
        ("sort=cost", "Unknown sort “cost”: showing fal&#x27;s order."),
        ("category=nonexistent", "No model in fal&#x27;s catalog has the category “nonexistent”."),
        ("unit=pixel", "Unknown unit “pixel”"),
        ("max_price=-1", "a maximum price is a number of dollars, 0 or more"),
        ("max_price=1e999999", "a maximum price is a number of dollars, 0 or more"),
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
    html = response.content.decode()
    clean = member_client.get("/?q=kling").content.decode()
    # The same search as "kling" with no category filter: the same count and cards.
    assert count_of(html) == count_of(clean) > 0
    assert card_ids(html) == card_ids(clean) and card_ids(html)
    assert 'value="kling"' in html
    assert "\x00" not in html and "\x01" not in html and "&#x0;" not in html


def test_deprecated_status_filters_the_index_and_dims_cards(member_client, sync_from, catalog):
    old = catalog[0].endpoint_id

    def deprecate(models):
        models[0]["metadata"]["status"] = "deprecated"

    run = sync_from(changed_snapshot(deprecate))
    assert run.state == "succeeded" and run.changed == 1
    html = member_client.get("/?status=deprecated").content.decode()
    assert card_ids(html) == [old] and count_of(html) == 1
    assert 'class="card card-deprecated"' in html and "badge-deprecated" in html
    # The default view hides deprecated models; "all" shows them among the others.
    active = member_client.get("/").content.decode()
    assert old not in card_ids(active) and count_of(active) == len(catalog) - 1
    assert re.search(r'id="status-deprecated"> deprecated <span class="count">1<', active)
    everything = member_client.get("/?status=all").content.decode()
    assert card_ids(everything)[0] == old and count_of(everything) == len(catalog)


def test_the_folded_rail_says_how_many_filters_are_on(member_client):
    # On a phone the rail folds into "Filters"; its summary counts the active filters.
    assert "<summary>Filters</summary>" in member_client.get("/").content.decode()
    query = {"q": "flux", "category": "text-to-image", "license": "commercial"}
    html = member_client.get("/", query).content.decode()
    assert "<summary>Filters (3 active)</summary>" in html


def test_the_rail_of_an_added_window_follows_the_windows_start(catalog):
    # Rendered once per index, query and window start: a later start is a new rail.
    index = services.catalog_index()
    query = parse_grid_query(QueryDict("added=30"))
    first, second = catalog[0].endpoint_id, catalog[1].endpoint_id
    active = re.compile(r'id="status-active" checked> active <span class="count">(\d+)<')
    earlier = index.rail_html(query, frozenset([first, second]), "2026-10-01T00:00:00+00:00")
    later = index.rail_html(query, frozenset([second]), "2026-10-02T00:00:00+00:00")
    assert active.findall(earlier) == ["2"] and active.findall(later) == ["1"]


def test_the_index_keeps_its_most_recently_used_derived_values(monkeypatch):
    monkeypatch.setattr("catalog.index.DERIVED_KEPT", 3)
    index = CatalogIndex(None, [], {})
    built = []

    def value(name: str) -> str:
        return index.derived(("test", name), lambda: built.append(name) or name)

    for name in ["a", "b", "c", "a", "d"]:  # "a" used again, so "b" is the one to go
        assert value(name) == name
    assert built == ["a", "b", "c", "d"]
    for name in ["a", "c", "d"]:
        value(name)
    assert built == ["a", "b", "c", "d"]  # all three kept
    value("b")
    assert built == ["a", "b", "c", "d", "b"]  # built again


def test_compare_picks_live_in_the_url_and_fill_the_tray(member_client, catalog):
    a, b = catalog[0].endpoint_id, catalog[1].endpoint_id
    html = member_client.get("/", {"compare": [a, b], "q": "banana"}).content.decode()
    assert 'id="open-compare"' in html
    href = f"/compare/?endpoint_id={a}&amp;endpoint_id={b}&amp;grid=q%3Dbanana"  # the way back
    assert f'id="open-compare" class="button button-primary" href="{href}"' in html
    # Removing a filter keeps the picks.
    chip = re.search(
        r'<a class="chip" href="([^"]+)"[^>]*aria-label="Remove filter “banana”"', html
    )
    assert parse_qsl(urlsplit(chip.group(1).replace("&amp;", "&")).query) == [
        ("compare", a),
        ("compare", b),
    ]


def test_only_the_picked_cards_have_their_compare_box_ticked(member_client, catalog):
    picked, other = catalog[0].endpoint_id, catalog[1].endpoint_id
    box = '<input type="checkbox" name="compare" value="{}" form="filters"{}>'
    for _ in range(2):  # drawn, then from the index's rendered cards
        html = member_client.get("/", {"compare": picked}).content.decode()
        assert box.format(picked, " checked") in html
        assert box.format(other, "") in html


def test_a_failed_sync_keeps_the_grid_serving_and_tells_staff_only(
    settings, member_client, staff_client, catalog
):
    # fal over HTTP behind a proxy that answers every request with its own HTML error page.
    upstream = FaultUpstream().start()
    upstream.set_mode("502")
    settings.FAL_API_URL = upstream.url
    settings.CATALOG_SYNC_MAX_RETRIES = 0
    try:
        run = sync_catalog(trigger="test")
        assert run.state == SyncRun.State.FAILED and run.error
        asked = len(upstream.requests)
        _failed_sync_pages(member_client, staff_client, catalog, run)
        assert len(upstream.requests) == asked  # the grid never asked fal
    finally:
        upstream.stop()


def _failed_sync_pages(member_client, staff_client, catalog, run) -> None:

    html = member_client.get("/").content.decode()
    assert count_of(html) == len(catalog)  # the index keeps serving what it had
    assert card_ids(html) == [m.endpoint_id for m in catalog[:PAGE_SIZE]]
    assert "The last sync failed" not in html and run.error not in html
    assert "Bad Gateway" not in html and MARKER not in html  # fal's page is never shown

    staff_html = staff_client.get("/").content.decode()
    assert count_of(staff_html) == len(catalog)
    assert "The last sync failed" in staff_html and run.error in staff_html
    assert 'href="/catalog/sync/"' in staff_html and MARKER not in staff_html
    fragment = staff_client.get("/?q=kling", headers={**HTMX, "HX-Target": "results"})
    assert "The last sync failed" in fragment.content.decode()
    member_fragment = member_client.get("/?q=kling", headers={**HTMX, "HX-Target": "results"})
    assert "The last sync failed" not in member_fragment.content.decode()


# --- browse() directly ---------------------------------------------------------------------


def model(endpoint_id: str, **meta) -> Model:
    return Model(endpoint_id, ModelMetadata(display_name=endpoint_id, status="active", **meta))


def rows(models: list[Model]):
    return [row_for(m) for m in models]


def test_tags_are_folded_and_empty_tags_dropped():
    models = [model("a/1", tags=("New", "new", "")), model("a/2", tags=("NEW",))]
    grid = browse(parse_grid_query(QueryDict("")), rows(models))
    assert [(o.label, o.count) for o in grid.facets["tag"]] == [("New", 2)]


def test_group_facet_folds_case_and_sorts_by_family_name():
    models = [
        model("a/1", group=Group("Kling", "Kling")),
        model("a/2", group=Group("kling", "Kling")),
        model("a/3", group=Group("flux", "Flux")),
    ]
    grid = browse(parse_grid_query(QueryDict("group=KLING")), rows(models))
    assert grid.total == 2
    assert [(o.label, o.count, o.selected) for o in grid.groups] == [
        ("flux", 1, False),
        ("Kling", 2, True),
    ]


def test_a_models_family_is_the_rest_of_its_group_whatever_the_keys_case():
    kling = model("a/1", group=Group("Kling", "Kling"))
    kling_pro = model("a/2", group=Group("kling", "Kling"))
    kling_gone = model("a/6", group=Group("kling", "Kling"))
    alone = model("a/3", group=Group("flux", "Flux"))
    keyless, bare = model("a/4", group=Group("", "")), Model("a/5")
    last_of_its_family = model("a/7", group=Group("sora", "Sora"))  # gone: its page stays
    models = [kling, kling_pro, kling_gone, alone, keyless, bare, last_of_its_family]
    now = timezone.now()
    presence = {m.endpoint_id: Presence(first_seen=now, gone_at=None) for m in models}
    presence["a/6"] = presence["a/7"] = Presence(first_seen=now, gone_at=now)
    index = CatalogIndex(None, models, presence)
    assert index.family(kling) == (kling_pro,)  # what the model page lists as "Same family"
    assert index.family(kling_pro) == (kling,)
    assert index.family(alone) == index.family(keyless) == index.family(bare) == ()
    assert index.family(last_of_its_family) == ()


def test_an_indexs_rows_hold_one_copy_of_equal_tag_sets_in_the_shared_table_given():
    models = [model("a/1", tags=("New", "Fast")), model("a/2", tags=("fast", "new"))]
    now = timezone.now()
    presence = {m.endpoint_id: Presence(first_seen=now, gone_at=None) for m in models}
    first, second = CatalogIndex(None, models, presence).rows
    assert first.tags is second.tags  # without a table given, the index keeps its own
    shared = Shared()  # what load_index passes: the table its models were read through
    first, second = CatalogIndex(None, models, presence, shared=shared).rows
    assert first.tags is second.tags is shared[frozenset({"new", "fast"})]


def test_models_without_metadata_are_shown_as_unknown_license():
    grid = browse(parse_grid_query(QueryDict("license=unknown")), rows([Model("bare/model")]))
    assert [m.endpoint_id for m in grid.models] == ["bare/model"]


def test_the_grid_follows_the_index_after_a_sync_changes_it(
    member_client, sync_from, catalog, count_upstream
):
    first = catalog[0]
    html = member_client.get("/").content.decode()
    assert first.metadata.display_name in html and "Renamed by fal" not in html
    assert count_upstream == []  # the grid read the index, not fal

    def rename(models):
        models[0]["metadata"]["display_name"] = "Renamed by fal"

    run = sync_from(changed_snapshot(rename))
    assert run.state == "succeeded" and run.changed == 1
    html = member_client.get("/").content.decode()
    assert card_ids(html)[0] == first.endpoint_id and "Renamed by fal" in html
    fragment = member_client.get("/?q=renamed", headers={**HTMX, "HX-Target": "results"})
    assert card_ids(fragment.content.decode()) == [first.endpoint_id]


def test_no_template_comment_leaks_into_the_grid(member_client):
    # {# … #} is one line only: a comment across lines is printed (it was, above the rail).
    for path in ("/", "/?q=flux"):
        html = member_client.get(path).content.decode()
        assert "{#" not in html and "#}" not in html
        assert "rendered once per index" not in html


def test_the_page_title_names_the_search_and_filters_on_full_pages_and_htmx_swaps(member_client):
    url = "/?q=flux&category=text-to-image"
    title = "<title>“flux” · text-to-image · Models · fal catalog</title>"
    assert title in member_client.get(url).content.decode()
    swap = member_client.get(url, headers={"HX-Request": "true", "HX-Target": "results"})
    html = swap.content.decode()
    assert html.lstrip().startswith(title)  # at the fragment's root, where htmx reads it
    more = member_client.get(
        url + "&page=2", headers={"HX-Request": "true", "HX-Target": "load-more"}
    )
    assert "<title>" not in more.content.decode()  # appended cards leave the title alone


def test_a_title_with_many_filters_counts_the_rest(member_client):
    page = member_client.get(
        "/?q=a&category=text-to-image&license=commercial&tag=lora&kind=training"
    )
    title = "“a” · text-to-image · license: commercial · +2 filters · Models · fal catalog"
    assert f"<title>{title}</title>" in page.content.decode()


# --- Compare picks: at most six, and a pick is not a history entry ---------------------------


def test_a_pick_replaces_the_history_entry_a_filter_change_pushes_one(member_client, catalog):
    a, b = catalog[0].endpoint_id, catalog[1].endpoint_id
    before = f"http://testserver/?q=flux&compare={a}"
    picked = member_client.get(
        "/", {"q": "flux", "compare": [a, b]}, headers={**HTMX, "HX-Current-URL": before}
    )
    assert parse_qsl(urlsplit(picked["HX-Replace-Url"]).query) == [
        ("q", "flux"),
        ("compare", a),
        ("compare", b),
    ]
    assert "HX-Push-Url" not in picked
    unpicked = member_client.get("/", {"q": "flux"}, headers={**HTMX, "HX-Current-URL": before})
    assert unpicked["HX-Replace-Url"] == "/?q=flux"
    filtered = member_client.get(
        "/", {"q": "flux", "sort": "name", "compare": a}, headers={**HTMX, "HX-Current-URL": before}
    )
    assert parse_qsl(urlsplit(filtered["HX-Push-Url"]).query) == [
        ("q", "flux"),
        ("sort", "name"),
        ("compare", a),
    ]
    assert "HX-Replace-Url" not in filtered


def test_at_six_picks_the_other_compare_boxes_are_off_and_say_why(member_client, catalog):
    ids = [m.endpoint_id for m in catalog[:7]]
    for _ in range(2):  # drawn, then from the index's rendered cards
        five = member_client.get("/", {"compare": ids[:5]}).content.decode()
        assert "6 is the most you can compare" not in five
        six = member_client.get("/", {"compare": ids[:6]}).content.decode()
        box = re.search(rf'<input type="checkbox" name="compare" value="{ids[6]}"[^>]*>', six)
        assert " disabled" in box.group(0)
        card = six[six.index(f'data-endpoint-id="{ids[6]}"') :].split("</article>")[0]
        assert "6 is the most you can compare" in card
        picked = re.search(rf'<input type="checkbox" name="compare" value="{ids[0]}"[^>]*>', six)
        assert " checked" in picked.group(0) and " disabled" not in picked.group(0)


def test_without_javascript_a_seventh_pick_is_the_one_left_out_and_says_so(member_client, catalog):
    """The form sends its boxes in page order; the picks already made stay, in their order."""
    ids = [m.endpoint_id for m in catalog[:7]]
    before = "http://testserver/?" + "&".join(f"compare={i}" for i in ids[:3] + ids[4:])
    sent = ids[:3] + [ids[3]] + ids[4:]  # the new pick, ticked in the middle of the page
    html = member_client.get("/", {"compare": sent}, headers={"Referer": before}).content.decode()
    assert (
        f"6 is the most you can compare: “{ids[3]}” was left out."
        " Remove a pick from the tray to add another."
    ) in html
    # Each chip's title is "Name (endpoint id)".
    assert re.findall(r'<li class="chip" title="[^"]*\(([^()"]+)\)">', html) == ids[:3] + ids[4:]
