"""The compare page over the catalog index: matrix logic, validation, fal only for unknown ids."""

from __future__ import annotations

import html as html_lib
import re
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.compare import build_matrix, markdown, overview_rows
from fal.openapi import SchemaField, model_schema
from fal_emulator import SNAPSHOT_DIR, Emulator, load_snapshot

SNAPSHOT = SNAPSHOT_DIR
KLING_PRO = "fal-ai/kling-video/v3/pro/image-to-video"
KLING_STANDARD = "fal-ai/kling-video/v3/standard/image-to-video"
VEO = "fal-ai/veo3.1/fast/image-to-video"
GROK = "xai/grok-imagine-video/image-to-video"
PATINA = "fal-ai/patina/material"  # its output refers to an undefined ImageFile schema
JUGGERNAUT = "rundiffusion-fal/juggernaut-flux/base"
NO_SCHEMA = "bytedance/seedance-2.5/image-to-video"  # in the catalog, no OpenAPI document
FLUX_DEV = "fal-ai/flux/dev"
# Its output's Image is the component `registry__image__fast_sdxl__models__Image`.
FLUX_ULTRA = "fal-ai/flux-pro/v1.1-ultra"

pytestmark = pytest.mark.django_db


def compare_path(*ids: str, **params: str) -> str:
    return "/compare/?" + urlencode([("endpoint_id", i) for i in ids] + list(params.items()))


def rows_by_name(matrix):
    return {row.name: row for row in matrix.rows}


# --- Matrix logic, through the view, on real documents ------------------------------------


def test_three_image_to_video_models_shared_fields_come_first(member_client):
    response = member_client.get(compare_path(KLING_PRO, VEO, GROK))
    assert response.status_code == 200
    inputs = response.context["inputs"]
    names = [row.name for row in inputs.rows]
    assert names[:2] == ["prompt", "duration"]  # the only fields all three have
    assert all(row.shared for row in inputs.rows[:2])
    assert not any(row.shared for row in inputs.rows[2:])
    # Then fields two of them have, then those only one has.
    counts = [row.present_in for row in inputs.rows]
    assert counts == sorted(counts, reverse=True)
    assert sum(row.shared for row in inputs.rows) == 2
    assert sum(row.unique for row in inputs.rows) == 9
    # Each input counted once: the two they all have differ (in type, default, limits…).
    assert (inputs.same, inputs.differ, inputs.only_in_some) == (0, 2, 14)
    assert "16 inputs: 0 the same, 2 differ, 14 in only some models" in response.content.decode()


def test_unique_fields_are_marked_in_their_one_column(member_client):
    inputs = member_client.get(compare_path(KLING_PRO, VEO, GROK)).context["inputs"]
    rows = rows_by_name(inputs)
    cfg = rows["cfg_scale"]  # Kling only
    assert cfg.unique
    assert [cell.present for cell in cfg.cells] == [True, False, False]
    # The odd one out is the model that has it; the two without agree with each other.
    assert [cell.odd for cell in cfg.cells] == [frozenset({"presence"}), frozenset(), frozenset()]
    assert rows["auto_fix"].unique and rows["auto_fix"].cells[1].present


def test_differing_defaults_enums_and_limits_are_flagged_per_aspect(member_client):
    inputs = member_client.get(compare_path(KLING_PRO, VEO, GROK)).context["inputs"]
    rows = rows_by_name(inputs)
    duration = rows["duration"]
    assert [cell.default for cell in duration.cells] == ['"5"', '"8s"', "6"]
    assert all("default" in cell.odd for cell in duration.cells)
    assert "type" in duration.cells[2].odd  # integer, where the others take strings
    assert "type" not in duration.cells[0].odd
    aspect = rows["aspect_ratio"]  # Veo and Grok: same default, different choices
    assert [cell.present for cell in aspect.cells] == [False, True, True]
    assert "enum" in aspect.cells[1].odd and "default" not in aspect.cells[1].odd
    prompt = rows["prompt"]
    assert [cell.limits for cell in prompt.cells] == [
        "length ≤ 2500",
        "length ≤ 20000",
        "length ≤ 4096",
    ]
    assert "required" in prompt.cells[0].odd  # optional for Kling, required for the others
    assert "required" not in prompt.cells[1].odd


def test_nearly_identical_models_differ_nowhere_and_only_differences_is_empty(member_client):
    response = member_client.get(compare_path(KLING_PRO, KLING_STANDARD, only="diff"))
    inputs = response.context["inputs"]
    assert inputs.same == len(inputs.rows) == 10
    assert (inputs.differ, inputs.only_in_some) == (0, 0)
    assert response.context["input_rows"] == ()
    assert "No differences in the inputs." in response.content.decode()


def test_only_differences_shows_just_the_rows_that_differ(member_client):
    everything = member_client.get(compare_path(PATINA, JUGGERNAUT))
    only = member_client.get(compare_path(PATINA, JUGGERNAUT, only="diff"))
    all_rows = everything.context["output_rows"]
    shown = only.context["output_rows"]
    assert [row.name for row in shown] == [row.name for row in all_rows if row.differs]
    assert 0 < len(shown) < len(all_rows)
    html = only.content.decode()
    assert 'data-field="seed"' not in html  # same type and required in both
    assert 'data-field="images"' in html
    assert 'name="only" value="diff" checked' in html


def test_a_missing_ref_shows_unknown_and_says_which_schema_is_missing(member_client):
    response = member_client.get(compare_path(PATINA, JUGGERNAUT))
    images = rows_by_name(response.context["outputs"])["images"]
    assert images.cells[0].field.type == "array<unknown>"
    assert images.cells[1].field.type == "array<Image>"
    html = response.content.decode()
    assert "array&lt;unknown&gt;" in html
    assert "which its schema does not define" in html


def test_the_same_image_under_a_generated_component_name_is_not_a_difference(member_client):
    response = member_client.get(compare_path(FLUX_DEV, FLUX_ULTRA))
    images = rows_by_name(response.context["outputs"])["images"]
    assert [cell.field.type for cell in images.cells] == ["array<Image>", "array<Image>"]
    assert not images.differs
    assert "registry__" not in response.content.decode()
    only = member_client.get(compare_path(FLUX_DEV, FLUX_ULTRA, only="diff"))
    assert 'data-field="images"' not in only.content.decode()


def test_the_summary_counts_each_input_once(member_client):
    response = member_client.get(compare_path(FLUX_DEV, FLUX_ULTRA))
    inputs = response.context["inputs"]
    names = {cell.field.name for row in inputs.rows for cell in row.cells if cell.field}
    assert inputs.same + inputs.differ + inputs.only_in_some == len(names) == 16
    assert inputs.same == sum(row.shared and not row.differs for row in inputs.rows) == 5
    assert inputs.only_in_some == sum(not row.shared for row in inputs.rows) == 11
    html = " ".join(response.content.decode().split())
    assert "2 models · 16 inputs: 5 the same, 0 differ, 11 in only some models" in html


def test_a_model_without_a_schema_says_so_and_is_left_out_of_the_counts(member_client):
    response = member_client.get(compare_path(KLING_PRO, NO_SCHEMA, VEO))
    html = response.content.decode()
    assert "fal could not expand this model&#x27;s schema" in html
    assert "OpenAPI schema not available for this endpoint" in html
    inputs = response.context["inputs"]
    assert inputs.available == (True, False, True)
    assert all(not row.cells[1].available for row in inputs.rows)
    # Counted over the two models that have a schema: prompt, duration, ... are shared.
    assert rows_by_name(inputs)["generate_audio"].shared
    assert "no schema" in html


# --- Validation: clear messages, never a 500 ----------------------------------------------


def test_unknown_ids_are_listed_and_the_rest_compared(member_client):
    response = member_client.get(compare_path(KLING_PRO, "nobody/nothing", VEO))
    assert response.status_code == 200
    assert response.context["missing"] == ["nobody/nothing"]
    assert [c.card.endpoint_id for c in response.context["columns"]] == [KLING_PRO, VEO]
    assert "Not found in the catalog" in response.content.decode()


def test_more_than_six_compares_the_first_six_with_a_message(member_client, snapshot_ids):
    response = member_client.get(compare_path(*snapshot_ids[:8]))
    assert response.status_code == 200
    assert [c.card.endpoint_id for c in response.context["columns"]] == snapshot_ids[:6]
    assert "At most 6 models can be compared" in response.content.decode()


def test_duplicates_are_folded_with_a_message(member_client):
    response = member_client.get(compare_path(VEO, GROK, VEO, VEO))
    assert [c.card.endpoint_id for c in response.context["columns"]] == [VEO, GROK]
    assert "Listed more than once, compared once" in response.content.decode()


@pytest.mark.parametrize(
    "bad",
    [
        "not an id",
        "nosuffix",
        "../../etc/passwd",
        "<script>alert(1)</script>/x",
        "javascript:alert(1)",
        "fal-ai/x?y=1",
        "a" * 300 + "/b",
        "fal-ai/\x00nul",
        "/leading/slash",
    ],
)
def test_malformed_ids_get_a_message_never_a_500(member_client, bad):
    response = member_client.get(compare_path(bad, VEO, GROK))
    assert response.status_code == 200
    html = response.content.decode()
    assert "not a fal endpoint id" in html
    assert "<script>alert" not in html
    assert [c.card.endpoint_id for c in response.context["columns"]] == [VEO, GROK]


def test_no_ids_is_an_empty_state_pointing_to_the_grid_without_asking_fal(
    member_client, count_upstream
):
    response = member_client.get("/compare/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Pick 2 to 6 models to compare" in html
    assert 'href="/"' in html
    assert count_upstream == []


def test_one_id_shows_the_model_and_asks_for_another(member_client):
    response = member_client.get(compare_path(VEO))
    assert len(response.context["columns"]) == 1
    html = response.content.decode()
    assert "Add a model to compare with Veo 3.1 Fast" in html
    summary = re.search(r'<span class="compare-summary">\s*(\d+ models?) ·', html)
    assert summary is not None and summary.group(1) == "1 model"


def test_the_summary_counts_two_models_in_the_plural(member_client):
    html = member_client.get(compare_path(VEO, GROK)).content.decode()
    assert re.search(r'<span class="compare-summary">\s*2 models ·', html)


def test_an_id_the_index_lacks_while_fal_fails_gives_an_error_banner(member_client, fal_down):
    response = member_client.get(compare_path(VEO, "acme/not-indexed"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>The fal API failed</strong>: upstream is down (request req-1)." in html
    assert response.context["columns"] == []
    (call,) = fal_down.calls  # find mode, asked once, for the id the index lacks
    assert "endpoint_id=acme%2Fnot-indexed" in call.request.url
    assert "endpoint_id=fal-ai" not in call.request.url


def test_indexed_models_are_compared_from_the_index_while_fal_is_down(member_client, fal_down):
    response = member_client.get(compare_path(VEO, GROK))
    html = response.content.decode()
    assert "The fal API failed" not in html
    assert [c.card.endpoint_id for c in response.context["columns"]] == [VEO, GROK]
    assert "Veo 3.1 Fast" in html
    assert response.context["inputs"].rows  # their schemas come from stored documents
    assert [call.request.url for call in fal_down.calls] == []


def test_upstream_strings_are_escaped_and_only_http_urls_linked(member_client, sync_from):
    evil = {
        "endpoint_id": "evil/model",
        "metadata": {
            "display_name": "<b>Bold</b>",
            "category": "<i>cat</i>",
            "status": "active",
            "model_url": "javascript:alert(1)",
            "thumbnail_url": "data:image/svg+xml,<svg onload=alert(1)>",
        },
    }
    document = {
        "components": {
            "schemas": {
                "EvilInput": {
                    "properties": {
                        "<img src=x onerror=alert(1)>": {
                            "type": "string",
                            "default": "</textarea><script>alert(1)</script>",
                            "enum": ["<u>a</u>"],
                        }
                    }
                }
            }
        }
    }
    models, documents = load_snapshot()
    run = sync_from(Emulator([*models, evil], {**documents, "evil/model": document}))
    assert run.state == "succeeded" and run.added == 1
    response = member_client.get(compare_path("evil/model", VEO))
    html = response.content.decode()
    assert [c.card.endpoint_id for c in response.context["columns"]] == ["evil/model", VEO]
    for raw in ("<b>Bold</b>", "<i>cat</i>", "<img src=x", "<script>alert", "<u>a</u>"):
        assert raw not in html
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the field name, as text
    assert "javascript:" not in html
    assert "data:image" not in html


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(compare_path(VEO, GROK))
    assert response.status_code == 302
    assert "/login" in response["Location"] or "/accounts/login" in response["Location"]


# --- Fetching: the index, and fal only for an id the index lacks ----------------------------


def test_a_compare_of_six_indexed_models_asks_fal_nothing(member_client, count_upstream):
    ids = [KLING_PRO, VEO, GROK, PATINA, JUGGERNAUT, NO_SCHEMA]
    member_client.get(compare_path(VEO))  # the index is loaded once per process and version
    with CaptureQueriesContext(connection) as queries:
        response = member_client.get(compare_path(*ids))
    entry_queries = [q["sql"] for q in queries if "catalog_catalogentry" in q["sql"]]
    assert len(entry_queries) == 1  # every document in one query
    assert [c.card.endpoint_id for c in response.context["columns"]] == ids
    no_schema = response.context["columns"][-1]
    assert no_schema.schema_note == (  # fal's expansion error, as stored by the sync
        "fal could not expand this model's schema: OpenAPI schema not available for this endpoint"
    )
    member_client.get(compare_path(*ids, only="diff"))
    assert count_upstream == []


def test_an_id_the_index_lacks_is_asked_of_find_mode_once(member_client, count_upstream):
    response = member_client.get(compare_path(VEO, "acme/made-up"))
    (url,) = count_upstream
    assert "endpoint_id=acme%2Fmade-up" in url and "expand=openapi-3.0" in url
    html = response.content.decode()
    assert "Not found in the catalog:" in html and "<code>acme/made-up</code>" in html
    assert [c.card.endpoint_id for c in response.context["columns"]] == [VEO]


# --- URL state: add, remove, reorder, htmx ------------------------------------------------


def test_column_links_remove_and_reorder_models(member_client):
    columns = member_client.get(compare_path(KLING_PRO, VEO, GROK)).context["columns"]
    assert columns[0].left_url == ""
    assert columns[2].right_url == ""
    assert columns[1].left_url == compare_path(VEO, KLING_PRO, GROK).replace("%2F", "/")
    assert columns[1].remove_url == compare_path(KLING_PRO, GROK).replace("%2F", "/")
    moved = member_client.get(columns[1].left_url)
    assert [c.card.endpoint_id for c in moved.context["columns"]] == [VEO, KLING_PRO, GROK]


def test_adding_an_endpoint_id_redirects_to_the_longer_comparison(member_client):
    response = member_client.get(compare_path(VEO, add=f"  {GROK} "))
    assert response.status_code == 302
    assert response["Location"] == f"/compare/?endpoint_id={VEO}&endpoint_id={GROK}"


def test_adding_by_name_offers_the_matches(member_client):
    response = member_client.get(compare_path(VEO, add="kling"))
    assert response.status_code == 200
    candidates = response.context["candidates"]
    assert candidates and all("kling" in card.endpoint_id for card, _ in candidates)
    card, url = candidates[0]
    assert url == f"/compare/?endpoint_id={VEO}&endpoint_id={card.endpoint_id}"


def test_adding_something_that_matches_nothing_says_so(member_client):
    response = member_client.get(compare_path(VEO, add="zzqqxx no such model"))
    assert "No model matches" in response.content.decode()


def test_adding_to_six_models_says_remove_one_first(member_client, snapshot_ids):
    response = member_client.get(compare_path(*snapshot_ids[:6], add=GROK))
    assert response.status_code == 200
    assert "remove one before adding another" in response.content.decode()


def test_htmx_requests_get_the_comparison_fragment(member_client):
    response = member_client.get(compare_path(VEO, GROK), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith("<title>Compare · Veo 3.1 Fast, Grok Imagine Video · fal")
    assert '<div id="comparison"' in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_the_markdown_export_is_on_the_page(member_client):
    html = member_client.get(compare_path(KLING_PRO, VEO, GROK)).content.decode()
    assert '<textarea id="compare-markdown"' in html
    assert "| `cfg_scale` | `number` · optional · default `0.5` · min 0 · max 1 | — | — |" in html
    assert "### Inputs (0 the same, 2 differ, 14 in only some models)" in html


# --- compare.py on its own -------------------------------------------------------------------


def stand_in_card(endpoint_id: str, name: str) -> SimpleNamespace:
    """The attributes of catalog.cards.Card that compare.py reads."""
    return SimpleNamespace(
        endpoint_id=endpoint_id, name=name, category="", license="unknown", group_key="",
        group_label="",
        kind="", status="", duration_estimate=None, tags=(), created=None, updated=None,
        model_url="", stream_url="", github_url="", github_is_license=False, price=None,
        price_note="", fal_page_url="", fal_docs_url="", usage=None, usage_title="",
    )  # fmt: skip


def field(name: str, **kwargs) -> SchemaField:
    return SchemaField(name=name, type=kwargs.pop("type", "string"), **kwargs)


def test_rows_common_to_all_first_then_by_how_many_have_them():
    matrix = build_matrix(
        [
            [field("only_a"), field("ab"), field("all")],
            [field("all"), field("ab"), field("bc")],
            [field("bc"), field("all"), field("only_c")],
        ]
    )
    assert [row.name for row in matrix.rows] == ["all", "ab", "bc", "only_a", "only_c"]
    assert (matrix.same, matrix.differ, matrix.only_in_some) == (1, 0, 4)


def test_the_odd_one_out_is_marked_not_the_majority():
    matrix = build_matrix(
        [
            [field("steps", type="integer", default=28, has_default=True)],
            [field("steps", type="integer", default=28, has_default=True)],
            [field("steps", type="integer", default=50, has_default=True)],
        ]
    )
    assert [cell.odd for cell in matrix.rows[0].cells] == [
        frozenset(),
        frozenset(),
        frozenset({"default"}),
    ]


def output_fields(prop: dict, **schemas: dict) -> tuple:
    """The output fields of a document whose output is {"out": prop}, beside `schemas`."""
    doc = {"components": {"schemas": {"XOutput": {"properties": {"out": prop}}, **schemas}}}
    return model_schema(doc).outputs


IMAGE = {"type": "object", "properties": {"url": {"type": "string"}, "width": {}}}
VIDEO = {"type": "object", "properties": {"url": {"type": "string"}}}
REF = "#/components/schemas/"


def images_of(name: str, schema: dict) -> tuple:
    return output_fields({"type": "array", "items": {"$ref": REF + name}}, **{name: schema})


@pytest.mark.parametrize(
    "a, b, differs",
    [
        (images_of("Image", IMAGE), images_of("registry__fast_sdxl__models__Image", IMAGE), False),
        (images_of("Image", IMAGE), images_of("fal__toolkit__image__Image", IMAGE), False),
        (images_of("Image", IMAGE), images_of("Video", VIDEO), True),
        # The same fields under another name of its own (Audio, Video and File share theirs
        # in fal's documents) is another type: the name says what the file holds.
        (images_of("Audio", VIDEO), images_of("Video", VIDEO), True),
        (output_fields({"type": "string"}), output_fields({"type": "integer"}), True),
        (output_fields({"enum": ["a", "b"]}), output_fields({"enum": ["a", "c"]}), True),
    ],
)
def test_types_are_the_same_when_their_own_names_are(a, b, differs):
    (row,) = build_matrix([a, b]).rows
    assert row.differs is differs
    # What is compared is what is shown: two cells that read alike are never "different".
    assert (len({cell.text() for cell in row.cells}) > 1) is differs


def test_each_field_is_the_same_differs_or_is_in_only_some_models():
    matrix = build_matrix(
        [
            [field("same"), field("steps", type="integer"), field("ab"), field("only_a")],
            [field("same"), field("steps", type="number"), field("ab")],
            [field("same"), field("steps", type="integer"), field("only_c")],
        ]
    )
    assert (matrix.same, matrix.differ, matrix.only_in_some) == (1, 1, 3)
    assert matrix.same + matrix.differ + matrix.only_in_some == len(matrix.rows) == 5
    assert matrix.counts == "1 the same, 1 differs, 3 in only some models"
    # "Only differences" keeps every row that is not the same everywhere.
    assert [row.name for row in matrix.differing_rows] == ["steps", "ab", "only_a", "only_c"]


def test_columns_without_a_schema_do_not_make_fields_unshared():
    matrix = build_matrix([[field("a")], None, [field("a")]])
    assert matrix.rows[0].shared and not matrix.rows[0].differs
    assert matrix.rows[0].cells[1].text() == "schema unavailable"


def test_with_one_schema_nothing_is_shared_unique_or_different():
    matrix = build_matrix([[field("a"), field("b")], None])
    assert (matrix.same, matrix.differ, matrix.only_in_some) == (0, 0, 0)
    assert len(matrix.rows) == 2
    assert matrix.counts == ""  # nothing to compare with


def test_markdown_escapes_pipes_and_keeps_one_line_per_row():
    cards = [stand_in_card("a/one", "One | Two"), stand_in_card("b/two", "Three")]
    inputs = build_matrix(
        [
            [field("sep", default="a|b\nc", has_default=True)],
            [field("sep")],
        ]
    )
    text = markdown(cards, overview_rows(cards), inputs, build_matrix([[], []]))
    assert "**One \\| Two**" in text
    assert '| `sep` | `string` · optional · default `"a\\|b\\nc"` | `string` · optional |' in text
    assert all(line.count(" | ") >= 2 for line in text.splitlines() if line.startswith("| "))


def back_link(html: str) -> str:
    return html_lib.unescape(re.search(r'class="compare-back"><a href="([^"]*)"', html).group(1))


def test_open_compare_carries_the_grids_filters_and_all_models_goes_back_to_them(member_client):
    grid = member_client.get(
        "/?q=kling&license=commercial&sort=newest&page=2"
        f"&compare={KLING_PRO}&compare={KLING_STANDARD}"
    )
    open_compare = re.search(r'id="open-compare" [^>]*href="([^"]*)"', grid.content.decode())
    compare = member_client.get(open_compare.group(1).replace("&amp;", "&"))
    assert compare.status_code == 200
    back = back_link(compare.content.decode())
    # The filters and sort, the compared models as the picks, page 1.
    assert back == "/?" + urlencode(
        [("q", "kling"), ("license", "commercial"), ("sort", "newest"),
         ("compare", KLING_PRO), ("compare", KLING_STANDARD)]
    )  # fmt: skip


def test_column_moves_and_the_add_form_keep_the_grid_state(member_client):
    page = member_client.get(compare_path(KLING_PRO, KLING_STANDARD, VEO, grid="q=kling"))
    html = page.content.decode()
    assert 'name="grid" value="q=kling"' in html  # the add form and the switch keep it
    removed = member_client.get(compare_path(KLING_PRO, VEO, grid="q=kling"))
    assert back_link(removed.content.decode()) == "/?" + urlencode(
        [("q", "kling"), ("compare", KLING_PRO), ("compare", VEO)]
    )
    assert "grid=q%3Dkling" in html  # remove and move links
    added = member_client.get(compare_path(KLING_PRO, grid="q=kling", add=VEO))
    assert added.status_code == 302 and "grid=q%3Dkling" in added["Location"]


@pytest.mark.parametrize("grid", ["license=%00", "q=" + "x" * 5000, "sort=nope&category=<b>", "%"])
def test_a_hostile_grid_state_is_cleaned_never_a_500(member_client, grid):
    page = member_client.get(compare_path(KLING_PRO, KLING_STANDARD) + "&grid=" + grid)
    assert page.status_code == 200
    back = back_link(page.content.decode())
    assert back.startswith("/?") and "<b>" not in back and "\x00" not in back


def test_without_grid_state_all_models_keeps_the_picks(member_client):
    page = member_client.get(compare_path(KLING_PRO, KLING_STANDARD))
    assert back_link(page.content.decode()) == "/?" + urlencode(
        [("compare", KLING_PRO), ("compare", KLING_STANDARD)]
    )
