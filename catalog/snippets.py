"""Copy-ready code to call a model (Python fal_client, JavaScript @fal-ai/client, curl),
filled with the inputs a first call needs: the document's own examples where they fit the
schema, else a value built from the schema (first enum value, a number within bounds, a
marked placeholder URL for files). A model without a document gets the queue's URL pattern.

No Django here. The value builder reads the raw input properties (through `$ref`, `allOf`,
`anyOf`/`oneOf`), since the flat `SchemaField` rows do not carry nested objects or items.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from fal.openapi import MAX_DEPTH, REF_PREFIX, ModelSchema, input_examples, raw_properties

QUEUE_URL = "https://queue.fal.run"
# fal's ids put a namespace before owner/alias for these (fal-js' reservedNamespaces).
_NAMESPACES = ("workflows", "comfy")
# Stands for a file of the caller's own; the snippet says so whenever it uses one.
PLACEHOLDER_URL = "https://example.com/placeholder"
PLACEHOLDER_NOTE = f"{PLACEHOLDER_URL}-… URLs stand for your own files: replace them."
NO_INPUTS_NOTE = "fal's schema for this model lists no inputs: add them from its API page."
SAMPLE_PROMPT = "a lighthouse on a cliff at dusk, cinematic"
# How deep nested objects are filled (their required fields) before `{}` stands in.
_OBJECT_DEPTH = 4
# At most this many items in an array, or characters in a string, whatever minItems or
# minLength asks: a snippet is for pasting, and a document asking for millions must not
# make a page build them.
MOST_ITEMS, MOST_CHARACTERS = 10, 1000
# Keywords of a URL field's name -> the placeholder file's extension.
_EXTENSIONS = (("audio", "mp3"), ("voice", "mp3"), ("video", "mp4"), ("image", "png"))
# Bidirectional controls in upstream text would reorder the code around them on screen.
_BIDI = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C], None
)
JSONObject = dict[str, Any]
# A bound of a number: (its value, whether it is exclusive).
_Bound = tuple[float, bool]


@dataclass(frozen=True)
class Snippet:
    key: str
    label: str
    code: str


@dataclass(frozen=True)
class QueueURLs:
    """fal's queue for one endpoint: submit with POST, then GET the status and the result.
    The status and result live under the app id (owner/alias), without the endpoint's
    subpath, as fal documents and its own clients do."""

    submit: str
    status: str
    result: str


def queue_urls(endpoint_id: str, request_id: str = "$REQUEST_ID") -> QueueURLs:
    parts = endpoint_id.split("/")
    app_length = 3 if parts[0] in _NAMESPACES else 2
    requests = f"{QUEUE_URL}/{'/'.join(parts[:app_length])}/requests/{request_id}"
    return QueueURLs(f"{QUEUE_URL}/{endpoint_id}", f"{requests}/status", requests)


# --- Which inputs, with which values -----------------------------------------------------------


def call_arguments(schema: ModelSchema, openapi: Any) -> dict[str, Any]:
    """The inputs of a first call: every required one; when the schema requires none (some
    models need "prompt or multi_prompt" and can say so only in words), those the document
    gives an example for, as fal's playground fills them in."""
    properties = raw_properties(openapi)[0]
    schemas = _components(openapi)
    examples = input_examples(openapi)
    names = [f.name for f in schema.inputs if f.required]
    if not names:
        names = [f.name for f in schema.inputs if examples.get(f.name) is not None]
    return {
        name: input_value(name, properties.get(name, {}), schemas, examples.get(name))
        for name in names
    }


def input_value(name: str, prop: JSONObject, schemas: JSONObject, example: Any = None) -> Any:
    """The document's example when it fits the field's schema, else one built from it."""
    if example is not None and fits(example, prop, schemas):
        return example
    return _built(name, prop, schemas, 0)


def _built(name: str, prop: Any, schemas: JSONObject, depth: int, index: int = 0) -> Any:
    schema = _resolved(prop, schemas)
    default = schema.get("default")
    if default is not None and fits(default, prop, schemas):
        return default
    if "const" in schema:
        return schema["const"]
    enum = [v for v in schema.get("enum") or () if v is not None]
    if enum:
        return enum[0]
    kind = _type_of(schema)
    if kind == "null":
        return None
    if kind == "boolean":
        return True
    if kind == "integer":
        return _integer_within(schema)
    if kind == "number":
        return _number_within(schema)
    if kind == "array":
        return _array(name, schema, schemas, depth)
    if kind == "object":
        return _object(schema, schemas, depth)
    return _string(name, schema, index)


def _type_of(schema: JSONObject) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):  # OpenAPI 3.1 style
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    return "array" if "items" in schema else "string"


def _integer_within(schema: JSONObject) -> int:
    low, high = _bounds(schema)
    lowest = highest = None
    if low is not None:
        lowest = math.floor(low[0]) + 1 if low[1] else math.ceil(low[0])
    if high is not None:
        highest = math.ceil(high[0]) - 1 if high[1] else math.floor(high[0])
    if lowest is not None and lowest > 1:
        return lowest
    if highest is not None and highest < 1:
        return highest
    return 1


def _number_within(schema: JSONObject) -> float:
    """1.0 if allowed, else the allowed bound or middle nearest to it."""
    low, high = _bounds(schema)
    candidates = [1.0]
    candidates += [float(b[0]) for b in (low, high) if b is not None and not b[1]]
    if low is not None and high is not None:
        candidates.append((low[0] + high[0]) / 2)
    candidates += [low[0] + 1.0] if low is not None else []
    candidates += [high[0] - 1.0] if high is not None else []
    allowed = [c for c in candidates if _in_bounds(c, low, high)]
    return min(allowed, key=lambda c: abs(c - 1.0)) if allowed else 1.0


def _in_bounds(value: float, low: _Bound | None, high: _Bound | None) -> bool:
    if low is not None and (value < low[0] or (low[1] and value == low[0])):
        return False
    return high is None or not (value > high[0] or (high[1] and value == high[0]))


def _bounds(schema: JSONObject) -> tuple[_Bound | None, _Bound | None]:
    """((minimum, exclusive), (maximum, exclusive)), each None when unbounded."""

    def bound(inclusive: str, exclusive: str) -> _Bound | None:
        for key, is_exclusive in ((inclusive, False), (exclusive, True)):
            value = schema.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value, is_exclusive
        return None

    return bound("minimum", "exclusiveMinimum"), bound("maximum", "exclusiveMaximum")


def _array(name: str, schema: JSONObject, schemas: JSONObject, depth: int) -> list[Any]:
    count = min(max(_int(schema.get("minItems")) or 0, 1), MOST_ITEMS)
    if (most := _int(schema.get("maxItems"))) is not None:
        count = min(count, most)
    items = schema.get("items", {})
    return [
        _built(name, items, schemas, depth + 1, i + 1 if count > 1 else 0) for i in range(count)
    ]


def _object(schema: JSONObject, schemas: JSONObject, depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict) or depth >= _OBJECT_DEPTH:
        return {}
    required = [r for r in schema.get("required") or () if r in properties]
    return {name: _built(name, properties[name], schemas, depth + 1) for name in required}


def _string(name: str, schema: JSONObject, index: int) -> str:
    lowered = name.lower()
    if lowered.endswith(("_url", "_urls", "url", "urls")) or schema.get("format") in ("uri", "url"):
        stem = lowered.removesuffix("s").removesuffix("url").strip("_") or "file"
        extension = next((ext for word, ext in _EXTENSIONS if word in stem), "")
        numbered = f"{stem}-{index}" if index else stem
        value = f"{PLACEHOLDER_URL}-{numbered.replace('_', '-')}" + (
            f".{extension}" if extension else ""
        )
    elif "prompt" in lowered or "text" in lowered:
        value = SAMPLE_PROMPT
    else:
        value = f"your {lowered.replace('_', ' ')}"
    longest = _int(schema.get("maxLength"))
    shortest = min(_int(schema.get("minLength")) or 0, MOST_CHARACTERS)
    return (
        value[:longest].ljust(shortest, ".") if longest is not None else value.ljust(shortest, ".")
    )


# --- Does a value fit a schema (the document's own examples do not always) ----------------------


def fits(value: Any, schema: Any, schemas: JSONObject, depth: int = 0) -> bool:
    """Whether `value` satisfies `schema`'s types, enum and bounds (a JSON Schema subset)."""
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return True
    ref = schema.get("$ref")
    if isinstance(ref, str) and not fits(value, _target(ref, schemas), schemas, depth + 1):
        return False
    if not all(fits(value, part, schemas, depth + 1) for part in _list(schema.get("allOf"))):
        return False
    for key in ("anyOf", "oneOf"):
        branches = _list(schema.get(key))
        if branches and not any(fits(value, b, schemas, depth + 1) for b in branches):
            return False
    if "enum" in schema and value not in _list(schema["enum"]):
        return False
    if "const" in schema and value != schema["const"]:
        return False
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else _list(kinds)
    if kinds and not any(_is_type(value, k) for k in kinds):
        return False
    return _within(value, schema, schemas, depth)


def _is_type(value: Any, kind: Any) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    python = {"string": str, "boolean": bool, "array": list, "object": dict}.get(kind)
    return value is None if kind == "null" else python is None or isinstance(value, python)


def _within(value: Any, schema: JSONObject, schemas: JSONObject, depth: int) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and not _in_bounds(value, *_bounds(schema)):
        return False
    if isinstance(value, str | list):
        size_keys = (
            ("minLength", "maxLength") if isinstance(value, str) else ("minItems", "maxItems")
        )
        shortest, longest = (_int(schema.get(k)) for k in size_keys)
        if (shortest is not None and len(value) < shortest) or (
            longest is not None and len(value) > longest
        ):
            return False
    if isinstance(value, list) and "items" in schema:
        return all(fits(item, schema["items"], schemas, depth + 1) for item in value)
    if isinstance(value, dict):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        if any(r not in value for r in _list(schema.get("required"))):
            return False
        return all(
            fits(v, properties[k], schemas, depth + 1) for k, v in value.items() if k in properties
        )
    return True


# --- Resolving ---------------------------------------------------------------------------------


def _components(openapi: Any) -> JSONObject:
    components = openapi.get("components") if isinstance(openapi, dict) else None
    schemas = components.get("schemas") if isinstance(components, dict) else None
    return schemas if isinstance(schemas, dict) else {}


def _target(ref: str, schemas: JSONObject) -> Any:
    return schemas.get(ref.removeprefix(REF_PREFIX)) if ref.startswith(REF_PREFIX) else None


def _resolved(schema: Any, schemas: JSONObject, depth: int = 0) -> JSONObject:
    """One schema with its `$ref` followed, its `allOf` merged and, of a union, the first
    branch that is not null; the schema's own keys (default, bounds) win."""
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return {}
    merged: JSONObject = {}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        merged.update(_resolved(_target(ref, schemas), schemas, depth + 1))
    for part in _list(schema.get("allOf")):
        resolved = _resolved(part, schemas, depth + 1)
        properties = {**(merged.get("properties") or {}), **(resolved.get("properties") or {})}
        required = [*_list(merged.get("required")), *_list(resolved.get("required"))]
        merged.update(resolved)
        if properties:
            merged["properties"], merged["required"] = properties, required
    branches = [
        _resolved(b, schemas, depth + 1) for b in _list(schema.get("anyOf") or schema.get("oneOf"))
    ]
    if branches:
        merged.update(next((b for b in branches if _type_of(b) != "null"), branches[0]))
    merged.update({k: v for k, v in schema.items() if k not in ("$ref", "allOf", "anyOf", "oneOf")})
    return merged


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- The code ----------------------------------------------------------------------------------


def _json(value: Any, indent: int | None = None) -> str:
    """JSON (valid JavaScript too) with bidirectional controls escaped."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return "".join(f"\\u{ord(c):04x}" if ord(c) in _BIDI else c for c in text)


def _python(value: Any, indent: str = "") -> str:
    """A Python literal, laid out like `json.dumps(indent=4)`."""
    inner = indent + "    "
    if isinstance(value, dict) and value:
        items = [f"{inner}{_json(str(k))}: {_python(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(inner + _python(v, inner) for v in value) + f"\n{indent}]"
    if isinstance(value, bool) or value is None:
        return repr(value)
    return _json(value)


def _notes(arguments: dict[str, Any], schema: ModelSchema, comment: str) -> str:
    notes = [NO_INPUTS_NOTE] if not schema.inputs else []
    if PLACEHOLDER_URL in _json(arguments):
        notes.append(PLACEHOLDER_NOTE)
    return "".join(f"{comment} {note}\n" for note in notes)


def _curl(endpoint_id: str, body: str) -> str:
    """Submit, then the status and result calls, with one home for the queue's URLs."""
    urls = queue_urls(endpoint_id)
    return (
        "# 1. Submit the request; fal answers with its request_id:\n"
        f"curl --request POST \\\n  --url {urls.submit} \\\n"
        '  --header "Authorization: Key $FAL_KEY" \\\n'
        '  --header "Content-Type: application/json" \\\n'
        f"  --data '{body}'\n\n"
        "# 2. With REQUEST_ID set to that request_id, ask until the status is COMPLETED:\n"
        f'curl --url {urls.status} \\\n  --header "Authorization: Key $FAL_KEY"\n\n'
        "# 3. Fetch the result:\n"
        f'curl --url {urls.result} \\\n  --header "Authorization: Key $FAL_KEY"\n'
    )


def snippets_without_schema(endpoint_id: str) -> list[Snippet]:
    """No document: say so, and give fal's queue calls for this endpoint."""
    return [
        Snippet(
            "curl",
            "curl",
            "# The catalog has no schema for this model, so its inputs are unknown here;\n"
            "# fal's queue API takes them as a JSON body.\n" + _curl(endpoint_id, "{ ... }"),
        )
    ]


def snippets_for(endpoint_id: str, schema: ModelSchema, openapi: Any = None) -> list[Snippet]:
    arguments = call_arguments(schema, openapi)
    quoted_id = _json(endpoint_id)
    js_input = _json(arguments, indent=2).replace("\n", "\n  ")
    body = _json(arguments).replace("'", "'\\''")
    return [
        Snippet(
            "python",
            "Python",
            "import fal_client\n\n"
            + _notes(arguments, schema, "#")
            + f"result = fal_client.subscribe(\n    {quoted_id},\n"
            f"    arguments={_python(arguments, '    ')},\n)\nprint(result)\n",
        ),
        Snippet(
            "javascript",
            "JavaScript",
            'import { fal } from "@fal-ai/client";\n\n'
            + _notes(arguments, schema, "//")
            + f"const result = await fal.subscribe({quoted_id}, {{\n"
            f"  input: {js_input},\n}});\nconsole.log(result.data);\n",
        ),
        Snippet("curl", "curl", _notes(arguments, schema, "#") + _curl(endpoint_id, body)),
    ]
