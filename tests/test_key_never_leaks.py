"""FAL_KEY reaches fal as `Authorization: Key …` and nowhere else: no page body, header or
cookie, no template context, no log line, no output, whether fal answers or fails.

A recognisable key is set, the live client points at a loopback upstream that records
what it receives, every page is visited healthy and under every failure mode, and
everything the dashboard produced is searched for the key.
"""

from __future__ import annotations

import logging
import secrets

import pytest
from django.test import Client

from catalog import services
from catalog.models import Shortlist
from fal.client import FalModelsClient
from fal.testing import FAILURE_MODES, FaultUpstream

pytestmark = pytest.mark.django_db
KEY = f"fal-key-LEAKCHECK-{secrets.token_hex(8)}"
HTMX = {"HX-Request": "true"}
PAGES = [
    ("member", "/", {}),
    ("member", "/?q=flux&category=text-to-image&sort=name", HTMX),
    ("member", "/models/fal-ai/flux/dev/", {}),
    ("member", "/models/fal-ai/flux/dev/schema/", HTMX),
    ("member", "/models/fal-ai/flux/dev/schema/", {}),
    ("member", "/models/nobody/nothing/", {}),
    ("member", "/compare/?endpoint_id=fal-ai/flux/dev&endpoint_id=fal-ai/flux/schnell", {}),
    ("member", "/compare/?endpoint_id=fal-ai/flux/dev&add=kling", {}),
    ("member", "/shortlists/", {}),
    ("member", "/shortlists/picks/", {}),
    ("member", "/shortlists/picks/export.json", {}),
    ("member", "/shortlists/picks/export.csv", {}),
    ("member", "/?" + "&".join(["tag=x"] * 101), {}),
    ("anonymous", "/accounts/login/", {}),
    ("staff", "/admin/", {}),
    ("staff", "/admin/catalog/shortlist/1/change/", {}),
]


@pytest.fixture(scope="module")
def upstream():
    with FaultUpstream(stall_seconds=2) as server:
        yield server


@pytest.fixture
def live(settings, upstream, member, admin_user):
    settings.FAL_API_URL = upstream.url
    settings.FAL_KEY = KEY
    settings.FAL_API_TIMEOUT = 0.3
    settings.FAL_API_MAX_RETRIES = 1
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    Shortlist.objects.create(pk=1, title="Picks", slug="picks", curator=member).entries.create(
        endpoint_id="fal-ai/flux/dev", position=1
    )
    upstream.set_mode("healthy")
    upstream.requests.clear()
    yield upstream
    upstream.set_mode("healthy")


@pytest.fixture
def clients(client, member, admin_user):
    member_client, staff_client = Client(), Client()
    member_client.force_login(member)
    staff_client.force_login(admin_user)
    return {"anonymous": client, "member": member_client, "staff": staff_client}


@pytest.fixture
def every_log_line(caplog):
    """Every record of every logger, DEBUG and up (urllib3's connection lines included)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def leaks(response) -> list[str]:
    """Where the key shows in one response: body, headers, cookies, template context."""
    found = []
    if KEY in response.content.decode(errors="replace"):
        found.append("body")
    found += [f"header {name}" for name, value in response.items() if KEY in value]
    found += [f"cookie {name}" for name, morsel in response.cookies.items() if KEY in str(morsel)]
    seen: set[int] = set()  # each template include repeats the page's context: look once
    for context in response.context or []:
        values = context.flatten() if hasattr(context, "flatten") else dict(context)
        for name, value in values.items():
            if id(value) not in seen:
                seen.add(id(value))
                if KEY in repr(value):
                    found.append(f"context {name}")
    return found


def visit_everything(clients) -> dict[str, list[str]]:
    found = {}
    for who, path, headers in PAGES:
        response = clients[who].get(path, headers=headers)
        assert response.status_code != 500, path
        found[f"{who} {path[:60]}"] = leaks(response)
    return {page: where for page, where in found.items() if where}


def test_the_key_reaches_fal_and_nothing_else(live, clients, every_log_line, capfd):
    assert visit_everything(clients) == {}
    authorizations = {r["headers"].get("Authorization") for r in live.requests}
    assert authorizations == {f"Key {KEY}"}
    assert not any(KEY in record.getMessage() for record in every_log_line.records)
    assert KEY not in every_log_line.text
    out, err = capfd.readouterr()
    assert KEY not in out and KEY not in err


@pytest.mark.parametrize("mode", FAILURE_MODES)
def test_the_key_stays_hidden_when_fal_fails(live, clients, every_log_line, capfd, mode):
    visit_everything(clients)  # warm: later pages show stale data and the failure
    live.set_mode(mode)
    services.catalog_refresh()
    assert visit_everything(clients) == {}
    assert any(r["mode"] == mode for r in live.requests)
    assert {r["headers"].get("Authorization") for r in live.requests} == {f"Key {KEY}"}
    assert not any(KEY in record.getMessage() for record in every_log_line.records)
    assert any("fal API request failed" in r.getMessage() for r in every_log_line.records) or (
        mode == "find404"
    )
    out, err = capfd.readouterr()
    assert KEY not in out and KEY not in err


def test_the_client_never_shows_its_key():
    client = FalModelsClient(base_url="http://127.0.0.1:9/v1", key=KEY)
    assert KEY not in repr(client) and KEY not in str(vars(client).get("base_url"))
