"""Account pages: the sign-in page, and password reset when (only when) mail can be sent.

Without EMAIL_URL the reset pages are 404s and the sign-in page says to ask an admin:
offering a reset that cannot send mail would say "sent" and send nothing. With mail,
reset requests are limited per address (accounts/throttle.py), since each one sends a
mail to an address of the requester's choosing among the accounts.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.forms import SignInForm
from accounts.throttle import RESET_LIMIT, reset_request_allowed


class SignInView(auth_views.LoginView):
    authentication_form = SignInForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["password_reset_enabled"] = settings.PASSWORD_RESET_ENABLED
        return context


@method_decorator(login_not_required, name="dispatch")  # as_view reads it off our dispatch
class _OnlyWithMail:
    def dispatch(self, request, *args, **kwargs):
        if not settings.PASSWORD_RESET_ENABLED:
            raise Http404("Password reset is off: no mail server is configured (EMAIL_URL).")
        return super().dispatch(request, *args, **kwargs)


class PasswordResetView(_OnlyWithMail, auth_views.PasswordResetView):
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def post(self, request, *args, **kwargs) -> HttpResponse:
        if not reset_request_allowed(request):
            context = {"limit": RESET_LIMIT}
            response = render(request, "registration/password_reset_limited.html", context)
            response.status_code = 429
            response["Retry-After"] = "3600"
            return response
        return super().post(request, *args, **kwargs)


class PasswordResetDoneView(_OnlyWithMail, auth_views.PasswordResetDoneView):
    pass


class PasswordResetConfirmView(_OnlyWithMail, auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(_OnlyWithMail, auth_views.PasswordResetCompleteView):
    pass


# A stale form: signed out and in again in another tab (a new CSRF token), or a page left
# open past its session. Retrying cannot help; reloading the page can.
SESSION_CHANGED = "Your session changed since this page was loaded. Reload the page and try again."


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the site's page (whatever DEBUG says), and for htmx a header that
    static/catalog/app.js turns into a "reload the page" banner instead of "try again"."""
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("catalog:index")
    response = render(
        request, "403_csrf.html", {"message": SESSION_CHANGED, "back": back}, status=403
    )
    response["X-Session-Changed"] = "1"
    return response
