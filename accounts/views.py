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
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator

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
