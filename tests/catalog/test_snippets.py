"""The snippets paste and run: their arguments satisfy the model's own input schema (checked
by an independent JSON Schema validator), they fill what a call needs, and the curl one
goes on from the request id to the status and the result."""

from __future__ import annotations

import ast
import json
import re

import jsonschema_rs
import pytest

from catalog.snippets import (
    MOST_CHARACTERS,
    MOST_ITEMS,
    NO_INPUTS_NOTE,
    PLACEHOLDER_NOTE,
    PLACEHOLDER_URL,
    call_arguments,
    queue_urls,
    snippets_for,
    snippets_without_schema,
)
from fal.openapi import input_examples, model_schema
from fal_emulator import load_snapshot

KLING = "fal-ai/kling-video/v3/pro/text-to-video"


@pytest.fixture(scope="module")
def documents():
    return load_snapshot()[1]


def snippet(endpoint_id: str, openapi: dict, key: str) -> str:
    found = snippets_for(endpoint_id, model_schema(openapi), openapi)
    return next(s.code for s in found if s.key == key)


def curl_body(code: str) -> object:
    """The JSON the curl snippet posts, as the shell hands it to curl."""
    match = re.search(r"--data '((?:[^']|'\\'')*)'", code)
    assert match, code
    return json.loads(match.group(1).replace("'\\''", "'"))


def input_validator(openapi: dict):
    """A validator of the document's request body; a `$ref` the document leaves undefined
    (fal's own documents have a few) accepts anything."""
    schemas = dict(openapi.get("components", {}).get("schemas", {}))
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(openapi))
    schemas.update({name: {} for name in refs if name not in schemas})
    endpoint_id = openapi["info"]["x-fal-metadata"]["endpointId"]
    post = openapi["paths"][f"/{endpoint_id}"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema_rs.Draft7Validator({**body, "components": {"schemas": schemas}})


def with_inputs(documents) -> dict[str, dict]:
    return {i: d for i, d in documents.items() if model_schema(d).inputs}


# --- Every model of the snapshot --------------------------------------------------------------


def test_every_snippet_posts_arguments_its_models_input_schema_accepts(documents):
    """Every required input is there, of the right JSON type, within its enum and bounds."""
    refused = {}
    for endpoint_id, openapi in with_inputs(documents).items():
        arguments = curl_body(snippet(endpoint_id, openapi, "curl"))
        required = {f.name for f in model_schema(openapi).inputs if f.required}
        assert isinstance(arguments, dict) and required <= arguments.keys(), endpoint_id
        errors = [e.message for e in input_validator(openapi).iter_errors(arguments)]
        if errors:
            refused[endpoint_id] = errors
    assert len(with_inputs(documents)) > 900
    assert not refused, f"{len(refused)} snippets refused: {list(refused.items())[:5]}"


def test_a_model_whose_schema_requires_nothing_is_called_with_its_documents_examples(documents):
    """Kling's schema says "prompt or multi_prompt" only in words: `{}` would fail, so the
    snippet fills what the document gives examples of, as fal's playground does."""
    unfilled = []
    for endpoint_id, openapi in with_inputs(documents).items():
        if any(f.required for f in model_schema(openapi).inputs):
            continue
        examples = {k for k, v in input_examples(openapi).items() if v is not None}
        arguments = curl_body(snippet(endpoint_id, openapi, "curl"))
        if examples - arguments.keys():
            unfilled.append(endpoint_id)
    assert not unfilled


def test_the_kling_snippets_send_its_example_prompt(documents):
    openapi = documents[KLING]
    prompt = openapi["components"]["schemas"]["KlingVideoV3ProTextToVideoInput"]["properties"][
        "prompt"
    ]["examples"][0]
    assert curl_body(snippet(KLING, openapi, "curl")) == {"prompt": prompt}
    assert json.dumps(prompt) in snippet(KLING, openapi, "python")
    assert json.dumps(prompt) in snippet(KLING, openapi, "javascript")


def test_every_python_snippet_is_valid_python_with_the_curl_snippets_arguments(documents):
    for endpoint_id, openapi in with_inputs(documents).items():
        tree = ast.parse(snippet(endpoint_id, openapi, "python"))
        call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.keywords)
        python_arguments = ast.literal_eval(call.keywords[0].value)
        assert python_arguments == curl_body(snippet(endpoint_id, openapi, "curl")), endpoint_id


def test_a_document_that_lists_no_inputs_says_so_in_the_snippet(documents):
    openapi = documents["openrouter/router/openai/v1/chat/completions"]
    assert not model_schema(openapi).inputs  # its input schema is a dangling $ref
    code = snippet("openrouter/router/openai/v1/chat/completions", openapi, "python")
    assert NO_INPUTS_NOTE in code


# --- The queue's calls --------------------------------------------------------------------------


def test_the_curl_snippet_submits_then_asks_the_status_then_fetches_the_result(documents):
    """fal's queue: POST to the endpoint; the status and result live under the app id, the
    endpoint's subpath left out (fal's queue documentation; fal_client and fal-js do so)."""
    code = snippet(KLING, documents[KLING], "curl")
    submit = code.index(f"--request POST \\\n  --url https://queue.fal.run/{KLING} \\")
    status = code.index(
        "--url https://queue.fal.run/fal-ai/kling-video/requests/$REQUEST_ID/status \\"
    )
    result = code.index("--url https://queue.fal.run/fal-ai/kling-video/requests/$REQUEST_ID \\")
    assert submit < status < result
    assert code.count('--header "Authorization: Key $FAL_KEY"') == 3


def test_the_snippet_without_a_schema_uses_the_same_queue_urls():
    urls = queue_urls("fal-ai/flux/dev", "abc")
    assert urls.submit == "https://queue.fal.run/fal-ai/flux/dev"
    assert urls.status == "https://queue.fal.run/fal-ai/flux/requests/abc/status"
    assert urls.result == "https://queue.fal.run/fal-ai/flux/requests/abc"
    code = snippets_without_schema("fal-ai/flux/dev")[0].code
    ours = queue_urls("fal-ai/flux/dev")
    for url in (ours.submit, ours.status, ours.result):
        assert f"--url {url} \\" in code
    # Namespaced ids keep their namespace in the app id, as fal-js parses them.
    assert queue_urls("workflows/someone/app/sub", "x").status == (
        "https://queue.fal.run/workflows/someone/app/requests/x/status"
    )


# --- Building values from a schema -----------------------------------------------------------


def document(properties: dict, required: list[str], extra_schemas: dict | None = None) -> dict:
    """A fal-shaped document for `test/model` with these input properties."""
    ref = {"$ref": "#/components/schemas/ModelInput"}
    return {
        "info": {"x-fal-metadata": {"endpointId": "test/model"}},
        "paths": {
            "/test/model": {
                "post": {"requestBody": {"content": {"application/json": {"schema": ref}}}}
            }
        },
        "components": {
            "schemas": {
                "ModelInput": {"type": "object", "properties": properties, "required": required},
                **(extra_schemas or {}),
            }
        },
    }


def built(properties: dict, extra_schemas: dict | None = None) -> dict:
    openapi = document(properties, list(properties), extra_schemas)
    arguments = call_arguments(model_schema(openapi), openapi)
    assert not list(input_validator(openapi).iter_errors(arguments)), arguments
    return arguments


def test_values_fit_types_enums_and_bounds():
    arguments = built(
        {
            "steps": {"type": "integer", "minimum": 4, "maximum": 50},
            "count": {"type": "integer", "exclusiveMinimum": 1},
            "strength": {"type": "number", "minimum": 0, "maximum": 0.8},
            "guidance": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "sync": {"type": "boolean"},
            "size": {"enum": ["square_hd", "portrait_4_3"], "type": "string"},
            "name": {"type": "string", "maxLength": 4},
            "lang": {"anyOf": [{"type": "null"}, {"enum": ["en", "fr"], "type": "string"}]},
        }
    )
    assert arguments["steps"] == 4 and isinstance(arguments["steps"], int)
    assert arguments["count"] == 2
    assert arguments["strength"] == 0.8 and isinstance(arguments["strength"], float)
    assert 0 < arguments["guidance"] < 1
    assert arguments["sync"] is True
    assert arguments["size"] == "square_hd" and arguments["lang"] == "en"
    assert len(arguments["name"]) <= 4


def test_an_absurd_minimum_size_does_not_make_an_absurd_snippet():
    # A document asking for a million items or characters gets a snippet a page can show
    # (it cannot satisfy such a schema anyway), built at once.
    openapi = document(
        {
            "image_urls": {"type": "array", "items": {"type": "string"}, "minItems": 10**6},
            "prompt": {"type": "string", "minLength": 10**6},
        },
        ["image_urls", "prompt"],
    )
    arguments = call_arguments(model_schema(openapi), openapi)
    assert 1 <= len(arguments["image_urls"]) <= MOST_ITEMS
    assert len(arguments["prompt"]) <= MOST_CHARACTERS


def test_refs_all_of_arrays_and_objects_are_filled_through():
    arguments = built(
        {
            "image_size": {"allOf": [{"$ref": "#/components/schemas/ImageSize"}]},
            "loras": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Lora"},
                "minItems": 1,
            },
            "video_urls": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        {
            "ImageSize": {
                "type": "object",
                "properties": {"width": {"type": "integer", "maximum": 14142}, "height": {}},
                "required": ["width"],
            },
            "Lora": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "scale": {"type": "number"}},
                "required": ["path"],
            },
        },
    )
    assert arguments["image_size"] == {"width": 1}
    assert arguments["loras"] == [{"path": "your path"}]
    assert arguments["video_urls"] == [
        f"{PLACEHOLDER_URL}-video-1.mp4",
        f"{PLACEHOLDER_URL}-video-2.mp4",
    ]
    assert arguments["tags"] == ["your tags"]


def test_file_urls_are_marked_placeholders_and_the_snippet_says_so():
    openapi = document(
        {"image_url": {"type": "string"}, "audio_url": {"type": "string", "format": "uri"}},
        ["image_url", "audio_url"],
    )
    arguments = call_arguments(model_schema(openapi), openapi)
    assert arguments == {
        "image_url": f"{PLACEHOLDER_URL}-image.png",
        "audio_url": f"{PLACEHOLDER_URL}-audio.mp3",
    }
    assert arguments["image_url"].startswith("https://")
    for key in ("python", "curl"):
        assert f"# {PLACEHOLDER_NOTE}" in snippet("test/model", openapi, key)
    assert f"// {PLACEHOLDER_NOTE}" in snippet("test/model", openapi, "javascript")


def test_an_example_that_does_not_fit_its_schema_is_replaced():
    """fal-ai/x-ailab/nsfw's example of `image_urls` is one string, not a list."""
    openapi = document(
        {
            "image_urls": {
                "type": "array",
                "items": {"type": "string"},
                "examples": ["https://x/a.jpg"],
            }
        },
        ["image_urls"],
    )
    assert call_arguments(model_schema(openapi), openapi) == {
        "image_urls": [f"{PLACEHOLDER_URL}-image.png"]
    }


def test_upstream_strings_stay_quoted_and_bidi_controls_escaped():
    prompt = "it's </script><b>bold</b> \u202eevil\u202c"
    openapi = document({"prompt": {"type": "string", "examples": [prompt]}}, ["prompt"])
    curl = snippet("test/model", openapi, "curl")
    assert curl_body(curl) == {"prompt": prompt}
    assert "\u202e" not in curl and "\\u202e" in curl
    python = snippet("test/model", openapi, "python")
    assert ast.literal_eval(python.split("arguments=")[1].rsplit(",\n)", 1)[0]) == {
        "prompt": prompt
    }
