"""Routes of the watches app: /watches/ and /inbox/."""

from __future__ import annotations

from django.urls import path

from watches import views

app_name = "watches"

urlpatterns = [
    path("watches/", views.watch_index, name="index"),
    path("watches/new/", views.watch_new, name="new"),
    path("watches/<int:pk>/", views.watch_detail, name="detail"),
    path("watches/<int:pk>/edit/", views.watch_edit, name="edit"),
    path("watches/<int:pk>/delete/", views.watch_delete, name="delete"),
    path("watches/<int:pk>/resume/", views.watch_resume, name="resume"),
    path("watches/<int:pk>/open/", views.watch_open, name="open"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.inbox_open, name="inbox_open"),
    path("inbox/read/", views.inbox_read, name="inbox_read"),
]
