"""The top bar's inbox count: lazy, so a page that does not show it costs no query, and
one small indexed count when it does."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from watches.services import inbox_unread_count


def inbox(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": SimpleLazyObject(lambda: inbox_unread_count(user))}
