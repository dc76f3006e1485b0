"""Changing one's password: Django's views, in the site's own pages (not the admin's)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_password_change_pages_are_the_sites_own(client, member):
    client.force_login(member)
    form = client.get("/accounts/password_change/").content.decode()
    assert 'class="topbar"' in form and "Change your password" in form
    assert "Django administration" not in form
    done = client.get("/accounts/password_change/done/").content.decode()
    assert 'class="topbar"' in done and "Password changed" in done
    assert "Django administration" not in done


def test_a_member_changes_their_password_and_stays_signed_in(client, member):
    client.force_login(member)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "member-pass-1234",
            "new_password1": "a-new-long-passphrase-77",
            "new_password2": "a-new-long-passphrase-77",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password_change/done/"
    assert client.get("/").status_code == 200  # still signed in
    member.refresh_from_db()
    assert member.check_password("a-new-long-passphrase-77")


def test_a_wrong_current_password_is_said_and_changes_nothing(client, member):
    client.force_login(member)
    html = client.post(
        "/accounts/password_change/",
        {
            "old_password": "not it",
            "new_password1": "a-new-long-passphrase-77",
            "new_password2": "a-new-long-passphrase-77",
        },
    ).content.decode()
    assert 'role="alert"' in html and "incorrectly" in html
    member.refresh_from_db()
    assert member.check_password("member-pass-1234")
