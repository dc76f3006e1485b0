"""Who may do what: sign-in on every URL, members read, curators change, CSRF on every POST."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RoutePattern

from catalog.models import Shortlist, ShortlistEntry

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

FLUX = "fal-ai/flux/schnell"
BANANA = "fal-ai/nano-banana-2"

# A sample value for every URL parameter name in the project. A new route with a new
# parameter fails test_every_url_pattern_is_covered until it gets a sample here.
SAMPLES = {
    "slug": "product-shots",
    "endpoint_id": FLUX,
    "fmt": "json",
    "object_id": "1",
    "id": "1",
    "pk": "1",
    "app_label": "catalog",
    "content_type_id": "1",
    "url": "anything/",
    "uidb64": "MQ",
    "token": "set-password",
}
# Views that must answer without sign-in: signing in, recovering a password, and the health
# check of load balancers and monitors (which shows no catalog data).
PUBLIC = {
    "health",  # for load balancers: says only ok/fail and ages (tests/config/test_health.py)
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "admin:login",
    "admin:logout",
}


def _leaves(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or ""
            yield from _leaves(
                pattern.url_patterns,
                prefix + str(pattern.pattern),
                f"{namespace}{ns}:" if ns else namespace,
            )
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace + (pattern.name or ""), pattern


def _sample_path(route: str) -> str:
    """A concrete path for a route made of path() and re_path() pieces."""

    def value(name: str) -> str:
        if name not in SAMPLES:
            raise AssertionError(f"Add a sample for URL parameter {name!r} to SAMPLES")
        return SAMPLES[name]

    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value(m.group(1)), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value(m.group(1)), path)
    return "/" + path.replace("^", "").replace("$", "")


URLS = [
    (name or route, _sample_path(route), pattern)
    for route, name, pattern in _leaves(get_resolver().url_patterns)
]


def test_every_url_pattern_is_covered():
    names = {name for name, _, _ in URLS}
    assert {"catalog:shortlists", "catalog:shortlist", "catalog:shortlist_export"} <= names
    assert {"catalog:shortlist_add", "catalog:shortlist_remove", "catalog:shortlist_note"} <= names
    for name, path, pattern in URLS:
        assert resolve(path).func == pattern.callback, f"{name}: sample {path} resolves elsewhere"
        assert isinstance(pattern.pattern, RoutePattern) or name.startswith("admin"), name


@pytest.mark.parametrize(("name", "path"), [(n, p) for n, p, _ in URLS if n not in PUBLIC])
def test_anonymous_visitor_is_sent_to_sign_in(client, name, path):
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 302, f"{name} {path}: {response.status_code}"
        # The admin's own views send visitors to its sign-in page, which is just as good.
        sign_in = (
            ("/accounts/login/", "/admin/login/")
            if name.startswith("admin")
            else ("/accounts/login/",)
        )
        assert response["Location"] in [f"{url}?next={quote(path)}" for url in sign_in], name
    assert not Shortlist.objects.exists()


def test_public_views_are_only_sign_in_password_recovery_and_health(client, settings):
    for path in ("/accounts/login/", "/admin/login/"):
        response = client.get(path)
        assert response.status_code == 200
        assert 'name="username"' in response.content.decode()
        assert 'name="password"' in response.content.decode()
    # Password recovery exists only when mail is configured (tests/config/test_password_reset.py).
    settings.PASSWORD_RESET_ENABLED = True
    reset = client.get("/accounts/password_reset/")
    assert reset.status_code == 200 and 'name="email"' in reset.content.decode()
    health = client.get("/health/")
    assert health["Content-Type"].startswith("application/json")
    assert "endpoint_id" not in health.content.decode()


# --- Members read, curators change ----------------------------------------------------------


@pytest.fixture
def product_shots(curator):
    shortlist = Shortlist.objects.create(title="Product shots", slug="product-shots")
    shortlist.entries.create(endpoint_id=FLUX, note="Fast drafts", position=1)
    return shortlist


CHANGES = [
    ("/shortlists/", {"title": "Sneaky"}),
    ("/shortlists/product-shots/add/", {"endpoint_id": BANANA}),
    ("/shortlists/product-shots/remove/", {"endpoint_id": FLUX}),
    ("/shortlists/product-shots/note/", {"endpoint_id": FLUX, "note": "mine now"}),
    ("/shortlists/product-shots/edit/", {"title": "Mine now"}),
    ("/shortlists/product-shots/move/", {"endpoint_id": FLUX, "direction": "down"}),
    ("/shortlists/product-shots/delete/", {"confirm": "yes"}),
]


def _state():
    return (
        list(Shortlist.objects.values_list("slug", "title")),
        list(ShortlistEntry.objects.values_list("endpoint_id", "note")),
        LogEntry.objects.count(),
    )


def test_member_reads_shortlists(member_client, product_shots):
    for path, text in (
        ("/shortlists/", '<a href="/shortlists/product-shots/">Product shots</a>'),
        ("/shortlists/product-shots/", '<p class="card-note">Fast drafts</p>'),
        ("/shortlists/product-shots/export.json", f'"endpoint_id": "{FLUX}"'),
        ("/shortlists/product-shots/export.csv", f"{FLUX},FLUX.1 [schnell]"),
    ):
        response = member_client.get(path)
        assert response.status_code == 200, path
        assert text in response.content.decode(), path
    page = member_client.get("/shortlists/product-shots/").content.decode()
    assert "Edit note" not in page and "entry-remove" not in page and "shortlist-menu" not in page


@pytest.mark.parametrize(("path", "data"), CHANGES)
@pytest.mark.parametrize("htmx", [False, True])
def test_member_cannot_change_anything_even_with_a_crafted_post(
    member_client, product_shots, path, data, htmx
):
    before = _state()
    headers = {"HX-Request": "true"} if htmx else {}
    response = member_client.post(path, data, headers=headers)
    assert response.status_code == 403
    assert _state() == before


@pytest.mark.parametrize(("path", "data"), CHANGES)
def test_curator_can_make_each_change(client, curator, product_shots, path, data):
    client.force_login(curator)
    before = _state()
    response = client.post(path, data)
    assert response.status_code == 302
    assert _state() != before


def test_changes_are_post_only(client, curator, product_shots):
    client.force_login(curator)
    for path, data in CHANGES[1:]:
        # The edit page is a page: a GET shows the form and changes nothing.
        expected = 200 if path.endswith("/edit/") else 405
        assert client.get(path, data).status_code == expected, path
    assert ShortlistEntry.objects.get().note == "Fast drafts"
    assert Shortlist.objects.get().title == "Product shots"


# --- CSRF --------------------------------------------------------------------------------------


def test_csrf_is_enforced_on_changes(curator, product_shots):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(curator)
    before = _state()
    for path, data in CHANGES:
        assert browser.post(path, data).status_code == 403, path
        assert browser.post(path, data, headers={"HX-Request": "true"}).status_code == 403
    assert _state() == before
    page = browser.get("/shortlists/product-shots/")
    token = page.cookies["csrftoken"].value
    # htmx sends the token from <body hx-headers>; forms send it as a field.
    response = browser.post(
        "/shortlists/product-shots/add/",
        {"endpoint_id": BANANA},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert response.status_code == 200
    token_field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    response = browser.post(
        "/shortlists/product-shots/note/",
        {"endpoint_id": FLUX, "note": "Checked", "csrfmiddlewaretoken": token_field.group(1)},
    )
    assert response.status_code == 302
    assert ShortlistEntry.objects.get(endpoint_id=FLUX).note == "Checked"


# --- Signing in and out --------------------------------------------------------------------------


def test_sign_in_lands_on_the_shared_link_that_was_opened(client, member, product_shots):
    shared = "/shortlists/product-shots/?from=chat"
    response = client.get(shared)
    assert response["Location"] == f"/accounts/login/?next={quote(shared)}"
    response = client.post(
        "/accounts/login/",
        {"username": "mia", "password": "member-pass-1234", "next": shared},
    )
    assert response.status_code == 302 and response["Location"] == shared
    landed = client.get(shared)
    assert landed.status_code == 200 and "Product shots" in landed.content.decode()


def test_sign_in_ignores_a_next_on_another_site(client, member):
    response = client.post(
        "/accounts/login/",
        {"username": "mia", "password": "member-pass-1234", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_sign_out_works(member_client):
    assert "Sign out mia" in member_client.get("/shortlists/").content.decode()
    response = member_client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert member_client.get("/shortlists/")["Location"] == "/accounts/login/?next=/shortlists/"
