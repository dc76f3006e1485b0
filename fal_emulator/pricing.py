"""Emulated ``GET /v1/models/pricing`` and ``POST /v1/models/pricing/estimate`` over real prices.

The prices are the recorded answers in ``fal_emulator/data/fal-pricing-*.json.gz``
(1,433 endpoints, all USD; entries verbatim). The contract is
``fal_emulator/data/pricing-openapi.json``. Where it is silent, these are the choices:

Authentication
  Both paths need ``Authorization: Key <non-empty>``; the scheme is matched
  case-insensitively (RFC 9110) and the key itself is never checked. Anything else is
  401 ``authorization_error`` with ``WWW-Authenticate: Key``. The route and method are
  checked first (an unknown path is 404, a wrong method 405 whether or not a key is
  sent), then the key, then the parameters: a keyless caller learns nothing about them.

Methods
  ``/models/pricing`` answers GET (HEAD is GET without the body); anything else is 405
  with ``Allow: GET, HEAD``. ``/models/pricing/estimate`` answers POST only: 405 with
  ``Allow: POST`` otherwise. Both 405s have type ``validation_error``, as on ``/models``.

``GET /models/pricing``
  ``endpoint_id`` is required: repeated, comma-separated, or both; each piece has its
  surrounding whitespace stripped, and an empty piece (``a,,b``, a trailing comma) is
  400. Duplicates count once; 1-50 distinct ids, more is 400. Prices come in the order
  asked; unknown ids, and the one catalog endpoint with no recorded price, are left out.
  If not one asked id has a price the answer is 404 ``not_found`` naming them (as find
  mode on ``/models`` does). Other parameters are ignored.
  Paging: the contract's answer has ``next_cursor``/``has_more`` but no cursor or limit
  parameter, and at most 50 ids are asked, so every answer is the whole result:
  ``next_cursor`` null, ``has_more`` false; ``cursor`` and ``limit`` are ignored.

``POST /models/pricing/estimate``
  The body must be a JSON object (``Content-Type`` is not checked; NaN/Infinity and
  bodies over 1 MiB are 400) with ``estimate_type`` ``unit_price`` or
  ``historical_api_price`` and ``endpoints``, an object mapping endpoint ids to
  ``{"unit_quantity": number >= 0.000001}`` or ``{"call_quantity": integer >= 1}``
  respectively (an integral JSON number such as ``2.0`` is an integer, as in JSON Schema).
  Extra properties are ignored, as the contract allows. Anything else is 400
  ``validation_error`` naming the field.
  ``unit_price``: total_cost = Σ unit_price × unit_quantity, computed exactly in decimal
  from the numbers as written and sent as the nearest double; no rounding to cents (the
  recorded transcript answers 0.0376 for one unit at $0.0376). A total too large for a
  double is 400. An empty ``endpoints`` is 200 with total_cost 0. Any endpoint that is
  unknown, or known but without a recorded price, makes the whole estimate 404
  ``not_found`` naming them: a total that silently left one out would be too low.
  ``historical_api_price``: fal answers it from its own record of what calls cost; no
  such record is public, so the emulator answers a documented approximation: total_cost =
  Σ cost of one call × call_quantity, where one call is the endpoint's reference job
  (``fal.units.reference_job_cost``: one image, a 1024×1024 image's 1.048576 megapixels,
  a 5 s clip, one video, 1,000 characters, one generation/audio/request), and where the
  unit has no job of a known size (tokens, compute seconds, and vague units such as
  "units" or "steps") one fal unit, i.e. the unit price. Real totals differ wherever
  callers' jobs do (longer clips, larger images). Validation and the 404 for unknown or
  unpriced endpoints are as for ``unit_price``.
  ``currency`` is the prices' currency (``USD``; prices in mixed currencies would be 400).

Rate limiting
  None. The real API rate-limits these paths hard (429 ``rate_limited``); the client's
  retry policy is tested against 429s with ``responses``, not against the emulator.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal, localcontext
from typing import Any

from fal.openapi import JSONObject
from fal.types import MIN_UNIT_QUANTITY
from fal.units import reference_job_cost
from fal_emulator.envelope import ApiError

MAX_PRICING_IDS = 50
MAX_ESTIMATE_BODY_BYTES = 1024 * 1024
QUANTITY_FIELD = {"unit_price": "unit_quantity", "historical_api_price": "call_quantity"}
_NAMED_IDS = 10  # ids named in one error message; the rest are counted


def has_key(authorization: str | None) -> bool:
    """Whether an ``Authorization`` header is ``Key <something>`` (the key is not checked)."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    return scheme.casefold() == "key" and bool(credentials.strip())


def require_key(authorization: str | None) -> None:
    if not has_key(authorization):
        raise ApiError(
            "Authentication required: send the header Authorization: Key <your fal API key>",
            401,
            "authorization_error",
            {"WWW-Authenticate": "Key"},
        )


def _named(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_NAMED_IDS])
    more = len(ids) - _NAMED_IDS
    return shown + (f" and {more} more" if more > 0 else "")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _decimal(number: int | float) -> Decimal:
    # repr() is the shortest text that reads back as this double: 0.0376, not 0.03759999…
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


def _quantity(value: Any, estimate_type: str, endpoint_id: str) -> int | float:
    field = QUANTITY_FIELD[estimate_type]
    where = f"endpoints[{endpoint_id!r}].{field}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(f"{where} must be a number")
    if estimate_type == "historical_api_price":
        if isinstance(value, float) and not value.is_integer():
            raise ApiError(f"{where} must be an integer >= 1")
        if value < 1:
            raise ApiError(f"{where} must be an integer >= 1")
    elif value < MIN_UNIT_QUANTITY:
        raise ApiError(f"{where} must be at least {MIN_UNIT_QUANTITY}")
    return value


class PriceBook:
    """The recorded prices by endpoint id; immutable after construction, so thread-safe."""

    def __init__(self, prices: Iterable[JSONObject], catalog_ids: Iterable[object] = ()) -> None:
        self._prices: dict[str, JSONObject] = {}
        for entry in prices:
            if isinstance(entry, dict) and isinstance(entry.get("endpoint_id"), str):
                self._prices.setdefault(entry["endpoint_id"], entry)
        self._catalog = frozenset(catalog_ids)

    def __len__(self) -> int:
        return len(self._prices)

    # --- GET /models/pricing -----------------------------------------------------------

    def pricing(self, query: list[tuple[str, str]]) -> dict[str, Any]:
        values = [value for key, value in query if key == "endpoint_id"]
        if not values:
            raise ApiError(
                "endpoint_id is required: 1-50 endpoint ids, repeated or comma-separated"
            )
        asked: list[str] = []
        for value in values:
            for piece in value.split(","):
                piece = piece.strip()
                if not piece:
                    raise ApiError("endpoint_id must not be empty (check for a stray comma)")
                asked.append(piece)
        ids = list(dict.fromkeys(asked))
        if len(ids) > MAX_PRICING_IDS:
            raise ApiError(
                f"Too many endpoint_id values ({len(ids)}); at most {MAX_PRICING_IDS} per request"
            )
        prices = [self._prices[i] for i in ids if i in self._prices]
        if not prices:
            raise ApiError(f"No pricing found for endpoint_id: {_named(ids)}", 404, "not_found")
        return {"prices": prices, "next_cursor": None, "has_more": False}

    # --- POST /models/pricing/estimate ---------------------------------------------------

    def estimate(self, body: bytes) -> dict[str, Any]:
        if len(body) > MAX_ESTIMATE_BODY_BYTES:
            raise ApiError(f"The body is larger than {MAX_ESTIMATE_BODY_BYTES} bytes")
        try:
            data = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise ApiError("The body must be a JSON object") from None
        if not isinstance(data, dict):
            raise ApiError("The body must be a JSON object")
        estimate_type = data.get("estimate_type")
        if not isinstance(estimate_type, str) or estimate_type not in QUANTITY_FIELD:
            raise ApiError("estimate_type must be 'historical_api_price' or 'unit_price'")
        endpoints = data.get("endpoints")
        if not isinstance(endpoints, dict):
            raise ApiError("endpoints must be an object mapping endpoint ids to quantities")
        field = QUANTITY_FIELD[estimate_type]
        quantities: dict[str, int | float] = {}
        for endpoint_id, entry in endpoints.items():
            if not isinstance(entry, dict) or field not in entry:
                raise ApiError(
                    f"endpoints[{endpoint_id!r}] must be an object with {field!r} "
                    f"(estimate_type {estimate_type!r})"
                )
            quantities[endpoint_id] = _quantity(entry[field], estimate_type, endpoint_id)

        unpriced = [i for i in quantities if i not in self._prices]
        if unpriced:
            unknown = [i for i in unpriced if i not in self._catalog]
            known = [i for i in unpriced if i in self._catalog]
            reasons = []
            if unknown:
                reasons.append(f"no such endpoint: {_named(unknown)}")
            if known:
                reasons.append(f"no recorded price: {_named(known)}")
            raise ApiError("Cannot estimate; " + "; ".join(reasons), 404, "not_found")
        currencies = {self._prices[i].get("currency") for i in quantities}
        if len(currencies) > 1:
            raise ApiError("These endpoints are priced in different currencies")
        currency = currencies.pop() if currencies else "USD"
        with localcontext() as context:
            context.prec = 80  # exact for any two doubles' product and a sum of them
            total = sum(
                (self._cost_each(i, estimate_type) * _decimal(q) for i, q in quantities.items()),
                Decimal(0),
            )
        total_cost = float(total)
        if not math.isfinite(total_cost):
            raise ApiError("The quantities are too large to estimate")
        return {"estimate_type": estimate_type, "total_cost": total_cost, "currency": currency}

    def _cost_each(self, endpoint_id: str, estimate_type: str) -> Decimal:
        """One unit's price, or for `historical_api_price` one call's (see the docstring)."""
        price = self._prices[endpoint_id]
        unit_price = _decimal(price["unit_price"])
        if estimate_type == "unit_price":
            return unit_price
        job = reference_job_cost(str(price.get("unit", "")), float(unit_price))
        return unit_price if job is None else job
