"""fal.types without the network: endpoint-id shape, following cursors, parsing entries."""

from __future__ import annotations

import json

import pytest

from fal.types import (
    ExpansionError,
    Group,
    ModelMetadata,
    Page,
    is_endpoint_id,
    next_cursor,
    parse_metadata,
    parse_model,
    parse_page,
)


@pytest.mark.parametrize(
    "value", ["fal-ai/flux/dev", "fal-ai/flux-pro/v1.1-ultra", "a/b", "fal-ai/.hidden", "o/x..y"]
)
def test_endpoint_ids_of_fal_shape_are_accepted(value):
    assert is_endpoint_id(value)


@pytest.mark.parametrize("value", ["fal-ai/flux/dev\n", "fal-ai/flux\n", "a/b\n"])
def test_a_trailing_newline_is_not_an_endpoint_id(value):
    assert not is_endpoint_id(value)


@pytest.mark.parametrize(
    "value", ["fal-ai/../x", "fal-ai/./x", "fal-ai/x/..", "fal-ai/x/.", "../x", "./x", "a/.."]
)
def test_dot_and_dot_dot_segments_are_not_endpoint_ids(value):
    assert not is_endpoint_id(value)


@pytest.mark.parametrize("value", ["", "flux", "/fal-ai/flux", "fal-ai//flux", "fal ai/flux"])
def test_other_shapes_are_not_endpoint_ids(value):
    assert not is_endpoint_id(value)


def test_an_endpoint_id_longer_than_200_characters_is_refused():
    assert is_endpoint_id("a/" + "b" * 198)
    assert not is_endpoint_id("a/" + "b" * 199)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"models": [], "next_cursor": "Mg", "has_more": True}, "Mg"),
        ({"models": [], "next_cursor": "Mg"}, "Mg"),  # has_more left out: the cursor decides
        ({"models": [], "next_cursor": "Mg", "has_more": False}, None),
        ({"models": [], "next_cursor": None, "has_more": True}, None),
        ({"models": [], "next_cursor": "", "has_more": True}, None),
        ({"models": [], "next_cursor": 2, "has_more": True}, None),
    ],
)
def test_next_cursor_reads_a_page_as_sent_and_as_parsed_alike(body, expected):
    assert next_cursor(body, set()) == expected
    assert next_cursor(parse_page(body), set()) == expected


def test_a_cursor_already_followed_ends_the_pages():
    seen: set[str] = set()
    page = Page(models=(), next_cursor="Mg", has_more=True)
    assert next_cursor(page, seen) == "Mg"
    assert seen == {"Mg"}
    assert next_cursor(page, seen) is None


# --- parse_page: what mutation testing found untested (bin/mutation) ---------------------


@pytest.mark.parametrize("body", [[], "models", {"models": {}}, {"next_cursor": "x"}, None])
def test_a_page_of_the_wrong_shape_is_an_invalid_response_that_says_so(body):
    from fal.errors import FalInvalidResponseError

    with pytest.raises(FalInvalidResponseError) as raised:
        parse_page(body)
    # The message is what the model page shows after "The fal API failed".
    assert raised.value.message == "The API answered with JSON of an unexpected shape"


def test_an_entry_without_an_endpoint_id_is_skipped_and_logged(caplog):
    entries = [{"endpoint_id": "a/b"}, {"metadata": {}}, {"endpoint_id": "c/d"}]
    page = parse_page({"models": entries, "has_more": False})
    assert [m.endpoint_id for m in page.models] == ["a/b", "c/d"]  # the rest are kept
    assert caplog.messages == ["Skipped a model entry without a usable endpoint_id"]


@pytest.mark.parametrize(
    ("body", "cursor", "has_more"),
    [
        ({"next_cursor": "", "has_more": True}, None, False),
        ({"next_cursor": 7, "has_more": True}, None, False),
        ({"next_cursor": "c2"}, "c2", True),  # no has_more: a cursor means more
        ({"next_cursor": "c2", "has_more": "yes"}, "c2", True),
        ({"next_cursor": "c2", "has_more": False}, "c2", False),
        ({}, None, False),
    ],
)
def test_the_cursor_and_has_more_of_a_page(body, cursor, has_more):
    page = parse_page({"models": [], **body})
    assert page.next_cursor == cursor and page.has_more is has_more


def test_an_expansion_error_without_a_code_is_unknown():
    model = parse_model({"endpoint_id": "a/b", "openapi": {"error": {"message": "boom"}}})
    assert model.openapi.code == "unknown" and model.openapi.message == "boom"


def test_training_and_inference_ids_keep_only_the_usable_ones_in_order():
    longest, too_long = "y" * 1000, "z" * 1001  # MAX_USABLE_ID_LENGTH
    ids = ["fal-ai/flux-lora-fast-training", "a/b\nc", 5, "", "x", "not an id", longest, too_long]
    meta = parse_metadata({"training_endpoint_ids": ids, "inference_endpoint_ids": ids[::-1]})
    assert meta.training_endpoint_ids == ("fal-ai/flux-lora-fast-training", "x", longest)
    assert meta.inference_endpoint_ids == (longest, "x", "fal-ai/flux-lora-fast-training")


def test_every_metadata_field_is_read_from_the_name_fal_gives_it():
    texts = ["display_name", "category", "description", "status", "updated_at", "date"]
    texts += ["thumbnail_url", "thumbnail_animated_url", "model_url", "github_url", "stream_url"]
    texts += ["license_type", "kind"]
    sent = {name: f"the {name}" for name in texts}
    sent |= {"tags": ["new", 5, "fast"], "group": {"key": "flux", "label": "FLUX"}}
    sent |= {"training_endpoint_ids": ["a/t"], "inference_endpoint_ids": ["a/i"]}
    sent |= {"duration_estimate": 12, "is_favorited": True}
    assert parse_metadata(sent) == ModelMetadata(
        **{name: f"the {name}" for name in texts},
        tags=("new", "fast"),
        group=Group(key="flux", label="FLUX"),
        training_endpoint_ids=("a/t",),
        inference_endpoint_ids=("a/i",),
        duration_estimate=12.0,
        is_favorited=True,
    )


@pytest.mark.parametrize(
    ("sent", "field", "read"),
    [
        ({"is_favorited": "yes"}, "is_favorited", None),
        ({"is_favorited": False}, "is_favorited", False),
        ({"duration_estimate": True}, "duration_estimate", None),
        ({"duration_estimate": "12"}, "duration_estimate", None),
        ({"duration_estimate": 2.5}, "duration_estimate", 2.5),
        ({"group": {"key": "", "label": ""}}, "group", None),
        ({"group": {"label": "FLUX"}}, "group", Group(key="", label="FLUX")),
        ({"group": {"key": "flux"}}, "group", Group(key="flux", label="")),
        ({"group": "flux"}, "group", None),
        ({"tags": "new"}, "tags", ()),
        ({"display_name": 5}, "display_name", ""),
    ],
)
def test_a_metadata_field_of_the_wrong_type_is_left_empty(sent, field, read):
    assert getattr(parse_metadata(sent), field) == read


NO_DOCUMENT = ("invalid_response", "The API sent no usable OpenAPI document")
NO_STATUS = ("invalid_response", "The API sent no usable enterprise status")


@pytest.mark.parametrize(
    ("expanded", "openapi", "enterprise_status"),
    [
        ({}, None, None),  # not asked for: not there
        ({"openapi": {"openapi": "3.0.4"}, "enterprise_status": "approved"},
         {"openapi": "3.0.4"}, "approved"),
        ({"openapi": {"error": {"code": "timeout", "message": "too slow"}},
          "enterprise_status": {"error": {"code": "forbidden", "message": "no"}}},
         ("timeout", "too slow"), ("forbidden", "no")),
        ({"openapi": "3.0.4", "enterprise_status": 5}, NO_DOCUMENT, NO_STATUS),
        ({"openapi": None, "enterprise_status": None}, NO_DOCUMENT, NO_STATUS),
    ],
)  # fmt: skip
def test_an_expanded_field_is_its_value_fals_error_or_an_error_of_our_own(
    expanded, openapi, enterprise_status
):
    def read(value):
        return (value.code, value.message) if isinstance(value, ExpansionError) else value

    model = parse_model({"endpoint_id": "a/b", "metadata": {"display_name": "B"}, **expanded})
    assert (model.endpoint_id, model.metadata.display_name) == ("a/b", "B")
    assert (read(model.openapi), read(model.enterprise_status)) == (openapi, enterprise_status)


@pytest.mark.parametrize("entry", [None, [], "a/b", {"endpoint_id": 5}, {"endpoint_id": "a b"}])
def test_an_entry_without_a_usable_endpoint_id_is_no_model(entry):
    assert parse_model(entry) is None


def test_a_models_repeated_strings_go_through_the_share_function_given():
    entry = '{"endpoint_id": "a/1", "metadata": {"category": "text-to-image"}}'
    first, second = json.loads(entry), json.loads(entry)  # equal strings, two copies
    assert first["metadata"]["category"] is not second["metadata"]["category"]
    shared = {}
    one = parse_model(first, shared.setdefault)
    other = parse_model(second, shared.setdefault)
    assert other.metadata.category is one.metadata.category
