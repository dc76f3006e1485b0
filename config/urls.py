"""URL routes of the whole site."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import urls as auth_urls
from django.urls import include, path

from catalog.throttle import ThrottledAdminAuthenticationForm, ThrottledLoginView

# Both sign-in pages refuse a username after repeated failures (see catalog/throttle.py).
admin.site.login_form = ThrottledAdminAuthenticationForm
account_urls = [
    path("login/", ThrottledLoginView.as_view(), name="login"),
    *(pattern for pattern in auth_urls.urlpatterns if pattern.name != "login"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include(account_urls)),
    path("", include("catalog.urls")),
]
