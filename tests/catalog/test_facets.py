"""The facet table itself (catalog.facets.FACETS): every facet round-trips through the URL,
its chips remove it, its counts say what choosing each option would show, bad input gives
its message, and the rail's inputs submit the state they show. A new facet needs a line in
SAMPLES below, and then these tests hold it to the same rules as the rest."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode

import pytest
from django.http import QueryDict

from catalog.browse import GridQuery, active_filters, browse, parse_grid_query
from catalog.facets import FACETS, FACETS_BY_NAME, MATCHED, OTHERS, Facet, Stated
from catalog.index import CatalogIndex, Presence
from catalog.prices import card_price
from fal.capabilities import capabilities
from fal.types import parse_model
from fal_emulator import load_prices, load_snapshot
from usage.figures import NO_USAGE, EndpointUsage, TeamUsage

# Per facet: URL values that choose something (in the snapshot), and an unknown value with
# the message it gets (None for facets that take any value: one no model has shows 0).
SAMPLES: dict[str, tuple[list[str], tuple[str, str] | None]] = {
    "category": (["image-to-video"], None),
    "status": (["deprecated"], ("bogus", "Unknown status “bogus”: showing active models.")),
    "license": (["research", "unknown"], ("gpl", "Unknown license “gpl” was ignored.")),
    "tag": (["transform", "stylized"], None),
    "group": (["sa3"], None),
    "kind": (["training"], ("other", "Unknown kind “other”: choose inference or training.")),
    "unit": (
        ["second", "image"],
        (
            "furlong",
            "Unknown unit “furlong” was ignored: choose one of image, megapixel, second, "
            "video, compute_second, 1k_characters, token, call, vague.",
        ),
    ),
    "max_price": (
        ["0.05"],
        ("cheap", "“cheap” was ignored: a maximum price is a number of dollars, 0 or more."),
    ),
    "accepts": (["image", "lora"], ("smell", "Unknown “accepts” value “smell” was ignored.")),
    "has": (["seed"], ("<b>x</b>", "Unknown “has” value “<b>x</b>” was ignored.")),
    "outputs": (["video"], ("3D", "Unknown “outputs” value “3D” was ignored.")),
    "max_duration": (
        ["10.5"],
        ("0", "“max_duration” must be a number of seconds from 1 to 100,000; “0” was ignored."),
    ),
    "max_outputs": (
        ["4"],
        ("2.5", "“max_outputs” must be a whole number from 1 to 1,000; “2.5” was ignored."),
    ),
    "used": (["1"], ("2", "Unknown “used” value “2”: choose 1 for the models the team used.")),
    "added": (["30"], ("8", "Unknown “added” value “8”: choose 7, 30 or new.")),
}
# The URL's parameters in canonical order: what every link the grid writes keeps.
URL_ORDER = [
    "q", "category", "status", "license", "tag", "group", "kind", "unit", "max_price",
    "accepts", "has", "outputs", "max_duration", "max_outputs", "used", "added", "sort", "page",
    "compare",
]  # fmt: skip
facets = pytest.mark.parametrize("facet", FACETS, ids=lambda f: f.name)


def sample_query(facet: Facet, *extra: tuple[str, str]) -> tuple[str, GridQuery]:
    values, _ = SAMPLES[facet.name]
    text = urlencode([(facet.name, v) for v in values] + list(extra))
    return text, parse_grid_query(QueryDict(text))


@pytest.fixture(scope="module")
def index() -> CatalogIndex:
    """The snapshot with its schemas and prices, every ninth model deprecated (it has none)."""
    entries, documents = load_snapshot()
    models = []
    for n, entry in enumerate(entries):
        model = parse_model(entry)
        if model.metadata and n % 9 == 0:
            metadata = dataclasses.replace(model.metadata, status="deprecated")
            model = dataclasses.replace(model, metadata=metadata)
        models.append(model)
    stated = {m.endpoint_id: capabilities(documents.get(m.endpoint_id)) for m in models}
    prices = {
        p["endpoint_id"]: card_price(p["unit_price"], p["unit"], p["currency"])
        for p in load_prices()
    }
    now = datetime.now(UTC)
    return CatalogIndex(
        None,
        models,
        {m.endpoint_id: Presence(now, None) for m in models},
        {k: v for k, v in stated.items() if v is not None},
        prices,
    )


@pytest.fixture(scope="module")
def added_ids(index) -> frozenset[str]:
    return frozenset(m.endpoint_id for m in index.models[::5])


@pytest.fixture(scope="module")
def usage(index) -> TeamUsage:
    """A team that used every seventh model: spend and calls in reverse order of each other."""
    used = index.models[::7]
    return TeamUsage(
        run_id=1,
        by_endpoint={
            m.endpoint_id: EndpointUsage(m.endpoint_id, spend=Decimal(n), calls=1000 - n)
            for n, m in enumerate(used, 1)
        },
    )


def test_every_facet_has_samples_here():
    assert sorted(SAMPLES) == sorted(FACETS_BY_NAME)
    assert [f.name for f in FACETS] == [n for n in URL_ORDER if n in FACETS_BY_NAME]


@facets
def test_a_facet_round_trips_through_the_url(facet):
    text, query = sample_query(facet)
    assert query.messages == ()
    assert [name for name, _ in query.filters] == [facet.name]
    assert query.value(facet.name) != facet.default
    assert query.has_filters
    assert query.url() == "?" + text
    assert parse_grid_query(QueryDict(query.url()[1:])) == query
    # Untouched by a change to anything else, and gone when set back to its default.
    assert query.url(q="x", page=3) == "?" + urlencode([("q", "x"), *parse_qsl(text), ("page", 3)])
    assert query.url(**{facet.name: facet.default}) == "?"
    assert query.clear_url() == "?"


def test_every_facet_at_once_comes_out_in_canonical_order():
    pairs = [("compare", "fal-ai/flux/dev"), ("page", "2"), ("sort", "name")]
    for facet in reversed(FACETS):
        pairs += [(facet.name, v) for v in SAMPLES[facet.name][0]]
    query = parse_grid_query(QueryDict(urlencode([*pairs, ("q", "flux")])))
    assert query.messages == ()
    names = list(dict.fromkeys(name for name, _ in query.params(page=query.page)))
    assert names == URL_ORDER
    assert query.clear_url() == "?sort=name&compare=fal-ai%2Fflux%2Fdev"


@facets
def test_a_facets_sample_narrows_the_grid(facet, index, added_ids, usage):
    text, query = sample_query(facet)
    everything = browse(GridQuery(), index.rows, added_ids, usage.ranking).total
    assert 0 < browse(query, index.rows, added_ids, usage.ranking).total < everything


@facets
def test_each_chip_removes_its_value_and_keeps_the_rest(facet):
    _, query = sample_query(facet, ("q", "flux"), ("sort", "name"))
    chips = active_filters(query)
    assert chips[0] == ("“flux”", query.url(q=""))
    values = SAMPLES[facet.name][0]
    assert len(chips) == 1 + len(values)
    for n, (label, url) in enumerate(chips[1:]):
        assert label
        left = parse_grid_query(QueryDict(url[1:]))
        assert (left.q, left.sort) == ("flux", "name")
        if facet.default == ():
            assert left.value(facet.name) == tuple(v for v in values if v != values[n])
        else:
            assert left.value(facet.name) == facet.default
    assert len({label for label, _ in chips}) == len(chips)


@facets
def test_an_unknown_value_is_dropped_with_its_message(facet, index):
    unknown = SAMPLES[facet.name][1]
    if unknown is None:  # any value is taken: one no model has is listed, chosen, at 0
        query = parse_grid_query(QueryDict(urlencode({facet.name: "no-such-value"})))
        assert query.messages == ()
        options = index.grid(query).facets[facet.name]
        assert ("no-such-value", 0, True) in [(o.label, o.count, o.selected) for o in options]
        return
    value, message = unknown
    query = parse_grid_query(QueryDict(urlencode({facet.name: value, "q": "flux"})))
    assert query.messages == (message,)
    assert (query.q, query.filters) == ("flux", ())  # nothing set by mistake
    assert query.url() == "?q=flux"


# Facets of several values where a model needs only one of them: another option widens the
# grid, so an option's count is what it shows alone. With the others, a model needs them all.
ANY_OF = {"license", "unit"}


def chosen(facet: Facet, value, option: str):
    """The facet's value once `option` is chosen, as its rail control would submit it."""
    if facet.default != ():
        return option
    if facet.name in ANY_OF:
        return (option,)
    return value if option in value else (*value, option)


@pytest.mark.parametrize("others", ["", "license=commercial&status=all", "accepts=image"])
@pytest.mark.parametrize(
    "facet", [f for f in FACETS if f.counts in (OTHERS, MATCHED)], ids=lambda f: f.name
)
def test_each_options_count_is_what_choosing_it_shows(facet, others, index, added_ids, usage):
    text, _ = sample_query(facet)
    query = parse_grid_query(QueryDict(f"{others}&{text}&added=30"))
    rows, value = index.rows, query.value(facet.name)
    grid = browse(query, rows, added_ids, usage.ranking)
    summary = grid.facets[facet.name]
    if facet.name == "max_price":  # what it leaves out: tested on its own below
        return
    if isinstance(summary, Stated):  # a limit: how many of the matches state one
        stated = [
            getattr(index.capabilities.get(m.endpoint_id), facet.name, None) for m in grid.models
        ]
        assert summary.count == len([n for n in stated if n is not None])
        return
    assert summary and sum(o.count for o in summary) > 0
    for option in summary:
        choice = parse_grid_query(
            QueryDict(query.url(**{facet.name: chosen(facet, value, option.value)})[1:])
        )
        assert option.count == browse(choice, rows, added_ids, usage.ranking).total, option


@pytest.mark.parametrize("others", ["max_price=0.05", "max_price=0.05&unit=image"])
def test_a_units_count_is_what_choosing_it_shows_under_a_max_price(others, index):
    """A bare max price is per typical job; choosing a unit makes it per that unit, and the
    unit's count says what that shows."""
    query = parse_grid_query(QueryDict(others))
    options = browse(query, index.rows).facets["unit"]
    assert sum(o.count for o in options) > 0
    for option in options:
        choice = parse_grid_query(QueryDict(query.url(unit=(option.value,))[1:]))
        assert option.count == browse(choice, index.rows).total, option


def test_a_max_price_per_typical_job_counts_what_it_leaves_out_by_unit(index):
    """The models of classes without a typical job that pass every other filter."""
    query = parse_grid_query(QueryDict("max_price=0.05&license=commercial"))
    without = browse(parse_grid_query(QueryDict("license=commercial")), index.rows)
    classes = Counter(index.price(m.endpoint_id).unit_class for m in without.models
                      if index.price(m.endpoint_id))  # fmt: skip
    left_out = browse(query, index.rows).facets["max_price"]
    expected = {k: classes[k] for k in ("compute_second", "token", "vague") if classes[k]}
    assert dict(left_out.counts) == expected and left_out.total == sum(expected.values()) > 0
    # With a unit, the unit facet says what each unit holds: nothing is left out unseen.
    per_unit = parse_grid_query(QueryDict("max_price=0.05&unit=token"))
    assert browse(per_unit, index.rows).facets["max_price"].total == 0


@pytest.mark.parametrize("facet", ["category", "license", "kind", "group"])
def test_the_active_views_counts_leave_deprecated_models_out_and_status_all_counts_them(
    facet, index
):
    """No filter chosen but the default status: a deprecated model is in no count."""
    key = FACETS_BY_NAME[facet].key  # the Row attribute the facet counts
    deprecated = [r for r in index.rows if r.status == "deprecated"]
    assert deprecated and {key(r) for r in deprecated} - {""}, "the index has some to count"
    for status, counted in (("", "active"), ("status=all", None)):
        rows = [r for r in index.rows if counted in (None, r.status)]
        expected = Counter(map(key, rows))
        options = browse(parse_grid_query(QueryDict(status)), index.rows).facets[facet]
        assert options and all(o.count == expected[o.value.casefold()] for o in options), status
    active = browse(GridQuery(), index.rows).facets[facet]
    everything = browse(parse_grid_query(QueryDict("status=all")), index.rows).facets[facet]
    assert sum(o.count for o in active) < sum(o.count for o in everything)


def test_the_schema_unknown_count_leaves_out_the_schemas_filters_only(index):
    query = parse_grid_query(QueryDict("accepts=image&license=commercial"))
    grid = index.grid(query)
    others = index.grid(parse_grid_query(QueryDict("license=commercial"))).models
    assert grid.schema_unknown == sum(m.endpoint_id not in index.capabilities for m in others)
    assert grid.schema_unknown > 0


def ordered(query: GridQuery) -> tuple:
    """A query's filters, a facet's several values in any order (the rail lists them in its)."""
    return tuple((k, tuple(sorted(v)) if isinstance(v, tuple) else v) for k, v in query.filters)


class FormValues(HTMLParser):
    """The name=value pairs a form would submit from this HTML (checked, selected, typed)."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self.select = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "select":
            self.select = a["name"]
        elif tag == "option" and "selected" in a:
            self.pairs.append((self.select, a["value"]))
        elif tag == "input" and a.get("type") in ("radio", "checkbox"):
            if "checked" in a:
                self.pairs.append((a["name"], a["value"]))
        elif tag == "input" and a.get("value"):
            self.pairs.append((a["name"], a["value"]))


@facets
def test_the_rail_submits_the_state_it_shows(facet, index, added_ids, usage):
    text, query = sample_query(facet, ("sort", "name"))
    html = index.rail_html(query, added_ids, "since", usage)
    form = FormValues()
    form.feed(html)
    assert len(form.ids) == len(set(form.ids)), "ids are unique"
    submitted = parse_grid_query(QueryDict(urlencode([*form.pairs, ("sort", "name")])))
    assert submitted.sort == "name"
    assert ordered(submitted) == ordered(query)
    assert f'name="{facet.name}"' in html
    assert f"Filters ({len(active_filters(query))} active)" in html


@pytest.mark.parametrize("synced", [True, False], ids=["usage", "no-usage"])
def test_an_empty_query_shows_every_facets_control_at_its_default(index, usage, synced):
    html = index.rail_html(GridQuery(), usage=usage if synced else NO_USAGE)
    form = FormValues()
    form.feed(html)
    assert parse_grid_query(QueryDict(urlencode(form.pairs))) == GridQuery()
    for facet in FACETS:
        # Before any usage sync there is nothing to filter the team's usage by: it says so.
        shown = synced or facet.name != "used"
        assert (f'name="{facet.name}"' in html) == shown
    assert ("No usage synced yet" in html) != synced
