"""What changed between two states of a catalog entry or its OpenAPI document (pure, no I/O).

`diff_entry` compares two `models` entries (metadata: status, display name, description,
category, license, kind, group, tags, thumbnail); `diff_documents` compares two OpenAPI
documents field by field (through `fal.openapi.model_schema`). Both return `Difference`s,
which the sync stores as `catalog.models.Change` rows; `diff_price` compares two prices of one
endpoint (changed, appeared, gone away). A document that is missing or an
expansion error is *unknown*, never "every field removed": no schema diff is read out of it.

The breaking rule (fal accepts unknown input fields and answers 200, so a caller does not
notice these): an input becomes required or is added as required; an input is removed;
an input's allowed values narrow (enum values dropped, an enum imposed, limits tightened,
a type label losing a branch); an output field is removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fal.openapi import SchemaField, model_schema

# Kinds of change, as stored and as the `kind` filter of /changes/ spells them.
ADDED, GONE, BACK, DEPRECATED = "added", "gone", "back", "deprecated"
RENAMED, METADATA, SCHEMA, PRICE = "renamed", "metadata", "schema", "price"
KINDS = (ADDED, GONE, BACK, DEPRECATED, RENAMED, SCHEMA, PRICE, METADATA)

# Metadata keys that make a "metadata" change: (key in the entry, the name we show).
METADATA_FIELDS = (
    ("description", "description"),
    ("category", "category"),
    ("license_type", "license"),
    ("kind", "kind"),
    ("group", "group"),
    ("tags", "tags"),
    ("thumbnail_url", "thumbnail"),
)
# Aspects of one schema field that a schema change names.
SCHEMA_ASPECTS = ("added", "removed", "type", "required", "default", "enum", "limits")
LIMITS = ("minimum", "maximum", "min_length", "max_length", "exclusive_minimum",
          "exclusive_maximum")  # fmt: skip


@dataclass(frozen=True)
class Difference:
    """One change of one endpoint. For schema changes `field` is "input.<name>" or
    "output.<name>" and `aspect` one of SCHEMA_ASPECTS; for metadata `field` is the key."""

    endpoint_id: str
    kind: str
    field: str = ""
    aspect: str = ""
    before: Any = None
    after: Any = None
    breaking: bool = False


def _metadata(entry: Any) -> dict:
    metadata = entry.get("metadata") if isinstance(entry, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def entry_category(entry: Any) -> str:
    category = _metadata(entry).get("category")
    return category if isinstance(category, str) else ""


def diff_entry(endpoint_id: str, before: Any, after: Any) -> list[Difference]:
    """Status, name and metadata changes between two entries of one endpoint."""
    old, new = _metadata(before), _metadata(after)
    changes: list[Difference] = []
    if old.get("status") != new.get("status"):
        kind = DEPRECATED if new.get("status") == "deprecated" else METADATA
        changes.append(
            Difference(endpoint_id, kind, "status", "", old.get("status"), new.get("status"))
        )
    if old.get("display_name") != new.get("display_name"):
        changes.append(
            Difference(
                endpoint_id,
                RENAMED,
                "display_name",
                "",
                old.get("display_name"),
                new.get("display_name"),
            )  # fmt: skip
        )
    for key, name in METADATA_FIELDS:
        a, b = old.get(key), new.get(key)
        if (
            key == "tags"
            and isinstance(a, list)
            and isinstance(b, list)
            and sorted(map(str, a)) == sorted(map(str, b))
        ):
            continue  # reordered: no change
        if a != b:
            changes.append(Difference(endpoint_id, METADATA, name, "", a, b))
    return changes


def is_document(openapi: Any) -> bool:
    """A real OpenAPI document (not None, not an expansion error object)."""
    return isinstance(openapi, dict) and "error" not in openapi and bool(openapi)


def _jsonable(value: Any) -> Any:
    """Enum values come out of model_schema frozen into tuples; store them as lists."""
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _summary(field: SchemaField) -> dict:
    """What a stored "added"/"removed" change says about the field."""
    summary: dict[str, Any] = {"type": field.type, "required": field.required}
    if field.has_default:
        summary["default"] = _jsonable(field.default)
    if field.enum:
        summary["enum"] = _jsonable(list(field.enum))
    return summary


def _limits(field: SchemaField) -> dict:
    return {
        name: getattr(field, name) for name in LIMITS if getattr(field, name) not in (None, False)
    }


def _type_narrowed(before: str, after: str) -> bool:
    """A union that lost a branch, or a type replaced by another."""
    old = {part.strip() for part in before.split("|")}
    new = {part.strip() for part in after.split("|")}
    return not old <= new


def _limits_narrowed(before: dict, after: dict) -> bool:
    for low in ("minimum", "min_length"):
        a, b = before.get(low), after.get(low)
        if b is not None and (a is None or b > a):
            return True
    for high in ("maximum", "max_length"):
        a, b = before.get(high), after.get(high)
        if b is not None and (a is None or b < a):
            return True
    for flag, bound in (("exclusive_minimum", "minimum"), ("exclusive_maximum", "maximum")):
        if after.get(flag) and not before.get(flag) and before.get(bound) == after.get(bound):
            return True
    return False


def _diff_fields(
    endpoint_id: str, side: str, before: tuple[SchemaField, ...], after: tuple[SchemaField, ...]
) -> list[Difference]:
    inputs = side == "input"
    old = {f.name: f for f in before}
    new = {f.name: f for f in after}
    changes: list[Difference] = []

    def change(name: str, aspect: str, a: Any, b: Any, breaking: bool = False) -> None:
        changes.append(Difference(endpoint_id, SCHEMA, f"{side}.{name}", aspect, a, b, breaking))

    for name, field in new.items():
        if name not in old:
            change(name, "added", None, _summary(field), breaking=inputs and field.required)
    for name, field in old.items():
        if name not in new:
            change(name, "removed", _summary(field), None, breaking=True)
            continue
        other = new.get(name)
        if other is None:
            continue
        if field.type != other.type:
            change(name, "type", field.type, other.type,
                   breaking=inputs and _type_narrowed(field.type, other.type))  # fmt: skip
        if field.required != other.required:
            change(name, "required", field.required, other.required,
                   breaking=inputs and other.required)  # fmt: skip
        if (field.has_default, field.default) != (other.has_default, other.default):
            change(
                name,
                "default",
                _jsonable(field.default) if field.has_default else None,
                _jsonable(other.default) if other.has_default else None,
            )
        if set(field.enum) != set(other.enum):
            # An enum dropped values, or one was imposed on a free field: fewer values pass.
            narrowed = bool(other.enum) and (
                not field.enum or not set(field.enum) <= set(other.enum)
            )
            change(name, "enum", _jsonable(list(field.enum)), _jsonable(list(other.enum)),
                   breaking=inputs and narrowed)  # fmt: skip
        old_limits, new_limits = _limits(field), _limits(other)
        if old_limits != new_limits:
            change(name, "limits", old_limits, new_limits,
                   breaking=inputs and _limits_narrowed(old_limits, new_limits))  # fmt: skip
    return changes


def diff_documents(endpoint_id: str, before: Any, after: Any) -> list[Difference]:
    """Field-level changes between two OpenAPI documents; none when either is unknown."""
    if not (is_document(before) and is_document(after)) or before == after:
        return []
    old, new = model_schema(before), model_schema(after)
    return [
        *_diff_fields(endpoint_id, "input", old.inputs, new.inputs),
        *_diff_fields(endpoint_id, "output", old.outputs, new.outputs),
    ]


def price_state(unit_price: Decimal, unit: str, currency: str) -> dict:
    """A price as a price change stores it: the figure as decimal text (JSON has no decimal,
    and a float would turn 0.0376 into 0.037599…), fal's unit as spelled, the currency."""
    return {"unit_price": f"{unit_price.normalize():f}", "unit": unit, "currency": currency}


def diff_price(endpoint_id: str, before: dict | None, after: dict | None) -> list[Difference]:
    """A price change: `before`/`after` are `price_state`s, or None (no price: one appeared
    or went away). Never breaking: a caller's call still works, it costs something else.
    Whether a missing `before` means "appeared" or "not known yet" is the sync's to say."""
    if before == after or (before is None and after is None):
        return []
    return [Difference(endpoint_id, PRICE, "price", "", before, after)]
