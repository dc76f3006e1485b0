"""The top bar's inbox count: read only when a template asks for `inbox.unread` (a page
without our top bar, such as the admin's, costs no query), then one small indexed count."""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest

from watches.services import inbox_unread_count


class Inbox:
    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def unread(self) -> int:
        return inbox_unread_count(self.user)


def inbox(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox": Inbox(user)}
