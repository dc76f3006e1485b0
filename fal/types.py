"""What `/v1/models` and its pricing take and return: queries, frozen result types, parsing."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from fal.errors import FalInvalidResponseError

logger = logging.getLogger(__name__)

MAX_IDS_PER_REQUEST = 50
EXPAND_OPENAPI = "openapi-3.0"
EXPAND_ENTERPRISE_STATUS = "enterprise_status"
EXPAND_VALUES = (EXPAND_OPENAPI, EXPAND_ENTERPRISE_STATUS)
# fal's public per-endpoint OpenAPI document (`?endpoint_id=<id>`), which fal's model pages
# link as "Schema": on fal.ai, not on the Platform API's host.
PUBLIC_SCHEMA_URL = "https://fal.ai/api/openapi/queue/openapi.json"
SCHEMA_PATH = "/api/openapi/queue/openapi.json"
ESTIMATE_UNIT_PRICE = "unit_price"
ESTIMATE_HISTORICAL = "historical_api_price"
# What each `estimate_type` counts per endpoint in `POST /models/pricing/estimate`.
ESTIMATE_QUANTITY_FIELDS = {
    ESTIMATE_UNIT_PRICE: "unit_quantity",
    ESTIMATE_HISTORICAL: "call_quantity",
}
# The smallest quantity an estimate takes (fal answers 400 below it).
MIN_UNIT_QUANTITY = 0.000001
# What fal endpoint ids look like: owner/model[/variant…] (e.g. fal-ai/flux/dev). `\A…\Z`,
# not `^…$`, which would let a trailing newline through; a segment that is only `.` or
# `..` would make fal.run/<id> name another path.
ENDPOINT_ID_PATTERN = r"\A[A-Za-z0-9][A-Za-z0-9._-]*(/(?!\.\.?(?:/|\Z))[A-Za-z0-9._-]+)+\Z"
MAX_ENDPOINT_ID_LENGTH = 200
_ENDPOINT_ID = re.compile(ENDPOINT_ID_PATTERN)
# Entries whose id cannot even be a URL path at fal (fal.run/<id>) are skipped: whitespace,
# control characters and lone surrogates would break every link built from them. Ids
# that are merely unusual stay (shown as text; is_endpoint_id() decides about links).
MAX_USABLE_ID_LENGTH = 1000
_UNUSABLE_ID = re.compile(r"[\s\x00-\x1f\x7f\ud800-\udfff]")


def is_endpoint_id(value: str) -> bool:
    """Whether `value` is shaped like a fal endpoint id (not whether fal knows it)."""
    return len(value) <= MAX_ENDPOINT_ID_LENGTH and _ENDPOINT_ID.match(value) is not None


# --- Results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpansionError:
    """An `expand` value the API could not produce for one model."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    label: str


@dataclass(frozen=True, slots=True)
class ModelMetadata:
    """A model's registry entry. Optional or missing fields are "" / None / ()."""

    display_name: str = ""
    category: str = ""
    description: str = ""
    status: str = ""
    tags: tuple[str, ...] = ()
    updated_at: str = ""
    date: str = ""
    thumbnail_url: str = ""
    thumbnail_animated_url: str = ""
    model_url: str = ""
    github_url: str = ""
    stream_url: str = ""
    license_type: str = ""
    kind: str = ""
    group: Group | None = None
    training_endpoint_ids: tuple[str, ...] = ()
    inference_endpoint_ids: tuple[str, ...] = ()
    duration_estimate: float | None = None
    is_favorited: bool | None = None


@dataclass(frozen=True, slots=True)
class Model:
    """One entry of `models`. `openapi` and `enterprise_status` are set only when expanded."""

    endpoint_id: str
    metadata: ModelMetadata | None = None
    # The OpenAPI document is kept as parsed JSON: treat it as read-only.
    openapi: dict[str, Any] | ExpansionError | None = field(default=None, compare=False)
    enterprise_status: str | ExpansionError | None = None


@dataclass(frozen=True, slots=True)
class Page:
    models: tuple[Model, ...]
    next_cursor: str | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class Price:
    """One entry of `prices`: fal's price per billing `unit`, the unit as fal spells it.

    `unit` is raw (`"images"`, `"5 seconds"`, `"1000 characters "`, `""`…): `fal.units`
    says what it means and how to show it.
    """

    endpoint_id: str
    unit_price: float
    unit: str
    currency: str


@dataclass(frozen=True, slots=True)
class Estimate:
    """A `POST /models/pricing/estimate` answer: the total for every endpoint asked."""

    estimate_type: str
    total_cost: float
    currency: str


# --- Parsing: tolerate what the spec allows, reject what it does not -----------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _same(value: str) -> str:
    return value


def _texts(value: Any, share: Callable[[str], str] = _same) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(share(item) for item in value if isinstance(item, str))


def _usable_id(value: Any) -> TypeGuard[str]:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_USABLE_ID_LENGTH
        and not _UNUSABLE_ID.search(value)
    )


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(item for item in _texts(value) if _usable_id(item))


def _expansion_error(value: Any) -> ExpansionError | None:
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        error = value["error"]
        return ExpansionError(
            code=_text(error.get("code")) or "unknown", message=_text(error.get("message"))
        )
    return None


def parse_metadata(data: Any, share: Callable[[str], str] = _same) -> ModelMetadata | None:
    """`share` may return an equal string already in memory for the fields many models
    repeat (category, status, tags…): one copy each across a large catalog."""
    if not isinstance(data, dict):
        return None
    group = data.get("group")
    duration = data.get("duration_estimate")
    favorited = data.get("is_favorited")
    return ModelMetadata(
        display_name=_text(data.get("display_name")),
        category=share(_text(data.get("category"))),
        description=_text(data.get("description")),
        status=share(_text(data.get("status"))),
        tags=_texts(data.get("tags"), share),
        updated_at=share(_text(data.get("updated_at"))),
        date=share(_text(data.get("date"))),
        thumbnail_url=_text(data.get("thumbnail_url")),
        thumbnail_animated_url=_text(data.get("thumbnail_animated_url")),
        model_url=_text(data.get("model_url")),
        github_url=_text(data.get("github_url")),
        stream_url=_text(data.get("stream_url")),
        license_type=share(_text(data.get("license_type"))),
        kind=share(_text(data.get("kind"))),
        group=(
            Group(key=share(_text(group.get("key"))), label=share(_text(group.get("label"))))
            if isinstance(group, dict) and (group.get("key") or group.get("label"))
            else None
        ),
        training_endpoint_ids=_ids(data.get("training_endpoint_ids")),
        inference_endpoint_ids=_ids(data.get("inference_endpoint_ids")),
        duration_estimate=(
            float(duration)
            if isinstance(duration, int | float) and not isinstance(duration, bool)
            else None
        ),
        is_favorited=favorited if isinstance(favorited, bool) else None,
    )


def parse_model(data: Any, share: Callable[[str], str] = _same) -> Model | None:
    """One `models` entry, or None when it has no usable `endpoint_id` (`share`: see
    parse_metadata)."""
    if not isinstance(data, dict):
        return None
    endpoint_id = data.get("endpoint_id")
    if not _usable_id(endpoint_id):
        return None
    openapi: dict[str, Any] | ExpansionError | None = None
    if "openapi" in data:
        raw = data["openapi"]
        openapi = _expansion_error(raw) or (
            raw
            if isinstance(raw, dict)
            else ExpansionError("invalid_response", "The API sent no usable OpenAPI document")
        )
    enterprise_status: str | ExpansionError | None = None
    if "enterprise_status" in data:
        raw = data["enterprise_status"]
        enterprise_status = (
            raw
            if isinstance(raw, str)
            else _expansion_error(raw)
            or ExpansionError("invalid_response", "The API sent no usable enterprise status")
        )
    return Model(
        endpoint_id=endpoint_id,
        metadata=parse_metadata(data.get("metadata"), share),
        openapi=openapi,
        enterprise_status=enterprise_status,
    )


def parse_page(data: Any) -> Page:
    """A whole 200 answer; a body of the wrong shape raises FalInvalidResponseError."""
    models = _parse_entries(
        data, "models", parse_model, "a model entry without a usable endpoint_id"
    )
    next_cursor = data.get("next_cursor")
    if not isinstance(next_cursor, str) or not next_cursor:
        next_cursor = None
    has_more = data.get("has_more")
    if not isinstance(has_more, bool):
        has_more = next_cursor is not None
    # A page that claims more but gives no cursor cannot be followed: treat it as the end.
    return Page(
        models=tuple(models), next_cursor=next_cursor, has_more=has_more and bool(next_cursor)
    )


def _amount(value: Any) -> float | None:
    """A JSON number that can be money: finite and >= 0 (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        amount = float(value)
    except OverflowError:  # an int beyond any double
        return None
    return amount if math.isfinite(amount) and amount >= 0 else None


def parse_price(data: Any) -> Price | None:
    """One `prices` entry, or None without a usable `endpoint_id` or a usable `unit_price`."""
    if not isinstance(data, dict) or not _usable_id(data.get("endpoint_id")):
        return None
    unit_price = _amount(data.get("unit_price"))
    if unit_price is None:
        return None
    return Price(
        endpoint_id=data["endpoint_id"],
        unit_price=unit_price,
        unit=_text(data.get("unit")),
        currency=_text(data.get("currency")),
    )


def parse_prices(data: Any) -> list[Price]:
    """The prices of one 200 answer; a body of the wrong shape raises FalInvalidResponseError."""
    return _parse_entries(
        data, "prices", parse_price, "a price entry without a usable endpoint_id or unit_price"
    )


def _parse_entries[T](
    data: Any, key: str, parse: Callable[[Any], T | None], unusable: str
) -> list[T]:
    """The entries of the list `data[key]` that `parse` can use; each other one is logged
    and skipped. A body without that list raises FalInvalidResponseError."""
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise FalInvalidResponseError("The API answered with JSON of an unexpected shape")
    entries = []
    for raw in data[key]:
        entry = parse(raw)
        if entry is None:
            logger.warning("Skipped %s", unusable)
            continue
        entries.append(entry)
    return entries


def parse_estimate(data: Any) -> Estimate:
    """A whole 200 estimate; without a usable `total_cost` it raises FalInvalidResponseError."""
    total_cost = _amount(data.get("total_cost")) if isinstance(data, dict) else None
    if total_cost is None:
        raise FalInvalidResponseError("The API answered with an estimate without a usable total")
    return Estimate(
        estimate_type=_text(data.get("estimate_type")),
        total_cost=total_cost,
        currency=_text(data.get("currency")),
    )


def next_cursor(page: Page | Mapping[str, Any], seen: set[str]) -> str | None:
    """The cursor to follow after `page` (a Page or a page as sent), or None at the end.

    The one rule for following cursors: no more pages, no cursor, or a cursor already
    followed (which would loop forever) is the end. A cursor returned is added to `seen`.
    """
    if isinstance(page, Page):
        cursor, more = page.next_cursor, page.has_more
    else:
        cursor, more = page.get("next_cursor"), page.get("has_more") is not False
    if not more or not isinstance(cursor, str) or not cursor or cursor in seen:
        return None
    seen.add(cursor)
    return cursor


def follow_cursors[P: Mapping[str, Any]](fetch: Callable[[str | None], P]) -> Iterator[P]:
    """Every page `fetch(cursor)` returns, from the first, by the rule of `next_cursor`."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = fetch(cursor)
        yield page
        cursor = next_cursor(page, seen)
        if cursor is None:
            return


# --- Query -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelsQuery:
    """The parameters of one `GET /models` request, in a canonical, hashable form."""

    endpoint_ids: tuple[str, ...] = ()
    q: str = ""
    category: str = ""
    status: str = ""
    expand: tuple[str, ...] = ()
    limit: int | None = None

    def params(self, cursor: str | None = None) -> list[tuple[str, str]]:
        """Query string pairs; repeated keys for `endpoint_id` and `expand`, as the API wants."""
        pairs = [("endpoint_id", endpoint_id) for endpoint_id in self.endpoint_ids]
        pairs += [
            (name, value) for name in ("q", "category", "status") if (value := getattr(self, name))
        ]
        pairs += [("expand", value) for value in self.expand]
        if self.limit is not None:
            pairs.append(("limit", str(self.limit)))
        if cursor:
            pairs.append(("cursor", cursor))
        return pairs


def id_batches(endpoint_ids: Sequence[str]) -> list[tuple[str, ...]]:
    """Any number of ids as requests may take them: distinct ids, 50 per batch, order kept."""
    wanted = list(dict.fromkeys(endpoint_ids))
    return [
        tuple(wanted[start : start + MAX_IDS_PER_REQUEST])
        for start in range(0, len(wanted), MAX_IDS_PER_REQUEST)
    ]


def find_queries(endpoint_ids: Sequence[str], *, expand: Sequence[str] = ()) -> list[ModelsQuery]:
    """Find-mode queries for any number of ids: distinct ids, 50 per request, order kept."""
    return [
        ModelsQuery(endpoint_ids=batch, expand=tuple(expand)) for batch in id_batches(endpoint_ids)
    ]
