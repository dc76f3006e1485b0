"""`{{ curator_menu|controls_for:card.endpoint_id }}`: a card's shortlist control context.

Pure: the view read the lists once (catalog.shortlists.curator_menu); this picks one card's
view of them, so a grid of 48 cards costs two queries, not 96, and the template none.
"""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def controls_for(menu, endpoint_id: str) -> dict:
    return menu.controls(endpoint_id) if menu is not None else {}
