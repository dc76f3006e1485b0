"""What the model page's schema section shows: field rows with their nested types, the
model's capability chips, where the document came from, and the snippets.

No Django here; the view hands in the stored document and the index's capabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.compare import default_text, enum_texts, limits_text
from catalog.snippets import Snippet, snippets_for, snippets_without_schema
from fal.capabilities import ACCEPTS, HAS, OUTPUTS, Capabilities
from fal.openapi import (
    SchemaField,
    fallback_url,
    model_schema,
    named_type_fields,
    own_name,
    raw_properties,
    reconstructed_source,
    referenced_names,
)

# How deep nested types unfold (Image inside ImagePrompt inside the input, …).
MAX_NESTING = 3
RECONSTRUCTED_NOTE = "schema reconstructed from a public crawl"
FALLBACK_NOTE = "schema from fal's per-endpoint document"


@dataclass(frozen=True)
class NestedType:
    """A schema a field refers to (Image, File, LoraWeight…), with its own fields."""

    name: str
    rows: tuple[dict, ...]


def _rows(
    fields: tuple[SchemaField, ...],
    props: dict[str, dict],
    openapi: Any,
    depth: int,
    seen: frozenset,
) -> list[dict]:
    rows = []
    for field in fields:
        nested = []
        if depth < MAX_NESTING:
            for name in referenced_names(props.get(field.name, {}), openapi):
                inner = named_type_fields(openapi, name) if name not in seen else None
                if inner:
                    inner_props = _nested_props(openapi, name)
                    inner_rows = _rows(inner, inner_props, openapi, depth + 1, seen | {name})
                    nested.append(NestedType(name=own_name(name), rows=tuple(inner_rows)))
        rows.append(
            {
                "field": field,
                "default": default_text(field),
                "enum": enum_texts(field),
                "limits": limits_text(field),
                "nested": nested,
            }
        )
    return rows


def _nested_props(openapi: Any, name: str) -> dict[str, dict]:
    schemas = openapi.get("components", {}).get("schemas", {}) if isinstance(openapi, dict) else {}
    target = schemas.get(name) if isinstance(schemas, dict) else None
    props = target.get("properties") if isinstance(target, dict) else None
    return (
        {k: v for k, v in props.items() if isinstance(v, dict)} if isinstance(props, dict) else {}
    )


def capability_chips(found: Capabilities | None) -> list[tuple[str, list[str]]]:
    """(group, labels) for the chips; [] when the schema is unknown."""
    if found is None:
        return []
    groups = [
        ("Accepts", [label for v, label in ACCEPTS.items() if v in found.accepts]),
        ("Outputs", [label for v, label in OUTPUTS.items() if v in found.outputs]),
        ("Has", [label for v, label in HAS.items() if v in found.has]),
    ]
    limits = []
    if found.max_outputs is not None:
        limits.append(f"up to {found.max_outputs} outputs per call")
    if found.max_duration is not None:
        limits.append(f"up to {found.max_duration:g} s")
    groups.append(("Limits", limits))
    return [(title, labels) for title, labels in groups if labels]


def schema_context(endpoint_id: str, openapi: dict, found: Capabilities | None) -> dict:
    """The schema section's context for a stored document."""
    schema = model_schema(openapi)
    inputs_raw, outputs_raw = raw_properties(openapi)
    return {
        "schema_sections": [
            ("Inputs", _rows(schema.inputs, inputs_raw, openapi, 0, frozenset())),
            ("Outputs", _rows(schema.outputs, outputs_raw, openapi, 0, frozenset())),
        ],
        "snippets": snippets_for(endpoint_id, schema, openapi),
        "capability_chips": capability_chips(found),
        **provenance(openapi),
    }


def provenance(openapi: dict) -> dict:
    """Where a document that fal's expansion did not send came from: rebuilt from public
    crawls (offline), or read from fal's per-endpoint document (live; `fallback_link` only
    for an http(s) URL)."""
    if reconstructed_source(openapi):
        return {"reconstructed_note": RECONSTRUCTED_NOTE}
    url = fallback_url(openapi)
    if url is None:
        return {}
    link = url if url.startswith(("https://", "http://")) else ""
    return {"fallback_note": FALLBACK_NOTE, "fallback_link": link}


def unknown_schema_snippets(endpoint_id: str) -> list[Snippet]:
    return snippets_without_schema(endpoint_id)
