"""Routes of the catalog app."""

from __future__ import annotations

from django.urls import path

from catalog import compare_views, shortlist_views, views, views_history
from catalog.feeds import ChangesFeed

app_name = "catalog"

urlpatterns = [
    path("", views.index, name="index"),
    # Endpoint ids contain slashes: the schema route must come before the page route.
    path("models/<path:endpoint_id>/schema/", views.model_schema, name="model_schema"),
    path("models/<path:endpoint_id>/", views.model_detail, name="model"),
    path("compare/", compare_views.compare, name="compare"),
    path("shortlists/", shortlist_views.shortlist_index, name="shortlists"),
    path("shortlists/<slug:slug>/", shortlist_views.shortlist_detail, name="shortlist"),
    path(
        "shortlists/<slug:slug>/export.<str:fmt>",
        shortlist_views.shortlist_export,
        name="shortlist_export",
    ),
    path("shortlists/<slug:slug>/add/", shortlist_views.shortlist_entry_add, name="shortlist_add"),
    path(
        "shortlists/<slug:slug>/remove/",
        shortlist_views.shortlist_entry_remove,
        name="shortlist_remove",
    ),
    path(
        "shortlists/<slug:slug>/note/", shortlist_views.shortlist_entry_note, name="shortlist_note"
    ),
    path(
        "shortlists/<slug:slug>/replace/",
        views_history.shortlist_replace,
        name="shortlist_replace",
    ),
    path("changes/", views_history.changes, name="changes"),
    path("changes/feed/", ChangesFeed(), name="changes_feed"),
    path("catalog/sync/", views.sync_status, name="sync"),
    path("catalog/sync/request/", views.sync_request, name="sync_request"),
]
