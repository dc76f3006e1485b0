"""Routes of the catalog app."""

from __future__ import annotations

from django.urls import path

from catalog import cache_views, views

app_name = "catalog"

urlpatterns = [
    path("", views.index, name="index"),
    # Endpoint ids contain slashes: the schema route must come before the page route.
    path("models/<path:endpoint_id>/schema/", views.model_schema, name="model_schema"),
    path("models/<path:endpoint_id>/", views.model_detail, name="model"),
    path("catalog/refresh/", cache_views.refresh_catalog, name="refresh"),
]
