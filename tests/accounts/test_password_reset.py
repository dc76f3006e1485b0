"""Password reset: offered only when mail is configured, in the site's look, limited per address."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import RequestFactory

pytestmark = pytest.mark.django_db
RESET_PAGES = [
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/MQ/set-password/",
    "/accounts/reset/done/",
]


@pytest.fixture
def mail_on(settings):
    settings.PASSWORD_RESET_ENABLED = True
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    return settings


@pytest.fixture
def member_with_mail(member):
    member.email = "mia@example.com"
    member.save()
    return member


def ask_for_reset(client, email: str = "mia@example.com", address: str = "10.0.0.1"):
    return client.post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=address)


@pytest.mark.parametrize("path", RESET_PAGES)
def test_without_mail_the_reset_pages_do_not_exist(client, settings, path):
    settings.PASSWORD_RESET_ENABLED = False
    assert client.get(path).status_code == 404


def test_without_mail_the_sign_in_page_says_to_ask_an_admin(client, settings):
    settings.PASSWORD_RESET_ENABLED = False
    html = client.get("/accounts/login/").content.decode()
    assert "Ask an admin to reset your password" in html
    assert "/accounts/password_reset/" not in html


def test_with_mail_the_sign_in_page_links_to_the_reset(client, mail_on):
    html = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/"' in html
    assert "Ask an admin to reset" not in html


def test_the_reset_pages_have_the_sites_look(client, mail_on):
    html = client.get("/accounts/password_reset/").content.decode()
    assert '<header class="topbar">' in html
    assert "Django" not in html


def test_a_reset_mails_a_link_that_sets_a_new_password(client, mail_on, member_with_mail):
    response = ask_for_reset(client)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"
    assert "Check your mail" in client.get(response["Location"]).content.decode()
    (message,) = mail.outbox
    assert message.to == ["mia@example.com"]
    link = re.search(r"http://testserver(/accounts/reset/\S+)", message.body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-new-long-secret-77", "new_password2": "a-new-long-secret-77"},
    )
    assert done.status_code == 302
    member_with_mail.refresh_from_db()
    assert member_with_mail.check_password("a-new-long-secret-77")


def test_reset_requests_are_limited_per_address(client, mail_on, member_with_mail):
    for _ in range(5):
        assert ask_for_reset(client).status_code == 302
    refused = ask_for_reset(client)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3600"  # the limit is per hour
    page = refused.content.decode()
    assert "Too many reset requests" in page and "At most 5 an hour" in page
    assert len(mail.outbox) == 5
    assert ask_for_reset(client, address="10.0.0.2").status_code == 302


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://mailer%40team:p%3Ass@mail.example.com:587",
            ("mail.example.com", 587, True, False, "mailer@team", "p:ss"),
        ),
        ("smtps://u:p@mail.example.com", ("mail.example.com", 465, False, True, "u", "p")),
        ("smtp://relay:25", ("relay", 25, False, False, "", "")),
    ],
)
def test_email_url_is_read_into_djangos_mail_settings(url, expected):
    from tests.config.test_security import production_env, run_python

    code = (
        "import django; django.setup(); from django.conf import settings as s\n"
        "o = s.MAILERS['default']['OPTIONS']\n"
        "print(s.PASSWORD_RESET_ENABLED, *(o[k] for k in"
        " ('host', 'port', 'use_tls', 'use_ssl', 'username', 'password')), sep='|')"
    )
    result = run_python(code, production_env(EMAIL_URL=url))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == ["True", *map(str, expected)]


def _reset_counts(n: int) -> list[bool]:
    """`n` reset requests from one address at once, each in its own thread."""
    from accounts.throttle import reset_request_allowed

    barrier = threading.Barrier(n)
    request = RequestFactory().post("/accounts/password_reset/", REMOTE_ADDR="10.0.0.9")

    def one(_):
        barrier.wait()
        return reset_request_allowed(request)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_parallel_reset_requests_are_each_counted_on_the_file_cache():
    # The file cache's incr is a read and a write: parallel ones lost counts.
    for _ in range(3):
        allowed = _reset_counts(24)
        assert allowed.count(True) == 5
        cache.clear()


def test_the_reset_window_lasts_the_hour_not_the_caches_default_timeout(monkeypatch):
    from accounts.throttle import RESET_LIMIT, reset_request_allowed

    request = RequestFactory().post("/accounts/password_reset/", REMOTE_ADDR="10.0.0.8")
    start = time.time()
    for _ in range(RESET_LIMIT):
        assert reset_request_allowed(request)
    # Ten minutes on: past the cache's default 300 s (which incr used to reset the entry to).
    monkeypatch.setattr(time, "time", lambda: start + 600)
    assert not reset_request_allowed(request)
    monkeypatch.setattr(time, "time", lambda: start + 3601)
    assert reset_request_allowed(request)
