"""Two people, two sessions, the same pages: nothing one of them sees reaches the other.

What once went wrong (STYLE.md): a cache of rendered grid HTML left the user's own messages
out of its key, so one member's text showed on another member's page. These tests open the
same URLs as different users, interleaved and repeated (warm caches, memos, ETags), as full
pages and as htmx fragments, and read what each page says.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from catalog.models import Shortlist

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
RESULTS = {**HTMX, "HX-Target": "results"}
BASE = "/?category=text-to-3d&license=commercial"
PHISHING = "Your session expired, sign in at https://evil.example"
A_URL = BASE + "&sort=Your+session+expired,+sign+in+at+https://evil.example"
A_MESSAGE = f"Unknown sort “{PHISHING}”: showing fal&#x27;s order."
# Pieces of A's message that must appear nowhere in B's pages, escaped or not.
A_TEXTS = ("Your session expired", "evil.example", "Unknown sort")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def card_ids(html: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" data-endpoint-id="([^"]+)"', html)


def warnings(html: str) -> list[str]:
    return re.findall(r'<p class="banner banner-warn" role="status">([^<]*)</p>', html)


@pytest.fixture
def member_a(django_user_model):
    return signed_in(django_user_model.objects.create_user(username="ada", password="x"))


@pytest.fixture
def member_b(django_user_model):
    return signed_in(django_user_model.objects.create_user(username="bo", password="x"))


@pytest.fixture
def curator_client(curator):
    Shortlist.objects.create(title="3D picks", slug="3d-picks", curator=curator)
    return signed_in(curator)


# --- Messages about one's own input ---------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, RESULTS], ids=["full page", "htmx fragment"])
def test_one_members_message_never_reaches_another_member(member_a, member_b, headers):
    plain = member_b.get(BASE, headers=headers).content.decode()
    assert warnings(plain) == []
    shown = card_ids(plain)
    assert shown  # text-to-3d has commercial models: B's page is a real grid

    for _ in range(3):
        a_html = member_a.get(A_URL, headers=headers).content.decode()
        assert warnings(a_html) == [A_MESSAGE]  # A is told about A's own input, every time
        assert card_ids(a_html) == shown  # the bad sort falls back to the API's order

        b_html = member_b.get(BASE, headers=headers).content.decode()
        for text in A_TEXTS:
            assert text not in b_html, f"B saw A's {text!r}"
        assert warnings(b_html) == [] and card_ids(b_html) == shown

    # B still gets messages about B's own bad input on the same view, and only those.
    own = member_b.get(BASE + "&kind=robot", headers=headers).content.decode()
    assert warnings(own) == ["Unknown kind “robot”: choose inference or training."]
    assert not any(text in own for text in A_TEXTS)
    # And A's message did not stick to A's session either: A's clean view has none.
    assert warnings(member_a.get(BASE, headers=headers).content.decode()) == []


def test_messages_stay_apart_when_full_pages_and_fragments_interleave(member_a, member_b):
    for a_headers, b_headers in [({}, RESULTS), (RESULTS, {}), (HTMX, RESULTS), (RESULTS, HTMX)]:
        assert A_MESSAGE in member_a.get(A_URL, headers=a_headers).content.decode()
        b_html = member_b.get(BASE, headers=b_headers).content.decode()
        assert not any(text in b_html for text in A_TEXTS)
        assert card_ids(b_html)


def test_a_members_etag_never_serves_another_member_their_page(member_a, member_b):
    first = member_a.get(A_URL)
    assert first.status_code == 200 and A_MESSAGE in first.content.decode()
    # B sends A's validator for A's URL: B gets B's own page, never a 304 on A's.
    response = member_b.get(A_URL, headers={"If-None-Match": first["ETag"]})
    assert response.status_code == 200
    html = response.content.decode()
    assert A_MESSAGE in html  # B's own bad input, so B's own message
    assert "Sign out bo" in html and "Sign out ada" not in html


def test_a_staff_flash_message_stays_in_its_session(
    django_user_model, member_b, django_capture_on_commit_callbacks
):
    staff = signed_in(
        django_user_model.objects.create_user(username="sam", password="x", is_staff=True)
    )
    with django_capture_on_commit_callbacks(execute=True):
        staff.post("/catalog/sync/request/")
    for headers in ({}, RESULTS):
        html = member_b.get(BASE, headers=headers).content.decode()
        assert "Sync enqueued" not in html and card_ids(html)
    assert "Sync enqueued" in staff.get("/catalog/sync/").content.decode()


# --- A curator's controls ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        (BASE, {}),
        (BASE, RESULTS),
        ("/?license=commercial&page=2", {**HTMX, "HX-Target": "load-more"}),
        ("/?license=commercial&page=2", {}),
    ],
    ids=["full page", "results fragment", "load-more fragment", "full page 2"],
)
def test_a_curators_controls_never_reach_a_members_page(curator_client, member_b, url, headers):
    for _ in range(3):
        curated = curator_client.get(url, headers=headers)
        c_html = curated.content.decode()
        cards = c_html.count('<article class="card')
        assert cards and c_html.count('<details class="shortlist-menu"') == cards
        # Each control loads the lists when opened: the page itself names none of them.
        menus = re.findall(r'hx-get="(/shortlist-menu/\?endpoint_id=[^"]+)"', c_html)
        assert len(menus) == cards and "3d-picks" not in c_html
        opened = curator_client.get(menus[0].replace("&amp;", "&"), headers=HTMX)
        assert 'formaction="/shortlists/3d-picks/add/"' in opened.content.decode()
        assert member_b.get(menus[0], headers=HTMX).status_code == 403

        member = member_b.get(url, headers=headers)
        m_html = member.content.decode()
        assert m_html.count('<article class="card') == cards  # the same cards…
        assert card_ids(m_html) == card_ids(c_html)
        # …without any control or the curator's lists.
        assert "shortlist-menu" not in m_html and "3d-picks" not in m_html
        assert "3D picks" not in m_html and "/shortlists/3d-picks/add/" not in m_html


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["full page", "htmx fragment"])
def test_compare_and_model_pages_keep_controls_to_the_curator(curator_client, member_b, headers):
    flux, banana = "fal-ai/flux/schnell", "fal-ai/nano-banana-2"
    for url in (f"/compare/?endpoint_id={flux}&endpoint_id={banana}", f"/models/{flux}/"):
        for _ in range(2):
            c_html = curator_client.get(url, headers=headers).content.decode()
            assert "shortlist-menu" in c_html and "3D picks" in c_html, url
            m_html = member_b.get(url, headers=headers).content.decode()
            assert "FLUX.1 [schnell]" in m_html, url
            assert "shortlist-menu" not in m_html and "3D picks" not in m_html, url
