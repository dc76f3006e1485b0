"""Input and output fields of one fal OpenAPI document, as flat typed rows.

No Django here. fal's queue documents (OpenAPI 3.0.4, generated from Pydantic) put the
request body of `POST /<endpoint_id>` and the result of `GET .../requests/{request_id}`
in `components.schemas` (`<Name>Input`, `<Name>Output`). Only top-level fields become
rows; nested objects show as their schema's own name (`own_name`). `model_schema` never
raises: whatever JSON it is given, a malformed document gives empty tuples, a missing
`$ref` target gives a field of type "unknown" with `unresolved_ref` set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REF_PREFIX = "#/components/schemas/"
# Where a reconstructed document says so (the offline emulator adds it; see
# fal_emulator/data/README.md): an `info` extension that fal itself never sends.
RECONSTRUCTED_MARK = "x-catalog-reconstructed"
# Where a document stands in for a failed `openapi-3.0` expansion (the sync adds it): the
# URL it was read from and fal's expansion error. Also an `info` extension fal never sends.
FALLBACK_MARK = "x-catalog-fallback"
UNKNOWN = "unknown"
# A JSON object as decoded (the document and each of its schemas).
JSONObject = dict[str, Any]
# How deep `$ref` / `allOf` / `anyOf` / `items` chains are followed before giving up.
MAX_DEPTH = 12


@dataclass(frozen=True)
class SchemaField:
    """One top-level field. `default` is None both for "no default" and a null default:
    `has_default` tells them apart. `min_length`/`max_length` are minItems/maxItems for
    arrays. The two `exclusive_*` flags (an addition to the agreed interface, defaulted)
    say whether `minimum`/`maximum` came from exclusiveMinimum/exclusiveMaximum."""

    name: str
    type: str
    required: bool = False
    default: Any | None = None
    has_default: bool = False
    enum: tuple[Any, ...] = ()
    minimum: float | int | None = None
    maximum: float | int | None = None
    min_length: int | None = None
    max_length: int | None = None
    description: str = ""
    unresolved_ref: str | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False


@dataclass(frozen=True)
class ModelSchema:
    inputs: tuple[SchemaField, ...] = ()
    outputs: tuple[SchemaField, ...] = ()


def model_schema(openapi: Any) -> ModelSchema:
    """The input and output fields of one endpoint's OpenAPI document."""
    try:
        schemas = _dict(_dict(_dict(openapi).get("components")).get("schemas"))
        endpoint_id = _endpoint_id(openapi)
        inputs = _input_schema(openapi, schemas, endpoint_id)
        outputs = _output_schema(openapi, schemas, endpoint_id)
        return ModelSchema(
            inputs=_fields(inputs, schemas),
            outputs=_fields(outputs, schemas),
        )
    except Exception:  # The contract is "never raises on any JSON".
        return ModelSchema()


# --- Finding the input and output schemas -------------------------------------------------


def _dict(value: Any) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _endpoint_id(openapi: JSONObject) -> str:
    metadata = _dict(_dict(openapi.get("info")).get("x-fal-metadata"))
    endpoint_id = metadata.get("endpointId")
    return endpoint_id if isinstance(endpoint_id, str) else ""


def _json_schema(holder: Any) -> Any:
    return _dict(_dict(_dict(holder).get("content")).get("application/json")).get("schema")


def _input_schema(openapi: JSONObject, schemas: JSONObject, endpoint_id: str) -> Any:
    paths = _dict(openapi.get("paths"))
    candidates = [f"/{endpoint_id}"] if endpoint_id else []
    # Without the metadata, the POST path is the one that is not under /requests/.
    candidates += [p for p in paths if isinstance(p, str) and "/requests/" not in p]
    for path in candidates:
        schema = _json_schema(_dict(_dict(paths.get(path)).get("post")).get("requestBody"))
        if isinstance(schema, dict):
            return schema
    return _named_schema(schemas, "Input")


def _output_schema(openapi: JSONObject, schemas: JSONObject, endpoint_id: str) -> Any:
    paths = _dict(openapi.get("paths"))
    candidates = [f"/{endpoint_id}/requests/{{request_id}}"] if endpoint_id else []
    candidates += [p for p in paths if isinstance(p, str) and p.endswith("/{request_id}")]
    for path in candidates:
        responses = _dict(_dict(_dict(paths.get(path)).get("get")).get("responses"))
        schema = _json_schema(responses.get("200"))
        if isinstance(schema, dict):
            return schema
    return _named_schema(schemas, "Output")


def _named_schema(schemas: JSONObject, suffix: str) -> Any:
    for name, schema in schemas.items():
        if isinstance(name, str) and name.endswith(suffix) and isinstance(schema, dict):
            return schema
    return None


# --- Resolving -------------------------------------------------------------------------------


def _ref_name(ref: str) -> str:
    return ref.removeprefix(REF_PREFIX) if ref.startswith(REF_PREFIX) else ref


def own_name(ref: str) -> str:
    """An object schema's name as a type: `Image` for `registry__image__fast_sdxl__models__Image`.
    fal's generator prefixes a class's module path (dots as `__`) when two modules define a
    class of the same name; which module it came from is no part of the type."""
    return _ref_name(ref).rsplit("__", 1)[-1] or _ref_name(ref)


def _target(ref: Any, schemas: JSONObject) -> JSONObject | None:
    """The schema a local `$ref` points to, or None when the document does not define it."""
    if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
        return None
    target = schemas.get(_ref_name(ref))
    return target if isinstance(target, dict) else None


def _object_schema(
    schema: Any, schemas: JSONObject, seen: frozenset[str] = frozenset()
) -> JSONObject | None:
    """Follow `$ref` and single-entry `allOf` down to a schema with `properties`."""
    for _ in range(MAX_DEPTH):
        if not isinstance(schema, dict):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return None
            seen = seen | {ref}
            schema = _target(ref, schemas)
            continue
        all_of = schema.get("allOf")
        if "properties" not in schema and isinstance(all_of, list) and all_of:
            schema = all_of[0]
            continue
        return schema
    return None


def _fields(schema: Any, schemas: JSONObject) -> tuple[SchemaField, ...]:
    resolved = _object_schema(schema, schemas)
    if resolved is None:
        return ()
    properties = _dict(resolved.get("properties"))
    required = resolved.get("required")
    required = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
    order = resolved.get("x-fal-order-properties")
    order = [n for n in order if isinstance(n, str)] if isinstance(order, list) else []
    names = [n for n in dict.fromkeys(order) if n in properties]
    names += [n for n in properties if n not in names and isinstance(n, str)]
    return tuple(_field(name, properties[name], name in required, schemas) for name in names)


@dataclass
class _Facts:
    """What the walk over one property learns; turned into a SchemaField at the end."""

    labels: list[str | tuple[str, str]]
    enum: list[Any]
    minimum: Any = None
    maximum: Any = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    min_length: Any = None
    max_length: Any = None
    default: Any = None
    has_default: bool = False
    description: str = ""
    unresolved_ref: str | None = None


def _field(name: str, prop: Any, required: bool, schemas: JSONObject) -> SchemaField:
    facts = _Facts(labels=[], enum=[])
    _walk(_dict(prop), schemas, facts, frozenset(), 0)
    return SchemaField(
        name=name,
        type=_type_label(facts.labels),
        required=required,
        default=facts.default,
        has_default=facts.has_default,
        enum=tuple(dict.fromkeys(_hashable(v) for v in facts.enum)),
        minimum=facts.minimum,
        maximum=facts.maximum,
        min_length=facts.min_length,
        max_length=facts.max_length,
        description=facts.description.strip(),
        unresolved_ref=facts.unresolved_ref,
        exclusive_minimum=facts.exclusive_minimum,
        exclusive_maximum=facts.exclusive_maximum,
    )


def _type_label(labels: list[str | tuple[str, str]]) -> str:
    """Join the labels of a union; `null` is left out (optional fields say so by not being
    required). An enum branch is ("enum", its type): alone it shows its type, in a union
    it shows as "enum" ("ImageSize | enum")."""
    kept = [label for label in dict.fromkeys(labels) if label != "null"]
    if not kept:
        return "null" if labels else UNKNOWN
    if len(kept) == 1 and isinstance(kept[0], tuple):
        return kept[0][1] or "enum"
    return " | ".join(
        dict.fromkeys(label[0] if isinstance(label, tuple) else label for label in kept)
    )


def _hashable(value: Any) -> Any:
    """Enum values end up in a tuple that is compared and hashed: freeze lists and dicts."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    return value


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _walk(
    schema: Any, schemas: JSONObject, facts: _Facts, seen: frozenset[str], depth: int
) -> None:
    """Collect type labels and constraints of one property, through refs and unions."""
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return
    if not facts.description and isinstance(schema.get("description"), str):
        facts.description = schema["description"]
    if not facts.has_default and "default" in schema:
        facts.default, facts.has_default = schema["default"], True
    _constraints(schema, facts)

    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _target(ref, schemas)
        if target is None:
            facts.unresolved_ref = facts.unresolved_ref or ref
            facts.labels.append(UNKNOWN)
        elif ref in seen:
            facts.labels.append(own_name(ref))  # A cycle: name it, do not follow it again.
        elif _is_object(target):
            facts.labels.append(own_name(ref))
            if not facts.description and isinstance(target.get("description"), str):
                facts.description = target["description"]
        else:
            _walk(target, schemas, facts, seen | {ref}, depth + 1)
        return

    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            for branch in branches:
                _walk(branch, schemas, facts, seen, depth + 1)
            return
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        # Pydantic wraps a described $ref in a one-entry allOf; several entries merge.
        for part in all_of:
            _walk(part, schemas, facts, seen, depth + 1)
        return

    enum = schema.get("enum")
    if "const" in schema:
        enum = [schema["const"]]
    kind = schema.get("type")
    if isinstance(kind, list):  # OpenAPI 3.1 style; fal sends 3.0, but be tolerant.
        kind = " | ".join(k for k in kind if isinstance(k, str)) or None
    if isinstance(enum, list) and enum:
        facts.enum.extend(enum)
        facts.labels.append(("enum", kind if isinstance(kind, str) else ""))
        return
    if kind == "array":
        facts.labels.append(f"array<{_item_label(schema.get('items'), schemas, facts, seen)}>")
        return
    if isinstance(kind, str):
        facts.labels.append(kind)
    elif "properties" in schema:
        facts.labels.append("object")


def _constraints(schema: JSONObject, facts: _Facts) -> None:
    if facts.minimum is None:
        if (value := _number(schema.get("minimum"))) is not None:
            facts.minimum = value
        elif (value := _number(schema.get("exclusiveMinimum"))) is not None:
            facts.minimum, facts.exclusive_minimum = value, True
    if facts.maximum is None:
        if (value := _number(schema.get("maximum"))) is not None:
            facts.maximum = value
        elif (value := _number(schema.get("exclusiveMaximum"))) is not None:
            facts.maximum, facts.exclusive_maximum = value, True
    is_array = schema.get("type") == "array"
    if facts.min_length is None:
        facts.min_length = _number(schema.get("minItems" if is_array else "minLength"))
    if facts.max_length is None:
        facts.max_length = _number(schema.get("maxItems" if is_array else "maxLength"))


def _is_object(schema: JSONObject) -> bool:
    return "properties" in schema or (schema.get("type") == "object" and "enum" not in schema)


def _item_label(items: Any, schemas: JSONObject, facts: _Facts, seen: frozenset[str]) -> str:
    """The label of an array's items; item enums count as the field's enum values."""
    inner = _Facts(labels=[], enum=[])
    _walk(items, schemas, inner, seen, 1)
    facts.enum.extend(inner.enum)
    facts.unresolved_ref = facts.unresolved_ref or inner.unresolved_ref
    if not isinstance(items, dict) or not items:
        return "any"
    return _type_label(inner.labels)


# --- Raw properties, named types and examples (capabilities, model page, snippets) -----------


def _io_properties(openapi: Any, which: str) -> dict[str, JSONObject]:
    schemas = _dict(_dict(_dict(openapi).get("components")).get("schemas"))
    endpoint_id = _endpoint_id(openapi)
    find = _input_schema if which == "input" else _output_schema
    resolved = _object_schema(find(openapi, schemas, endpoint_id), schemas)
    properties = _dict(_dict(resolved).get("properties"))
    return {k: v for k, v in properties.items() if isinstance(k, str) and isinstance(v, dict)}


def raw_properties(openapi: Any) -> tuple[dict[str, JSONObject], dict[str, JSONObject]]:
    """The top-level input and output properties as the document writes them (unresolved):
    for what `SchemaField` does not carry, such as `format`, `x-fal` hints and `examples`.
    Never raises; a malformed document gives empty dicts."""
    try:
        return _io_properties(openapi, "input"), _io_properties(openapi, "output")
    except Exception:
        return {}, {}


def referenced_names(prop: Any, openapi: Any) -> tuple[str, ...]:
    """The names of the component schemas one property refers to, through unions and items."""
    schemas = _dict(_dict(_dict(openapi).get("components")).get("schemas"))
    names: list[str] = []

    def visit(schema: Any, depth: int) -> None:
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return
        ref = schema.get("$ref")
        if isinstance(ref, str):
            names.append(_ref_name(ref))
            target = _target(ref, schemas)
            if target is not None and not _is_object(target):
                visit(target, depth + 1)
            return
        for key in ("anyOf", "oneOf", "allOf"):
            branches = schema.get(key)
            for branch in branches if isinstance(branches, list) else ():
                visit(branch, depth + 1)
        visit(schema.get("items"), depth + 1)

    visit(prop, 0)
    return tuple(dict.fromkeys(names))


def named_type_fields(openapi: Any, name: str) -> tuple[SchemaField, ...] | None:
    """The fields of the object schema `components.schemas[name]` (Image, File, LoraWeight…),
    or None when the document does not define it as an object."""
    try:
        schemas = _dict(_dict(_dict(openapi).get("components")).get("schemas"))
        target = schemas.get(name)
        if not isinstance(target, dict) or not _is_object(target):
            return None
        return _fields(target, schemas)
    except Exception:
        return None


def input_examples(openapi: Any) -> dict[str, Any]:
    """{input field: the document's own first example of it} for fields that give one."""
    examples: dict[str, Any] = {}
    for name, prop in raw_properties(openapi)[0].items():
        values = prop.get("examples")
        if isinstance(values, list) and values:
            examples[name] = values[0]
        elif "example" in prop:
            examples[name] = prop["example"]
    return examples


def reconstructed_source(openapi: object) -> str | None:
    """The source a reconstructed document names ("tanstack", "fal-js"), else None."""
    info = openapi.get("info") if isinstance(openapi, dict) else None
    mark = info.get(RECONSTRUCTED_MARK) if isinstance(info, dict) else None
    if not isinstance(mark, dict):
        return None
    source = mark.get("source")
    return source if isinstance(source, str) and source else "unknown"


def with_fallback_mark(document: JSONObject, url: str, expansion_error: str) -> JSONObject:
    """A copy of `document` saying it was read from `url` because the expansion failed."""
    info = document.get("info")
    marked = dict(info) if isinstance(info, dict) else {}
    marked[FALLBACK_MARK] = {"url": url, "expansion_error": expansion_error}
    return {**document, "info": marked}


def fallback_url(openapi: object) -> str | None:
    """The URL a document standing in for a failed expansion was read from, else None."""
    info = openapi.get("info") if isinstance(openapi, dict) else None
    mark = info.get(FALLBACK_MARK) if isinstance(info, dict) else None
    if not isinstance(mark, dict):
        return None
    url = mark.get("url")
    return url if isinstance(url, str) else ""
