"""fal.openapi on fal's real OpenAPI documents (the snapshot) and on malformed ones."""

from __future__ import annotations

import copy
import gzip
import json
import random

import pytest

from fal.openapi import RECONSTRUCTED_MARK, ModelSchema, SchemaField, model_schema
from fal_emulator import SNAPSHOT_DIR

SNAPSHOT = SNAPSHOT_DIR


@pytest.fixture(scope="module")
def openapi() -> dict[str, dict]:
    with gzip.open(SNAPSHOT / "fal-openapi-2026-08-10.json.gz") as f:
        return json.load(f)


def by_name(fields: tuple[SchemaField, ...]) -> dict[str, SchemaField]:
    return {f.name: f for f in fields}


def test_inputs_follow_x_fal_order_with_types_defaults_enums_and_limits(openapi):
    schema = model_schema(openapi["fal-ai/ltx-2.3/text-to-video"])
    assert [f.name for f in schema.inputs] == [
        "prompt",
        "duration",
        "resolution",
        "aspect_ratio",
        "fps",
        "generate_audio",
    ]
    fields = by_name(schema.inputs)
    prompt = fields["prompt"]
    assert (prompt.type, prompt.required, prompt.has_default) == ("string", True, False)
    assert (prompt.min_length, prompt.max_length) == (1, 5000)
    assert prompt.description == "The prompt to use for the generated video"
    duration = fields["duration"]
    assert (duration.type, duration.required) == ("integer", False)
    assert (duration.default, duration.has_default, duration.enum) == (6, True, (6, 8, 10))
    assert fields["generate_audio"].default is True
    assert fields["resolution"].enum == ("1080p", "1440p", "2160p")


def test_outputs_come_from_the_result_path_with_refs_named(openapi):
    schema = model_schema(openapi["fal-ai/ltx-2.3/text-to-video"])
    assert [(f.name, f.type, f.required) for f in schema.outputs] == [("video", "VideoFile", True)]
    assert schema.outputs[0].unresolved_ref is None


def test_an_image_under_a_generated_registry_name_is_labelled_image(openapi):
    document = openapi["fal-ai/flux-pro/v1.1-ultra"]
    assert "registry__image__fast_sdxl__models__Image" in document["components"]["schemas"]
    images = by_name(model_schema(document).outputs)["images"]
    assert images.type == "array<Image>"


def test_fields_without_an_order_list_keep_document_order():
    doc = {
        "components": {
            "schemas": {
                "XInput": {"properties": {"b": {"type": "string"}, "a": {"type": "integer"}}}
            }
        }
    }
    assert [f.name for f in model_schema(doc).inputs] == ["b", "a"]


def test_ordered_fields_come_first_then_the_rest_in_document_order():
    doc = {
        "components": {
            "schemas": {
                "XInput": {
                    "x-fal-order-properties": ["c", "missing", "a"],
                    "properties": {"a": {}, "b": {}, "c": {}, "d": {}},
                }
            }
        }
    }
    assert [f.name for f in model_schema(doc).inputs] == ["c", "a", "b", "d"]


def test_a_union_of_a_ref_and_an_enum_names_both_and_keeps_the_enum_values(openapi):
    field = by_name(model_schema(openapi["rundiffusion-fal/juggernaut-flux/base"]).inputs)[
        "image_size"
    ]
    assert field.type == "ImageSize | enum"
    assert field.default == "landscape_4_3"
    assert field.enum[:3] == ("square_hd", "square", "portrait_4_3")


def test_a_nullable_union_shows_the_non_null_type_and_its_limits(openapi):
    fields = by_name(model_schema(openapi["fal-ai/patina/material"]).inputs)
    assert fields["seed"].type == "integer"  # anyOf [integer, null]
    assert fields["seed"].has_default is False
    assert (fields["tile_size"].minimum, fields["tile_size"].maximum) == (32, 256)
    assert fields["tile_size"].default == 128


def test_array_items_give_the_type_and_their_enum_values(openapi):
    maps = by_name(model_schema(openapi["fal-ai/patina/material"]).inputs)["maps"]
    assert maps.type == "array<string>"
    assert maps.enum == ("basecolor", "normal", "roughness", "metalness", "height")
    assert maps.default == ["basecolor", "normal", "roughness", "metalness", "height"]


def test_a_missing_ref_target_gives_unknown_and_names_the_ref(openapi):
    # The snapshot's fal-ai/patina/material refers to ImageFile, which it does not define.
    images = by_name(model_schema(openapi["fal-ai/patina/material"]).outputs)["images"]
    assert images.type == "array<unknown>"
    assert images.unresolved_ref in {
        "#/components/schemas/ImageFile",
        "#/components/schemas/MapImageFile",
    }
    assert images.required is True


def test_an_input_ref_to_an_undefined_schema_gives_no_inputs(openapi):
    # The POST body refers to RouterOpenaiV1ResponsesInput, which the document lacks.
    assert model_schema(openapi["openrouter/router/openai/v1/responses"]) == ModelSchema()


def test_a_missing_input_schema_keeps_the_outputs():
    doc = {
        "info": {"x-fal-metadata": {"endpointId": "a/b"}},
        "paths": {
            "/a/b": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/GoneInput"}
                            }
                        }
                    }
                }
            },
            "/a/b/requests/{request_id}": {
                "get": {
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/BOutput"}
                                }
                            }
                        }
                    }
                }
            },
        },
        "components": {"schemas": {"BOutput": {"properties": {"text": {"type": "string"}}}}},
    }
    schema = model_schema(doc)
    assert schema.inputs == ()
    assert [(f.name, f.type) for f in schema.outputs] == [("text", "string")]


def test_one_entry_allof_around_a_ref_is_the_ref(openapi):
    fields = by_name(model_schema(openapi["fal-ai/decart/lucy-5b/image-to-video"]).outputs)
    assert fields["video"].type == "File"


def test_const_is_a_single_enum_value(openapi):
    fields = by_name(model_schema(openapi["fal-ai/hunyuan-video-image-to-video"]).inputs)
    assert fields["num_frames"].enum == ("129",)


def test_exclusive_minimum_is_kept_as_a_bound_and_flagged(openapi):
    fields = by_name(model_schema(openapi["fal-ai/illusion-diffusion"]).inputs)
    guidance = fields["guidance_scale"]
    assert (guidance.minimum, guidance.exclusive_minimum) == (0, True)
    assert (guidance.maximum, guidance.exclusive_maximum) == (50, False)


def test_a_null_default_is_told_apart_from_no_default():
    doc = {
        "components": {
            "schemas": {
                "XInput": {
                    "properties": {
                        "with_null": {"type": "string", "default": None},
                        "without": {"type": "string"},
                    }
                }
            }
        }
    }
    fields = by_name(model_schema(doc).inputs)
    assert (fields["with_null"].default, fields["with_null"].has_default) == (None, True)
    assert (fields["without"].default, fields["without"].has_default) == (None, False)


def test_cyclic_refs_end_without_error():
    doc = {
        "components": {
            "schemas": {
                "XInput": {"$ref": "#/components/schemas/Loop"},
                "Loop": {"$ref": "#/components/schemas/XInput"},
                "XOutput": {
                    "properties": {
                        "tree": {"$ref": "#/components/schemas/Node"},
                        "self": {"$ref": "#/components/schemas/Alias"},
                    }
                },
                "Node": {"type": "object", "properties": {"child": {"$ref": "#/x/Node"}}},
                "Alias": {"anyOf": [{"$ref": "#/components/schemas/Alias"}]},
            }
        }
    }
    schema = model_schema(doc)
    assert schema.inputs == ()
    assert by_name(schema.outputs)["tree"].type == "Node"
    assert by_name(schema.outputs)["self"].type == "Alias"


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        "openapi",
        42,
        {},
        {"paths": 5, "components": []},
        {"paths": {"/x": {"post": {"requestBody": {"content": {"application/json": 1}}}}}},
        {"components": {"schemas": {"XInput": {"properties": {"a": 1, "b": None}}}}},
        {"components": {"schemas": {"XInput": {"properties": [], "required": "a"}}}},
        {"components": {"schemas": {"XInput": {"properties": {"a": {"enum": [[1], {"k": 2}]}}}}}},
    ],
)
def test_malformed_documents_never_raise(document):
    assert isinstance(model_schema(document), ModelSchema)


def test_every_snapshot_document_parses_and_most_have_inputs(openapi):
    schemas = {endpoint_id: model_schema(doc) for endpoint_id, doc in openapi.items()}
    with_inputs = [s for s in schemas.values() if s.inputs]
    # Four documents in the snapshot refer to an input schema they do not define.
    assert len(schemas) - len(with_inputs) == 4
    assert all(f.type for s in schemas.values() for f in s.inputs + s.outputs)


def test_randomly_damaged_documents_never_raise(openapi):
    rng = random.Random(4)
    garbage = [None, 0, -1.5, "", "x", [], {}, [None], {"$ref": 3}, {"$ref": "#/nope"}, True]
    ids = sorted(openapi)[:40]
    for endpoint_id in ids:
        doc = copy.deepcopy(openapi[endpoint_id])
        for _ in range(30):
            node, key = doc, None
            # Walk to a random node and replace it with garbage.
            while isinstance(node, dict | list) and node and rng.random() < 0.8:
                key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
                parent, node = node, node[key]
            if key is not None:
                parent[key] = rng.choice(garbage)
            assert isinstance(model_schema(doc), ModelSchema)


def test_input_examples_take_the_first_of_examples_else_the_single_example():
    from fal.openapi import input_examples

    properties = {
        "prompt": {"type": "string", "examples": ["a cat", "a dog"], "example": "ignored"},
        "seed": {"type": "integer", "example": 42},
        "steps": {"type": "integer", "examples": []},
        "image_url": {"type": "string"},
    }
    document = {"components": {"schemas": {"XInput": {"properties": properties}}}}
    assert input_examples(document) == {"prompt": "a cat", "seed": 42}


@pytest.mark.parametrize(
    ("document", "source"),
    [
        ({"info": {RECONSTRUCTED_MARK: {"source": "tanstack"}}}, "tanstack"),
        ({"info": {RECONSTRUCTED_MARK: {"source": ""}}}, "unknown"),
        ({"info": {RECONSTRUCTED_MARK: {"source": 7}}}, "unknown"),
        ({"info": {RECONSTRUCTED_MARK: {}}}, "unknown"),
        ({"info": {RECONSTRUCTED_MARK: "yes"}}, None),
        ({"info": {"title": "a recorded document"}}, None),
        ({"info": "nothing"}, None),
        (["not", "a", "document"], None),
        (None, None),
    ],
)
def test_reconstructed_source_names_the_source_of_a_marked_document_only(document, source):
    from fal.openapi import reconstructed_source

    assert reconstructed_source(document) == source


def test_named_type_fields_are_those_of_an_object_schema_with_its_references_resolved():
    from fal.openapi import named_type_fields

    schemas = {
        "Image": {
            "type": "object",
            "properties": {
                "url": {"type": "string"},
                "size": {"$ref": "#/components/schemas/Size"},
            },
            "required": ["url"],
        },
        "Size": {"type": "object", "properties": {"width": {"type": "integer"}}},
        "Name": {"type": "string"},
    }
    document = {"components": {"schemas": schemas}}
    url, size = named_type_fields(document, "Image")
    assert (url.name, url.type, url.required) == ("url", "string", True)
    assert (size.name, size.unresolved_ref) == ("size", None)
    assert named_type_fields(document, "Name") is None  # a string, not an object
    assert named_type_fields(document, "Missing") is None
    assert named_type_fields({"components": []}, "Image") is None


# --- What mutation testing found untested (bin/mutation) -------------------------------------

REF = "#/components/schemas/"


def one_field(prop: dict, **schemas: object) -> SchemaField:
    """The only input field of a document whose input is {"x": prop}, beside `schemas`."""
    doc = {"components": {"schemas": {"XInput": {"properties": {"x": prop}}, **schemas}}}
    (field,) = model_schema(doc).inputs
    return field


def body(name: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": REF + name}}}}


def test_the_input_and_output_are_the_endpoints_own_paths_before_any_schema_named_so():
    from fal.openapi import raw_properties

    text = {"properties": {"text": {"type": "string"}}}
    doc = {
        "info": {"x-fal-metadata": {"endpointId": "a/b"}},
        "paths": {
            "/a/b/stream": {"post": {"requestBody": body("StreamInput")}},
            "/a/b/x/requests/{request_id}": {"get": {"responses": {"200": body("DecoyOutput")}}},
            "/a/b": {"post": {"requestBody": body("RealInput")}},
            "/a/b/requests/{request_id}": {"get": {"responses": {"200": body("RealOutput")}}},
        },
        "components": {
            "schemas": {
                "DecoyInput": text,
                "DecoyOutput": text,
                "StreamInput": text,
                "RealInput": {"properties": {"prompt": {"type": "string"}, "broken": 5}},
                "RealOutput": {"properties": {"video": {"type": "string"}}},
            }
        },
    }
    schema = model_schema(doc)
    assert [f.name for f in schema.inputs] == ["prompt", "broken"]
    assert [f.name for f in schema.outputs] == ["video"]
    inputs, outputs = raw_properties(doc)
    assert (list(inputs), list(outputs)) == (["prompt"], ["video"])  # 5 is not a property


def test_without_an_endpoint_id_the_input_is_a_post_outside_requests_and_the_output_its_result():
    # fal's own path order: status and cancel come before the endpoint and its result.
    doc = {
        "paths": {
            "/a/b/requests/{request_id}/status": {"get": {"responses": {"200": body("Queue")}}},
            "/a/b/requests/{request_id}/retry": {"post": {"requestBody": body("Retry")}},
            "/a/b": {"post": {"requestBody": body("Prompt")}},
            "/a/b/requests/{request_id}": {"get": {"responses": {"200": body("Video")}}},
        },
        "components": {
            "schemas": {
                "Queue": {"properties": {"status": {"type": "string"}}},
                "Retry": {"properties": {"reason": {"type": "string"}}},
                "Prompt": {"properties": {"prompt": {"type": "string"}}},
                "Video": {"properties": {"video": {"type": "string"}}},
            }
        },
    }
    schema = model_schema(doc)
    assert [f.name for f in schema.inputs] == ["prompt"]
    assert [f.name for f in schema.outputs] == ["video"]


def test_an_input_wrapped_in_allof_is_its_first_entry_unless_it_has_properties_of_its_own():
    prompt = {"properties": {"prompt": {"type": "string"}}}
    doc = {"components": {"schemas": {"XInput": {"allOf": [{"$ref": REF + "Prompt"}]}}}}
    doc["components"]["schemas"]["Prompt"] = prompt
    assert [f.name for f in model_schema(doc).inputs] == ["prompt"]
    own = {"properties": {"seed": {"type": "integer"}}, "allOf": [{"$ref": REF + "Prompt"}]}
    doc["components"]["schemas"]["XInput"] = own
    assert [f.name for f in model_schema(doc).inputs] == ["seed"]


def test_a_default_inside_a_referenced_schema_counts_unless_the_field_has_its_own():
    steps = {"type": "integer", "default": 28}
    inherited = one_field({"allOf": [{"$ref": REF + "Steps"}]}, Steps=steps)
    assert (inherited.type, inherited.default, inherited.has_default) == ("integer", 28, True)
    own = one_field({"default": 4, "allOf": [{"$ref": REF + "Steps"}]}, Steps=steps)
    assert (own.default, own.has_default) == (4, True)


def test_a_field_without_a_description_takes_its_object_types_description():
    image = {"type": "object", "description": "An image file", "properties": {"url": {}}}
    assert one_field({"$ref": REF + "Image"}, Image=image).description == "An image file"
    own = one_field({"description": "The first frame", "$ref": REF + "Image"}, Image=image)
    assert own.description == "The first frame"


def test_exclusive_bounds_on_both_sides_are_kept_and_flagged():
    field = one_field({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1})
    assert (field.minimum, field.exclusive_minimum) == (0, True)
    assert (field.maximum, field.exclusive_maximum) == (1, True)


def test_bounds_that_are_not_numbers_are_left_out():
    field = one_field({"type": "integer", "minimum": "5", "maximum": True, "maxLength": "9"})
    assert (field.minimum, field.maximum, field.max_length) == (None, None, None)


@pytest.mark.parametrize(
    ("prop", "schemas", "label"),
    [
        ({"type": "null"}, {}, "null"),
        ({}, {}, "unknown"),
        ({"description": "no type at all"}, {}, "unknown"),
        ({"enum": ["a", "b"]}, {}, "enum"),
        ({"type": ["integer", "string"]}, {}, "integer | string"),  # OpenAPI 3.1 style
        ({"oneOf": [{"type": "integer"}, {"type": "string"}]}, {}, "integer | string"),
        ({"properties": {"a": {}}}, {}, "object"),
        ({"type": "array"}, {}, "array<any>"),
        ({"type": "array", "items": {}}, {}, "array<any>"),
        ({"type": "string", "anyOf": "junk"}, {}, "string"),
        ({"type": "string", "allOf": "junk"}, {}, "string"),
        ({"type": "string", "enum": "junk"}, {}, "string"),
        # A ref to an object schema is named, with or without `type: object`.
        ({"$ref": REF + "Loose"}, {"Loose": {"properties": {"a": {}}}}, "Loose"),
        ({"$ref": REF + "Bag"}, {"Bag": {"type": "object"}}, "Bag"),
        # An object under the name fal's generator gives it when two modules define a class
        # of the same name (`<module path>__<class>`) is shown by its own name.
        (
            {"$ref": REF + "registry__image__fast_sdxl__models__Image"},
            {"registry__image__fast_sdxl__models__Image": {"type": "object"}},
            "Image",
        ),
        (
            {"type": "array", "items": {"$ref": REF + "fal__toolkit__image__image__Image"}},
            {"fal__toolkit__image__image__Image": {"properties": {"url": {}}}},
            "array<Image>",
        ),
        ({"$ref": REF + "Odd__"}, {"Odd__": {"type": "object"}}, "Odd__"),
        # A ref to anything else is followed to what it is.
        ({"$ref": REF + "Size"}, {"Size": {"type": "string", "enum": ["s", "m"]}}, "string"),
        ({"$ref": REF + "Pick"}, {"Pick": {"type": "object", "enum": [{"w": 1}]}}, "object"),
        # Only local refs to a schema object resolve.
        ({"$ref": "Image"}, {"Image": {"type": "string"}}, "unknown"),
        ({"$ref": REF + "Five"}, {"Five": 5}, "unknown"),
    ],
)
def test_type_labels(prop, schemas, label):
    assert one_field(prop, **schemas).type == label


def test_an_enum_through_a_ref_keeps_its_values_and_malformed_enums_give_none():
    size = {"type": "string", "enum": ["s", "m"]}
    assert one_field({"$ref": REF + "Size"}, Size=size).enum == ("s", "m")
    assert one_field({"type": "string", "enum": "sm"}).enum == ()
    pick = {"type": "object", "enum": [{"w": 1}, {"w": 2}]}
    assert one_field({"$ref": REF + "Pick"}, Pick=pick).enum == ((("w", 1),), (("w", 2),))


def test_enum_values_that_are_lists_or_objects_are_frozen_whole():
    field = one_field({"enum": [[1, [2]], {"b": 1, "a": [3]}]})
    assert field.enum == ((1, (2,)), (("a", (3,)), ("b", 1)))


def test_unresolved_refs_name_the_ref_as_written():
    field = one_field({"$ref": "Image"}, Image={"type": "string"})
    assert field.unresolved_ref == "Image"


def nested(kind: str, depth: int, leaf: dict) -> tuple[dict, dict]:
    """`leaf` wrapped `depth` times in anyOf, allOf, items or a chain of ref aliases."""
    schemas: dict = {}
    for level in range(depth):
        if kind == "ref":
            schemas[f"Alias{level}"] = leaf
            leaf = {"$ref": f"{REF}Alias{level}"}
        elif kind == "items":
            leaf = {"type": "array", "items": leaf}
        else:
            leaf = {kind: [leaf]}
    return leaf, schemas


@pytest.mark.parametrize("kind", ["anyOf", "allOf", "ref"])
def test_a_type_is_found_as_deep_as_the_depth_limit_and_no_deeper(kind):
    from fal.openapi import MAX_DEPTH

    prop, schemas = nested(kind, MAX_DEPTH, {"type": "integer"})
    assert one_field(prop, **schemas).type == "integer"
    prop, schemas = nested(kind, MAX_DEPTH + 1, {"type": "integer"})
    assert one_field(prop, **schemas).type == "unknown"


def test_array_items_count_towards_the_depth_limit():
    from fal.openapi import MAX_DEPTH

    items, schemas = nested("anyOf", MAX_DEPTH - 1, {"type": "integer"})
    assert one_field({"type": "array", "items": items}, **schemas).type == "array<integer>"
    items, schemas = nested("anyOf", MAX_DEPTH, {"type": "integer"})
    assert one_field({"type": "array", "items": items}, **schemas).type == "array<unknown>"


def test_referenced_names_follow_unions_aliases_and_items_but_not_into_objects():
    from fal.openapi import referenced_names

    schemas = {
        "ImageOrUrl": {"oneOf": [{"$ref": REF + "Image"}, {"type": "string"}]},
        "Image": {"type": "object", "properties": {"file": {"$ref": REF + "File"}}},
        "File": {"type": "object", "properties": {"url": {"type": "string"}}},
    }
    doc = {"components": {"schemas": schemas}}
    prop = {"anyOf": [{"$ref": REF + "ImageOrUrl"}, {"type": "null"}]}
    assert referenced_names(prop, doc) == ("ImageOrUrl", "Image")
    assert referenced_names({"type": "array", "items": {"$ref": REF + "Image"}}, doc) == ("Image",)
    assert referenced_names({"oneOf": [{"$ref": REF + "File"}]}, doc) == ("File",)


@pytest.mark.parametrize("kind", ["anyOf", "allOf", "oneOf", "items", "ref"])
def test_referenced_names_look_as_deep_as_the_depth_limit_and_no_deeper(kind):
    from fal.openapi import MAX_DEPTH, referenced_names

    image = {"Image": {"type": "object", "properties": {}}}
    # An alias chain names every alias on the way, so look for Image alone at the bottom.
    prop, schemas = nested(kind, MAX_DEPTH, {"$ref": REF + "Image"})
    doc = {"components": {"schemas": {**schemas, **image}}}
    assert "Image" in referenced_names(prop, doc)
    prop, schemas = nested(kind, MAX_DEPTH + 1, {"$ref": REF + "Image"})
    doc = {"components": {"schemas": {**schemas, **image}}}
    assert "Image" not in referenced_names(prop, doc)


def test_an_arrays_length_limits_are_its_item_counts_not_a_strings_length():
    field = one_field(
        {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 4, "minLength": 9}
    )
    assert (field.min_length, field.max_length) == (1, 4)
    text = one_field({"type": "string", "minLength": 2, "maxLength": 8, "minItems": 5})
    assert (text.min_length, text.max_length) == (2, 8)


def test_an_enum_with_a_type_that_is_not_a_name_is_labelled_enum():
    assert one_field({"enum": ["a", "b"], "type": 5}).type == "enum"
