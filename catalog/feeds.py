"""The Atom feed of the catalog history (/changes/feed/), with the filters of /changes/, and
the per-member subscription link a feed reader (which has no session) uses.

The link carries a token made with django.core.signing under a salt of the feed's own
(a password-reset link or a session cookie cannot stand in for it, nor it for them). It
binds the member's id and a digest of their password hash, as Django's password-reset
tokens do: a password change revokes every link, and an inactive member's link is
refused. A digest and not a piece of the hash, since a signed value is readable by whoever
holds the URL. No expiry: a feed reader polls for months; revoking is a password change.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.contrib.syndication.views import Feed
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.feedgenerator import Atom1Feed

from catalog.changes import (
    ChangeQuery,
    Fold,
    change_lines,
    describe,
    filtered_changes,
    folded_lines,
    parse_change_query,
)
from catalog.models import Change

FEED_SIZE = 100
FEED_SALT = "catalog.changes-feed"
MAX_TOKEN = 300  # far above a real token's length; anything longer is not one
REFUSED = (
    "This feed needs a sign-in or a valid subscription link: copy “Subscribe (Atom)” "
    "from /changes/ again (a password change revokes the old one).\n"
)


def _password_digest(user) -> str:
    return salted_hmac(f"{FEED_SALT}.password", user.password, algorithm="sha256").hexdigest()[:20]


def feed_token(user) -> str:
    """The token of `user`'s subscription link."""
    return signing.dumps({"u": user.pk, "p": _password_digest(user)}, salt=FEED_SALT)


def feed_user(token: str):
    """The active member a token belongs to, or None (tampered, another salt, revoked)."""
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        data = signing.loads(token, salt=FEED_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = get_user_model().objects.filter(pk=data["u"], is_active=True).first()
    if user is None or not constant_time_compare(str(data.get("p")), _password_digest(user)):
        return None
    return user


def change_uri(change: Change | Fold) -> str:
    """`urn:uuid:…` named by what the change is (a host-free name: the site may move)."""
    if isinstance(change, Fold):
        name = f"fal-catalog-fold:{change.sync_id}:{change.field}:{change.seen_at.isoformat()}"
    else:
        name = f"fal-catalog-change:{change.pk}:{change.endpoint_id}:{change.seen_at.isoformat()}"
    return uuid.uuid5(uuid.NAMESPACE_URL, name).urn


def feed_url(user, query: ChangeQuery) -> str:
    """The subscription link of `user` to the feed of `query`'s filters."""
    params = [*query.params(page=1), ("token", feed_token(user))]
    return f"{reverse('catalog:changes_feed')}?{urlencode(params)}"


class ChangesFeed(Feed):
    feed_type = Atom1Feed
    title = "fal catalog changes"
    subtitle = "What changed in fal's model catalog, as the dashboard's syncs saw it."

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Exempt from the sign-in middleware (catalog.urls): a session or a token lets in.
        if not request.user.is_authenticated:
            token = request.GET.get("token", "")
            if not token:  # a person without a session: to sign-in, like every other page
                return redirect_to_login(request.get_full_path())
            if feed_user(token) is None:
                return HttpResponseForbidden(REFUSED, content_type="text/plain; charset=utf-8")
        response = super().__call__(request, *args, **kwargs)
        # One member's feed (its URL holds their token): no shared cache may keep it.
        patch_cache_control(response, private=True, no_cache=True)
        return response

    def get_object(self, request: HttpRequest) -> ChangeQuery:
        return parse_change_query(request.GET)

    def link(self, query: ChangeQuery) -> str:
        return reverse("catalog:changes") + query.url(page=1).rstrip("?")

    def items(self, query: ChangeQuery) -> list[Change | Fold]:
        found = filtered_changes(query)
        return folded_lines(list(change_lines(found)[:FEED_SIZE]), found)

    def item_title(self, change: Change | Fold) -> str:
        if isinstance(change, Fold):
            return change.text
        flag = " (breaking)" if change.breaking else ""
        return f"{change.endpoint_id}: {change.kind}{flag}"

    def item_description(self, change: Change | Fold) -> str:
        # Plain text: the feed generator escapes it.
        if isinstance(change, Fold):
            return f"{change.text}: {', '.join(change.endpoint_ids)}."
        return describe(change)

    def item_link(self, change: Change | Fold) -> str:
        if isinstance(change, Fold):
            day = change.seen_at.date()
            return (
                reverse("catalog:changes")
                + ChangeQuery(kind=change.kind, since=day, until=day).url()
            )
        return reverse("catalog:model", args=[change.endpoint_id]) + "#history"

    def item_guid(self, change: Change | Fold) -> str:
        """An absolute URI, as Atom's <id> must be, that never changes for this change."""
        return change_uri(change)

    item_guid_is_permalink = False

    def item_pubdate(self, change: Change | Fold):
        return change.seen_at

    def item_updateddate(self, change: Change | Fold):
        return change.seen_at

    def item_categories(self, change: Change | Fold):
        category = "" if isinstance(change, Fold) else change.category
        return [c for c in (change.kind, category) if c]
