"""Sign-in throttling: five failures for one username from one address lock it for 15 minutes,
on the site's sign-in page and the admin's; nothing about the account is given away."""

from __future__ import annotations

import pytest

from catalog import throttle

pytestmark = pytest.mark.django_db
PASSWORD = "member-pass-1234"


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, username: str, password: str, *, address: str = "10.0.0.1", admin=False):
    url = "/admin/login/" if admin else "/accounts/login/"
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def locked(response) -> bool:
    """A 429 that says why, instead of the sign-in form's usual error."""
    return (
        response.status_code == 429
        and "Too many failed sign-in attempts" in response.content.decode()
    )


def succeeded(client, response) -> bool:
    return response.status_code == 302 and signed_in(client)


def fail(client, username: str, times: int, **kwargs) -> None:
    for _ in range(times):
        response = sign_in(client, username, "wrong password", **kwargs)
        assert response.status_code == 200
        assert "correct username and password" in response.content.decode()


def test_five_failures_lock_the_username_even_with_the_right_password(client, member):
    fail(client, "mia", 5)
    response = sign_in(client, "mia", PASSWORD)
    html = response.content.decode()
    assert response.status_code == 429
    assert response["Retry-After"] == str(throttle.WINDOW_SECONDS)
    assert "Too many failed sign-in attempts for this account. Try again in 15 minutes." in html
    assert not signed_in(client)


def test_an_unknown_username_is_locked_the_same_way(client, member):
    fail(client, "nobody-at-all", 5)
    assert locked(sign_in(client, "nobody-at-all", "whatever"))


def test_the_lock_is_per_username_and_address(client, member, django_user_model):
    django_user_model.objects.create_user(username="leo", password=PASSWORD)
    fail(client, "mia", 5)
    assert locked(sign_in(client, "MIA ", PASSWORD))  # same username, any case
    assert succeeded(client, sign_in(client, "leo", PASSWORD))
    client.logout()
    assert succeeded(client, sign_in(client, "mia", PASSWORD, address="10.0.0.2"))


def test_a_success_starts_the_count_again(client, member):
    fail(client, "mia", 4)
    assert succeeded(client, sign_in(client, "mia", PASSWORD))
    client.logout()
    fail(client, "mia", 4)
    assert succeeded(client, sign_in(client, "mia", PASSWORD))


def test_the_lock_ends_after_the_window(client, member, monkeypatch):
    fail(client, "mia", 5)
    later = throttle.time.time() + throttle.WINDOW_SECONDS + 1
    monkeypatch.setattr(throttle.time, "time", lambda: later)
    assert succeeded(client, sign_in(client, "mia", PASSWORD))


def test_the_admin_sign_in_is_throttled_too(client, admin_user):
    fail(client, "admin", 5, admin=True)
    response = sign_in(client, "admin", "password", admin=True)
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not signed_in(client)


def test_failures_on_one_page_count_on_the_other(client, admin_user):
    fail(client, "admin", 3, admin=True)
    fail(client, "admin", 2)
    assert locked(sign_in(client, "admin", "password"))
    assert not signed_in(client)
