"""Routes of the catalog app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from catalog.feeds import ChangesFeed
from catalog.views import changes, compare, grid, model_pages, prices, shortlists, sync, usage

app_name = "catalog"

urlpatterns = [
    path("", grid.index, name="index"),
    # A model's fragments live outside models/<id>/: endpoint ids contain slashes, so
    # models/<id>/schema/ would also be the page of a model whose id ends in /schema.
    path("schema/<path:endpoint_id>/", model_pages.model_schema, name="model_schema"),
    path("estimate/<path:endpoint_id>/", prices.model_estimate, name="model_estimate"),
    path("models/<path:endpoint_id>/", model_pages.model_detail, name="model"),
    path("compare/", compare.compare, name="compare"),
    path("shortlists/", shortlists.shortlist_index, name="shortlists"),
    # Outside shortlists/<slug>/ so that no list's slug can shadow it.
    path("shortlist-menu/", shortlists.shortlist_menu, name="shortlist_menu"),
    path("shortlists/<slug:slug>/", shortlists.shortlist_detail, name="shortlist"),
    path(
        "shortlists/<slug:slug>/export.<str:fmt>",
        shortlists.shortlist_export,
        name="shortlist_export",
    ),
    path("shortlists/<slug:slug>/add/", shortlists.shortlist_entry_add, name="shortlist_add"),
    path(
        "shortlists/<slug:slug>/remove/",
        shortlists.shortlist_entry_remove,
        name="shortlist_remove",
    ),
    path("shortlists/<slug:slug>/note/", shortlists.shortlist_entry_note, name="shortlist_note"),
    path("shortlists/<slug:slug>/move/", shortlists.shortlist_entry_move, name="shortlist_move"),
    path("shortlists/<slug:slug>/edit/", shortlists.shortlist_edit, name="shortlist_edit"),
    path("shortlists/<slug:slug>/delete/", shortlists.shortlist_delete, name="shortlist_delete"),
    path("shortlists/<slug:slug>/replace/", shortlists.shortlist_replace, name="shortlist_replace"),
    path("changes/", changes.changes, name="changes"),
    path("usage/", usage.usage_page, name="usage"),
    path("usage.csv", usage.usage_page, name="usage_csv"),
    # A feed reader has no session: the feed checks a session or a subscription token itself.
    path("changes/feed/", login_not_required(ChangesFeed()), name="changes_feed"),
    path("catalog/sync/", sync.sync_status, name="sync"),
    path("catalog/sync/request/", sync.sync_request, name="sync_request"),
]
