"""Sign-in required everywhere, and an htmx request without a session sent to sign-in whole.

Django's LoginRequiredMiddleware answers a request without a session with a 302 to the
sign-in page. htmx follows that redirect inside its XMLHttpRequest and swaps the sign-in
page into the results area. For htmx requests we answer with `HX-Redirect` instead: htmx
then loads the sign-in page as a page, with `next` what the click asked for when that is
a page, else the page the user was on (see `htmx_page_path`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect


def htmx_page_path(request) -> str:
    """Where sign-in returns an htmx request: the URL it asked for when that is the page
    itself in another state (a filter clicked on the grid, compare or changes), else the
    page it came from (a fragment, such as a menu, is no page to land on), if that page is
    on this site."""
    asked = request.get_full_path()
    current = request.headers.get("HX-Current-URL", "")
    if current and url_has_allowed_host_and_scheme(
        current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(current)
        if parts.netloc and parts.path.startswith("/"):
            if request.method == "GET" and parts.path == request.path:
                return asked
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return asked


class SignInRequiredMiddleware(LoginRequiredMiddleware):
    def handle_no_permission(self, request, view_func):
        if request.headers.get("HX-Request") != "true":
            return super().handle_no_permission(request, view_func)
        login = redirect_to_login(
            htmx_page_path(request),
            resolve_url(self.get_login_url(view_func)),
            self.get_redirect_field_name(view_func),
        )
        return HttpResponseClientRedirect(login["Location"])
