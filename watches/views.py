"""The watches pages (/watches/: the list, a new watch, one watch with its log) and the
inbox (/inbox/). Each view parses, checks who may, calls one service and renders."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.models import Shortlist
from catalog.shortlists import can_curate
from watches import services
from watches.forms import WatchForm
from watches.models import Watch
from watches.subjects import ENDPOINT_TOPICS, SEARCH, SUBJECTS, grid_query, search_words


class SignedInRequest(HttpRequest):
    """Every page here is behind sign-in (accounts.middleware): the user is a real one."""

    user: User


# The session's one-time copy of a new webhook secret (the name of a key, not a secret).
SECRET_SESSION_KEY = "watch_secret"  # noqa: S105
INBOX_PAGE = 100
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,80}")
LOG_SHOWN = 50


def _visible(request: SignedInRequest, pk: int) -> Watch:
    """The watch if the user may see it (theirs or the team's): another's is a 404."""
    return get_object_or_404(services.watches_visible(request.user), pk=pk)


def _managed(request: SignedInRequest, pk: int) -> Watch:
    watch = _visible(request, pk)
    if not services.watch_can_manage(request.user, watch):
        raise PermissionDenied("Only curators change the team's watches.")
    return watch


def _describe(watch: Watch) -> str:
    subject = SUBJECTS.get(watch.subject)
    return subject.describe(watch) if subject else watch.subject


def _show_secret_once(request: SignedInRequest, watch: Watch, secret: str) -> None:
    if secret:
        request.session[SECRET_SESSION_KEY] = {"watch": watch.pk, "secret": secret}


@require_http_methods(["GET", "POST"])
def watch_index(request: SignedInRequest) -> HttpResponse:
    """GET: the watches the user sees. POST: a new watch (the form contract: name, and url,
    a shortlist or subject=usage; optional webhook_url and format)."""
    if request.method == "POST":
        form = WatchForm(request.POST, host=request.get_host())
        if form.is_valid():
            data = form.cleaned_data
            if data["team"] and not can_curate(request.user):
                form.add_error("team", "Only curators make watches for the whole team.")
            else:
                created = services.watch_create(
                    owner=request.user, name=data["name"], subject=form.subject_key,
                    query=data["url"], shortlist=data["shortlist"], topics=data["topics"],
                    team=data["team"], email=data["email"], webhook_url=data["webhook_url"],
                    webhook_format=data["format"], digest=data["digest"],
                )  # fmt: skip
                _show_secret_once(request, created.watch, created.secret)
                messages.success(request, f"Watching “{created.watch.name}”.")
                return redirect("watches:detail", created.watch.pk)
        return render(request, "watches/new.html", _form_context(request, form), status=400)
    watches = list(services.watches_visible(request.user))
    for watch in watches:
        watch.words = _describe(watch)  # type: ignore[attr-defined]
        watch.can_manage = services.watch_can_manage(request.user, watch)  # type: ignore[attr-defined]
    return render(request, "watches/index.html", {"watches": watches})


def _form_context(request: SignedInRequest, form: WatchForm, watch: Watch | None = None) -> dict:
    watches_usage = form["subject"].value() == "usage"
    return {
        "usage_words": _describe(Watch(subject="usage")) if watches_usage else "",
        "form": form,
        "watch": watch,
        "search_topics": SEARCH.topics,
        "endpoint_topics": ENDPOINT_TOPICS,
        "can_team": can_curate(request.user),
        "mail_ready": bool(settings.EMAIL_URL),
    }


@require_GET
def watch_new(request: SignedInRequest) -> HttpResponse:
    """The new-watch form, filled from `?url=` (the grid's "Watch this search"),
    `?shortlist=<slug>` or `?subject=usage` (the models the team calls)."""
    initial: dict = {"format": "json"}
    url = request.GET.get("url", "")
    slug = request.GET.get("shortlist", "")
    usage = request.GET.get("subject") == "usage"
    if not url and not slug and not usage:  # what to watch: a search, a shortlist, our models
        shortlists = Shortlist.objects.only("title", "slug")
        return render(request, "watches/new.html", {"choose": True, "shortlists": shortlists})
    if usage:
        initial |= {"subject": "usage", "name": "Models we call"}
    elif slug:
        # Only a slug's characters reach the database (PostgreSQL refuses NUL in a query).
        if not SLUG.fullmatch(slug):
            raise Http404("No shortlist has that address.")
        shortlist = get_object_or_404(Shortlist, slug=slug)
        initial |= {"shortlist": shortlist, "name": f"Changes to {shortlist.title}"[:120]}
    elif url:
        try:
            query = services.grid_query_text(url, host=request.get_host())
        except services.ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("watches:index")
        initial |= {"url": query, "name": _search_name(query)}
    form = WatchForm(initial=initial, host=request.get_host())
    return render(request, "watches/new.html", _form_context(request, form))


def _search_name(query: str) -> str:
    watch = Watch(subject="search", query=query)
    return search_words(grid_query(watch))[:120]


@require_GET
def watch_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    watch = _visible(request, pk)
    can_manage = services.watch_can_manage(request.user, watch)
    secret = request.session.pop(SECRET_SESSION_KEY, None)
    form = None
    if can_manage:
        form = WatchForm(
            initial={"name": watch.name, "topics": watch.topics, "email": watch.email,
                     "webhook_url": watch.webhook_url, "format": watch.webhook_format,
                     "digest": watch.digest},
            host=request.get_host(), editing=True,
        )  # fmt: skip
    context = {
        "watch": watch,
        "words": _describe(watch),
        "topics": SUBJECTS[watch.subject].topics if watch.subject in SUBJECTS else (),
        "notifications": watch.notifications.select_related("change")[:50],
        "log": watch.log.all()[:LOG_SHOWN] if can_manage else None,
        "can_manage": can_manage,
        "form": form,
        "secret": secret["secret"] if secret and secret.get("watch") == watch.pk else "",
        "open_url": reverse("watches:open", args=[watch.pk]),
        "mail_ready": bool(settings.EMAIL_URL),
    }
    return render(request, "watches/detail.html", context)


@require_POST
def watch_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    watch = _managed(request, pk)
    form = WatchForm(request.POST, host=request.get_host(), editing=True)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("watches:detail", watch.pk)
    data = form.cleaned_data
    secret = services.watch_update(
        watch=watch, name=data["name"], topics=data["topics"], email=data["email"],
        webhook_url=data["webhook_url"], webhook_format=data["format"], digest=data["digest"],
    )  # fmt: skip
    _show_secret_once(request, watch, secret)
    messages.success(request, "Saved.")
    return redirect("watches:detail", watch.pk)


@require_POST
def watch_delete(request: SignedInRequest, pk: int) -> HttpResponse:
    watch = _managed(request, pk)
    name = watch.name
    watch.delete()
    messages.success(request, f"No longer watching “{name}”.")
    return redirect("watches:index")


@require_POST
def watch_resume(request: SignedInRequest, pk: int) -> HttpResponse:
    watch = _managed(request, pk)
    services.watch_resume(watch=watch)
    messages.success(request, f"“{watch.name}” is delivering again.")
    return redirect("watches:detail", watch.pk)


@require_GET
def watch_open(request: SignedInRequest, pk: int) -> HttpResponse:
    """Opens what a watch watches (the search, the shortlist) and counts it as a look."""
    watch = _visible(request, pk)
    services.watch_seen(watch=watch, user=request.user)
    if watch.subject == "search":
        query = watch.query if watch.query != "?" else ""
        return HttpResponseRedirect(reverse("catalog:index") + query)
    if watch.shortlist is not None:
        return redirect(watch.shortlist)
    if watch.subject == "usage":
        return redirect("catalog:usage")
    return redirect("watches:detail", watch.pk)


# --- The inbox ------------------------------------------------------------------------------------


@require_GET
def inbox(request: SignedInRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    items = list(services.inbox_items(request.user, unread_only=unread_only)[:INBOX_PAGE])
    return render(request, "watches/inbox.html", {"items": items, "unread_only": unread_only})


@require_GET
def inbox_open(request: SignedInRequest, pk: int) -> HttpResponse:
    """Opens a line of the inbox (the model's history, or the watch) and marks it read."""
    item = get_object_or_404(services.inbox_items(request.user), pk=pk)
    services.inbox_read(user=request.user, item_ids=[item.pk])
    if item.notification is not None:
        return redirect(reverse("catalog:model", args=[item.notification.endpoint_id]) + "#history")
    return redirect("watches:detail", item.watch_id)


@require_POST
def inbox_read(request: SignedInRequest) -> HttpResponse:
    count = services.inbox_read(user=request.user)
    messages.success(request, f"Marked {count} read." if count else "Nothing unread.")
    return redirect("watches:inbox")
