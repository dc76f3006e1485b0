"""The model page's price calculator: a quantity in, fal's estimate of the total out.

A plain GET form (`?quantity=12`) on the model page; htmx swaps in the `estimate` partial
of catalog/model.html, and without JavaScript the whole model page comes back with the
estimate in it. The total is fal's answer (`POST /models/pricing/estimate`, through the
cache), never computed here; a failure says what failed, inside the fragment.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.vary import vary_on_headers

from catalog import services
from catalog.browse import clean_text
from catalog.views import HtmxHttpRequest
from catalog.views.model_pages import render_model_page
from fal.errors import FalAPIError
from fal.types import MIN_UNIT_QUANTITY, is_endpoint_id
from fal.units import format_money

MAX_QUANTITY = Decimal(1_000_000_000)
# Any length a person might type is read, so that too large says the real bound.
_QUANTITY = re.compile(r"\d{1,30}(?:\.\d{0,9})?|\.\d{1,9}")


def parse_quantity(text: str) -> tuple[Decimal | None, str]:
    """(quantity, problem): a positive plain number up to a billion."""
    text = clean_text(text).replace(",", "")
    if not text:
        return None, "Enter a quantity to estimate."
    if not _QUANTITY.fullmatch(text):
        return None, "The quantity must be a positive number, such as 12 or 2.5."
    quantity = Decimal(text)
    if quantity <= 0:
        return None, "The quantity must be more than 0."
    if quantity > MAX_QUANTITY:
        return None, f"The quantity can be at most {MAX_QUANTITY:,}."
    return quantity, ""


@vary_on_headers("HX-Request")
def model_estimate(request: HtmxHttpRequest, endpoint_id: str) -> HttpResponse:
    if not is_endpoint_id(endpoint_id):
        raise Http404("That is not a fal endpoint id.")
    catalog = services.catalog_index()
    model = catalog.get(endpoint_id)
    if model is None:  # the calculator is on model pages: the index has the model
        raise Http404("The catalog has no model with this id.")
    price = catalog.price(endpoint_id)
    raw = request.GET.get("quantity", "")
    context: dict = {"quantity": clean_text(raw)[:40], "estimate": None, "estimate_error": ""}
    quantity, problem = parse_quantity(raw)
    if price is None:
        problem = f"{catalog.card(model).price_note}: there is nothing to estimate with."
    elif price.vague:
        problem = "fal bills this model in a unit nothing can be counted in: no estimate."
    elif quantity is not None:
        units = price.unit_quantity(quantity)
        if units < Decimal(str(MIN_UNIT_QUANTITY)):
            problem = "That quantity is too small for fal to estimate."
    if not problem:
        assert price is not None and quantity is not None  # no problem: both were read
        try:
            estimate = services.catalog_estimate(
                endpoint_id=endpoint_id, unit_quantity=float(units)
            )
        except FalAPIError as error:
            problem = f"fal could not estimate the cost: {error.message}. Try again."
        except ValueError as error:
            problem = str(error)
        else:
            context["estimate"] = {
                "total": format_money(estimate.total_cost, estimate.currency),
                "quantity": f"{quantity.normalize():,f}",
                "noun": price.quantity_noun,
            }
    context["estimate_error"] = problem
    if request.htmx:
        return render(request, "catalog/model.html#estimate", context)
    # Without JavaScript: the model page, with the estimate under its form.
    schema_url = reverse("catalog:model_schema", args=[endpoint_id])
    return render_model_page(request, endpoint_id, {"schema_url": schema_url, **context})
