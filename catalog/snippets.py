"""Copy-ready code to call a model (Python fal_client, JavaScript @fal-ai/client, curl),
filled with the model's required inputs: the document's own examples where it gives them,
else a plausible value. A model without a document gets the queue URL pattern instead."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fal.openapi import ModelSchema, SchemaField, input_examples

QUEUE_URL = "https://queue.fal.run"

_EXAMPLE_BY_TYPE: dict[str, Any] = {
    "string": "…",
    "integer": 1,
    "number": 1.0,
    "boolean": True,
}


@dataclass(frozen=True)
class Snippet:
    key: str
    label: str
    code: str


def example_value(field: SchemaField) -> Any:
    """A plausible value: the default, the first enum value, or one that fits the name."""
    if field.has_default and field.default is not None:
        return field.default
    if field.enum:
        return field.enum[0]
    name = field.name.lower()
    if name.endswith("_url") or name.endswith("_urls"):
        url = f"https://example.com/{name.removesuffix('_urls').removesuffix('_url')}.png"
        return [url] if field.type.startswith("array") else url
    if "prompt" in name:
        return "a lighthouse on a cliff at dusk, cinematic"
    if field.type.startswith("array"):
        return []
    return _EXAMPLE_BY_TYPE.get(field.type, "…")


def required_arguments(
    schema: ModelSchema, examples: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The required inputs, each with the document's own example if it has one."""
    examples = examples or {}
    return {
        f.name: examples[f.name] if f.name in examples else example_value(f)
        for f in schema.inputs
        if f.required
    }


def snippets_without_schema(endpoint_id: str) -> list[Snippet]:
    """No document: say so, and give fal's queue URL pattern for this endpoint."""
    base = f"{QUEUE_URL}/{endpoint_id}"
    return [
        Snippet(
            "curl",
            "curl",
            "# The catalog has no schema for this model, so its inputs are unknown here;\n"
            "# fal's queue API takes them as a JSON body:\n"
            f"curl --request POST \\\n  --url {base} \\\n"
            '  --header "Authorization: Key $FAL_KEY" \\\n'
            '  --header "Content-Type: application/json" \\\n'
            "  --data '{ ... }'\n\n"
            "# Then poll the request it returns:\n"
            f"#   GET {base}/requests/{{request_id}}/status\n"
            f"#   GET {base}/requests/{{request_id}}\n",
        )
    ]


def snippets_for(endpoint_id: str, schema: ModelSchema, openapi: Any = None) -> list[Snippet]:
    arguments = required_arguments(schema, input_examples(openapi) if openapi else None)
    python_args = json.dumps(arguments, indent=4, ensure_ascii=False)
    # JSON literals are valid Python except true/false/null.
    python_args = python_args.replace(": true", ": True").replace(": false", ": False")
    python_args = python_args.replace(": null", ": None")
    js_input = json.dumps(arguments, indent=4, ensure_ascii=False).replace("\n", "\n  ")
    body = json.dumps(arguments, ensure_ascii=False).replace("'", "'\\''")
    return [
        Snippet(
            "python",
            "Python",
            "import fal_client\n\n"
            f"result = fal_client.subscribe(\n    {json.dumps(endpoint_id)},\n"
            f"    arguments={python_args.replace(chr(10), chr(10) + '    ')},\n)\nprint(result)\n",
        ),
        Snippet(
            "javascript",
            "JavaScript",
            'import { fal } from "@fal-ai/client";\n\n'
            f"const result = await fal.subscribe({json.dumps(endpoint_id)}, {{\n"
            f"  input: {js_input},\n}});\nconsole.log(result.data);\n",
        ),
        Snippet(
            "curl",
            "curl",
            f"curl --request POST \\\n  --url https://queue.fal.run/{endpoint_id} \\\n"
            '  --header "Authorization: Key $FAL_KEY" \\\n'
            '  --header "Content-Type: application/json" \\\n'
            f"  --data '{body}'\n",
        ),
    ]
