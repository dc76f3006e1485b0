"""Conditional GET that works on pages carrying CSRF tokens, and the caching headers pages need.

Django's ConditionalGetMiddleware hashes the body for its ETag, but every page here holds
CSRF tokens, which Django masks afresh on every response (a defence against BREACH), so
the ETag would never repeat and no visit could be a 304. This subclass hashes the body
with this request's CSRF tokens blanked out, plus the CSRF secret they unmask to: a 304
lets the browser keep a page whose tokens are still valid, since any masking of the same
secret is accepted. HTML responses also get `Vary: HX-Request` (an htmx request gets a
fragment, a normal one the page) and, unless a view chose otherwise,
`Cache-Control: private, no-cache`: browsers keep pages but revalidate them each time,
and shared caches never store a signed-in page.
"""

from __future__ import annotations

import hashlib
import re

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware import http

# Private to Django (unmasking is what its CSRF check does) and so absent from django-stubs.
from django.middleware.csrf import _unmask_cipher_token  # type: ignore[attr-defined]
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import quote_etag

# A masked CSRF token: 64 characters from CSRF_ALLOWED_CHARS (ASCII letters and digits),
# in double quotes as every template writes it (an attribute value, the hx-headers JSON).
# The leading quote lets the regex engine skip ahead to quotes: 10x faster on a grid page
# than looking around every position.
_TOKEN_LIKE = re.compile(rb'"([A-Za-z0-9]{64})"')


def page_etag(request: HttpRequest, content: bytes) -> str:
    """An ETag for `content` that is the same whatever masking its CSRF tokens got."""
    secret = request.META.get("CSRF_COOKIE") or ""
    if secret:

        def blank(match: re.Match[bytes]) -> bytes:
            token = match.group(1).decode("ascii")
            return b'"{csrf}"' if _unmask_cipher_token(token) == secret else match.group()

        content = _TOKEN_LIKE.sub(blank, content)
    digest = hashlib.md5(content, usedforsecurity=False)
    digest.update(secret.encode())
    return quote_etag(digest.hexdigest())


class ConditionalGetMiddleware(http.ConditionalGetMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        is_html = response.get("Content-Type", "").startswith("text/html")
        if is_html:
            patch_vary_headers(response, ("HX-Request",))
            if not response.has_header("Cache-Control"):
                patch_cache_control(response, private=True, no_cache=True)
        if (
            is_html
            and request.method == "GET"
            and response.status_code == 200
            and isinstance(response, HttpResponse)  # not streaming: the body is in .content
            and not response.has_header("ETag")
            and self.needs_etag(response)
        ):
            response["ETag"] = page_etag(request, response.content)
        return super().process_response(request, response)
