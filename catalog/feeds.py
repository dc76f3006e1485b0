"""The Atom feed of the catalog history (/changes/feed/), with the filters of /changes/."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from catalog.changes import ChangeQuery, describe, filtered_changes, parse_change_query
from catalog.models import Change

FEED_SIZE = 100


class ChangesFeed(Feed):
    feed_type = Atom1Feed
    title = "fal catalog changes"
    subtitle = "What changed in fal's model catalog, as the dashboard's syncs saw it."

    def get_object(self, request: HttpRequest) -> ChangeQuery:
        return parse_change_query(request.GET)

    def link(self, query: ChangeQuery) -> str:
        return reverse("catalog:changes") + query.url(page=1).rstrip("?")

    def items(self, query: ChangeQuery):
        return filtered_changes(query)[:FEED_SIZE]

    def item_title(self, change: Change) -> str:
        flag = " (breaking)" if change.breaking else ""
        return f"{change.endpoint_id}: {change.kind}{flag}"

    def item_description(self, change: Change) -> str:
        # Plain text: the feed generator escapes it.
        return describe(change)

    def item_link(self, change: Change) -> str:
        return reverse("catalog:model", args=[change.endpoint_id]) + "#history"

    def item_guid(self, change: Change) -> str:
        return f"{self.item_link(change)}/change-{change.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, change: Change):
        return change.seen_at

    def item_updateddate(self, change: Change):
        return change.seen_at

    def item_categories(self, change: Change):
        return [c for c in (change.kind, change.category) if c]
