"""`{% shortlist_controls card %}`: the curator's one-click shortlist menu on a model card."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from catalog.shortlists import can_curate, controls_context

register = template.Library()


@register.simple_tag(takes_context=True)
def shortlist_controls(context: template.Context, card) -> SafeString | str:
    """Nothing for members; for curators, the `controls` partial of catalog/shortlist.html.

    Which lists hold which endpoints is read once per request (see catalog.shortlists), so
    a grid of 48 cards costs two queries, not 96.
    """
    request = context.get("request")
    if request is None or not can_curate(request.user):
        return ""
    partial = context.template.engine.get_template("catalog/shortlist.html#controls")
    partial_context = controls_context(request, card.endpoint_id)
    return partial.render(template.Context(partial_context, autoescape=context.autoescape))
