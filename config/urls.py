"""URL routes of the whole site."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config.health import health

urlpatterns = [
    # For load balancers and monitors: JSON, 200 or 503, no sign-in (config/health.py).
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("watches.urls")),
    path("", include("catalog.urls")),
]
