"""FAL_KEY and FAL_ADMIN_KEY reach fal as `Authorization: Key …` and nowhere else: no page
body, header or cookie, no template context, no log line, no command output, no stored row,
whether fal answers or fails. The admin key goes to the usage API alone.

A recognisable key is set and the live client points at a loopback upstream that records
what it receives. The two things that ask fal run — a sync (`manage.py catalog_sync`) and
find-mode lookups of endpoint ids the index lacks (model page, compare, shortlist add,
the admin's check) — and every page is visited, healthy and under every failure mode;
then everything the dashboard produced is searched for the key.
"""

from __future__ import annotations

import io
import logging
import secrets

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from catalog.models import CatalogEntry, Shortlist, SyncRun
from catalog.sync import bump_index_version
from fal.client import FalModelsClient
from fal_emulator.testing import FAILURE_MODES, WAITING_MODES, FaultUpstream
from usage.models import UsageSyncRun

pytestmark = pytest.mark.django_db
KEY = f"fal-key-LEAKCHECK-{secrets.token_hex(8)}"
# The emulator takes a key that starts with "admin" for an admin key.
ADMIN_KEY = f"admin-key-LEAKCHECK-{secrets.token_hex(8)}"
KEYS = (KEY, ADMIN_KEY)
HTMX = {"HX-Request": "true"}
UNKNOWN = "nobody/nothing"  # fal does not know it either
UNINDEXED = "fal-ai/flux/schnell"  # fal knows it; taken out of the index for each test
PAGES = [
    ("member", "/", {}),
    ("member", "/?q=flux&category=text-to-image&sort=name", HTMX),
    ("member", "/models/fal-ai/flux/dev/", {}),
    ("member", "/schema/fal-ai/flux/dev/", HTMX),
    ("member", "/schema/fal-ai/flux/dev/", {}),
    ("member", f"/models/{UNKNOWN}/", {}),
    ("member", f"/models/{UNINDEXED}/", {}),
    ("member", f"/compare/?endpoint_id=fal-ai/flux/dev&endpoint_id={UNKNOWN}", {}),
    ("member", f"/compare/?endpoint_id=fal-ai/flux/dev&endpoint_id={UNINDEXED}", HTMX),
    ("member", "/compare/?endpoint_id=fal-ai/flux/dev&add=kling", {}),
    ("member", "/shortlists/", {}),
    ("member", "/shortlists/picks/", {}),
    ("member", "/shortlists/picks/export.json", {}),
    ("member", "/shortlists/picks/export.csv", {}),
    ("member", "/usage/", {}),
    ("member", "/usage.csv", {}),
    ("member", "/?" + "&".join(["tag=x"] * 101), {}),
    ("anonymous", "/accounts/login/", {}),
    ("staff", "/", {}),
    ("staff", "/catalog/sync/", {}),
    ("staff", "/catalog/sync/", HTMX),
    ("staff", "/admin/", {}),
    ("staff", "/admin/catalog/shortlist/1/change/", {}),
    ("staff", "/admin/usage/usagesyncrun/", {}),
]


@pytest.fixture(scope="module")
def upstream():
    with FaultUpstream(stall_seconds=2) as server:
        yield server


@pytest.fixture
def live(settings, upstream, member):
    settings.FAL_API_URL = upstream.url
    settings.FAL_KEY = KEY
    settings.FAL_ADMIN_KEY = ADMIN_KEY
    settings.FAL_API_TIMEOUT = 0.3
    settings.FAL_API_MAX_RETRIES = 1
    settings.CATALOG_SYNC_MAX_RETRIES = 1
    settings.CATALOG_SYNC_MAX_RPS = 0
    Shortlist.objects.create(pk=1, title="Picks", slug="picks", curator=member).entries.create(
        endpoint_id="fal-ai/flux/dev", position=1
    )
    # An endpoint fal knows but the index lacks: its model page asks find mode.
    CatalogEntry.objects.filter(endpoint_id=UNINDEXED).delete()
    bump_index_version()
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
    """Where a key shows in one response: body, headers, cookies, template context."""
    found = []
    if any(key in response.content.decode(errors="replace") for key in KEYS):
        found.append("body")
    found += [f"header {name}" for name, value in response.items() if holds_a_key(value)]
    found += [
        f"cookie {name}" for name, morsel in response.cookies.items() if holds_a_key(str(morsel))
    ]
    seen: set[int] = set()  # each template include repeats the page's context: look once
    for context in response.context or []:
        values = context.flatten() if hasattr(context, "flatten") else dict(context)
        for name, value in values.items():
            if id(value) not in seen:
                seen.add(id(value))
                if holds_a_key(repr(value)):
                    found.append(f"context {name}")
    return found


def holds_a_key(text: str) -> bool:
    return any(key in text for key in KEYS)


def admin_form(endpoint_id: str, member) -> dict[str, str]:
    """The admin's shortlist change form, with one new entry (the admin checks it with fal)."""
    entry = Shortlist.objects.get(pk=1).entries.get()
    return {
        "title": "Picks",
        "slug": "picks",
        "description": "",
        "curator": str(member.pk),
        "entries-TOTAL_FORMS": "2",
        "entries-INITIAL_FORMS": "1",
        "entries-MIN_NUM_FORMS": "0",
        "entries-MAX_NUM_FORMS": "1000",
        "entries-0-id": str(entry.pk),
        "entries-0-shortlist": "1",
        "entries-0-position": "1",
        "entries-0-endpoint_id": entry.endpoint_id,
        "entries-0-note": "",
        "entries-1-shortlist": "1",
        "entries-1-position": "",
        "entries-1-endpoint_id": endpoint_id,
        "entries-1-note": "",
        "_continue": "Save and continue editing",
    }


def visit_everything(clients, member) -> dict[str, list[str]]:
    """Every page and every form that may ask fal; where the key showed, by page."""
    responses = []
    for who, path, headers in PAGES:
        responses.append((f"{who} {path[:60]}", clients[who].get(path, headers=headers)))
    for endpoint_id in (UNKNOWN, "fal-ai/flux/dev"):
        responses.append(
            (
                f"add {endpoint_id}",
                clients["staff"].post("/shortlists/picks/add/", {"endpoint_id": endpoint_id}),
            )
        )
    responses.append(
        (
            "admin check",
            clients["staff"].post(
                "/admin/catalog/shortlist/1/change/", admin_form(UNKNOWN, member)
            ),
        )
    )
    responses.append(("sync request", clients["staff"].post("/catalog/sync/request/")))
    found = {}
    for name, response in responses:
        assert response.status_code != 500, name
        found[name] = leaks(response)
    return {name: where for name, where in found.items() if where}


def run_sync_command() -> str:
    """`manage.py catalog_sync` as staff run it: everything it printed, or its error."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("catalog_sync", "--quiet", stdout=out, stderr=err)
    except CommandError as error:
        return f"{out.getvalue()}{err.getvalue()}{error}"
    return out.getvalue() + err.getvalue()


def assert_only_authorization_carries_the_key(requests: list[dict]) -> None:
    assert requests
    for request in requests:
        assert request["headers"].get("Authorization") == f"Key {KEY}", request["path"]
        others = [name for name, value in request["headers"].items() if KEY in value]
        assert others == ["Authorization"]
        assert KEY not in request["path"] and KEY not in repr(request["query"])


def asked_by_the_sync(requests: list[dict]) -> list[dict]:
    return [r for r in requests if not any(k == "endpoint_id" for k, _ in r["query"])]


def asked_in_find_mode(requests: list[dict], endpoint_id: str) -> list[dict]:
    return [r for r in requests if ("endpoint_id", endpoint_id) in r["query"]]


def assert_nothing_else_holds_the_key(every_log_line, capfd) -> None:
    assert not any(holds_a_key(record.getMessage()) for record in every_log_line.records)
    assert not holds_a_key(every_log_line.text)
    for key in KEYS:
        assert not SyncRun.objects.filter(error__contains=key).exists()
        assert not SyncRun.objects.filter(source__contains=key).exists()
        for field in ("source", "usage_error", "analytics_error"):
            assert not UsageSyncRun.objects.filter(**{f"{field}__contains": key}).exists()
    out, err = capfd.readouterr()
    assert not holds_a_key(out) and not holds_a_key(err)


def test_the_key_reaches_fal_and_nothing_else(live, clients, member, every_log_line, capfd):
    assert visit_everything(clients, member) == {}
    from_pages = list(live.requests)
    assert asked_in_find_mode(from_pages, UNKNOWN) and asked_in_find_mode(from_pages, UNINDEXED)
    assert asked_by_the_sync(from_pages) == []  # pages read the index: only lookups ask fal
    assert CatalogEntry.objects.filter(endpoint_id=UNINDEXED).exists()  # found and added
    output = run_sync_command()
    assert "models" in output and KEY not in output
    assert SyncRun.objects.first().state == SyncRun.State.SUCCEEDED
    requests = list(live.requests)
    assert asked_by_the_sync(requests)
    assert_only_authorization_carries_the_key(requests)
    assert_nothing_else_holds_the_key(every_log_line, capfd)


@pytest.mark.parametrize("mode", FAILURE_MODES)
def test_the_key_stays_hidden_when_fal_fails(live, clients, member, every_log_line, capfd, mode):
    live.set_mode(mode)
    output = run_sync_command()
    assert KEY not in output
    if mode != "find404":  # find404 leaves list mode healthy, so the sync succeeds
        assert "Failed" in output
        assert SyncRun.objects.first().state == SyncRun.State.FAILED
    assert visit_everything(clients, member) == {}
    requests = list(live.requests)
    assert {r["mode"] for r in requests} == {mode}
    assert asked_by_the_sync(requests) and asked_in_find_mode(requests, UNKNOWN)
    assert_only_authorization_carries_the_key(requests)
    # The failures were logged (so "no key in the logs" was checked against real lines).
    failures = [r.getMessage() for r in every_log_line.records if "failed" in r.getMessage()]
    assert any(m.startswith(("fal API request failed", "Catalog sync")) for m in failures)
    assert_nothing_else_holds_the_key(every_log_line, capfd)


def run_usage_sync_command() -> str:
    """`manage.py usage_sync` as staff run it: everything it printed, or its error."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("usage_sync", stdout=out, stderr=err)
    except CommandError as error:
        return f"{out.getvalue()}{err.getvalue()}{error}"
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("mode", ["healthy", *FAILURE_MODES])
def test_the_admin_key_reaches_fal_s_usage_api_and_nothing_else(
    live, settings, clients, member, every_log_line, capfd, mode
):
    settings.USAGE_SYNC_CANDIDATES = ""  # analytics for the team's endpoints: one batch
    if mode not in WAITING_MODES:
        settings.FAL_API_TIMEOUT = 30  # they answer at once; 12,000 lines take a while
    live.set_mode(mode)
    output = run_usage_sync_command()
    assert "calls to fal" in output and not holds_a_key(output)
    run = UsageSyncRun.objects.get()
    if mode == "healthy":
        assert run.usage == run.analytics == UsageSyncRun.Part.FETCHED
    else:
        assert UsageSyncRun.Part.FAILED in (run.usage, run.analytics)
    assert visit_everything(clients, member) == {}
    requests = [r for r in live.requests if r["path"].endswith(("/usage", "/analytics"))]
    assert {r["path"].rsplit("/", 1)[1] for r in requests} >= {"usage"}
    for request in requests:
        expected = ADMIN_KEY if request["path"].endswith("/usage") else KEY
        assert request["headers"].get("Authorization") == f"Key {expected}"
        others = [name for name, value in request["headers"].items() if holds_a_key(value)]
        assert others == ["Authorization"]
        assert not holds_a_key(request["path"] + repr(request["query"]))
    assert_nothing_else_holds_the_key(every_log_line, capfd)


def test_the_client_never_shows_its_key():
    client = FalModelsClient(base_url="http://127.0.0.1:9/v1", key=KEY)
    assert KEY not in repr(client) and KEY not in str(vars(client).get("base_url"))
