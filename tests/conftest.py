"""Fixtures for every test: no internet, a fresh cache, the offline catalog, signed-in users."""

from __future__ import annotations

import os
import re

import pytest
import responses

# pytest-django's live_server + Playwright's sync API run in one thread with an event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LOOPBACK = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?/")
UNMATCHED = "Connection refused by Responses"


@pytest.fixture(autouse=True)
def no_internet():
    """Every `requests` call is mocked; loopback servers pass; anything else fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(LOOPBACK)
        yield mock
        leaked = [c.request.url for c in mock.calls if UNMATCHED in str(c.response)]
        assert not leaked, f"unexpected network calls: {leaked}"


@pytest.fixture(autouse=True)
def offline_settings(settings, tmp_path):
    """The offline snapshot, no key, and a cache of this test's own."""
    settings.FAL_API_URL = ""
    settings.FAL_KEY = ""
    settings.FAL_API_TIMEOUT = 5
    settings.FAL_API_MAX_RETRIES = 2
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        }
    }
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    return settings


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user(username="mia", password="member-pass-1234")


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client
