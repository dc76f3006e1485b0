"""Security headers on every kind of page, no inline script, and the production settings:
`check --deploy` clean, cookies secure (run in subprocesses, as production reads the
environment when settings load)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from catalog.models import Shortlist

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent.parent
HTMX = {"HX-Request": "true"}

# (who, path, headers): a page of each kind, its fragments, errors and the admin's.
PAGES = [
    ("member", "/", {}),
    ("member", "/?q=flux", HTMX),
    ("member", "/models/fal-ai/flux/dev/", {}),
    ("member", "/schema/fal-ai/flux/dev/", HTMX),
    ("member", "/models/nobody/nothing/", {}),  # 404
    ("member", "/compare/?endpoint_id=fal-ai/flux/dev&endpoint_id=fal-ai/flux/schnell", {}),
    ("member", "/shortlists/", {}),
    ("member", "/shortlists/picks/", {}),
    ("member", "/shortlists/picks/export.json", {}),
    ("member", "/shortlists/picks/export.csv", {}),
    ("member", "/shortlists/picks/add/", {}),  # 405
    ("member", "/?" + "&".join(["tag=x"] * 101), {}),  # 400
    ("anonymous", "/accounts/login/", {}),
    ("anonymous", "/", {}),  # redirect to sign in
    ("anonymous", "/accounts/password_reset/", {}),
    ("staff", "/admin/", {}),
    ("staff", "/admin/catalog/shortlist/", {}),
]


@pytest.fixture
def clients(client, member, admin_user, settings):
    from django.test import Client

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    Shortlist.objects.create(title="Picks", slug="picks", curator=member).entries.create(
        endpoint_id="fal-ai/flux/dev", position=1
    )
    member_client, staff_client = Client(), Client()
    member_client.force_login(member)
    staff_client.force_login(admin_user)
    return {"anonymous": client, "member": member_client, "staff": staff_client}


@pytest.mark.parametrize(("who", "path", "headers"), PAGES, ids=[p for _, p, _ in PAGES])
def test_every_page_sends_the_security_headers(clients, who, path, headers):
    response = clients[who].get(path, headers=headers)
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


class _InlineCode(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        self._script = tag == "script"
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}>")
        if tag == "script" and not dict(attrs).get("src"):
            self.found.append("<script> without src")

    def handle_data(self, data):
        if self._script and data.strip():
            self.found.append(f"inline script {data[:60]!r}")

    def handle_endtag(self, tag):
        self._script = False


@pytest.mark.parametrize(
    ("who", "path", "headers"),
    [page for page in PAGES if page[0] != "staff" and "export" not in page[1]],
    ids=[p for w, p, _ in PAGES if w != "staff" and "export" not in p],
)
def test_no_page_of_ours_has_inline_script_or_style(clients, who, path, headers):
    parser = _InlineCode()
    parser.feed(clients[who].get(path, headers=headers).content.decode())
    assert parser.found == []


# --- Production settings, in a fresh process each --------------------------------------------


def production_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "FAL_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_PRODUCTION="1",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="catalog.example.com",
        **extra,
    )
    return env


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_check_deploy_is_clean_with_the_production_settings_of_the_readme():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_the_development_defaults():
    env = production_env(DJANGO_DEBUG="1")  # only development may run on the public key
    del env["DJANGO_PRODUCTION"], env["DJANGO_SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    for warning in ("security.W009", "security.W012", "security.W016", "security.W008"):
        assert warning in result.stderr + result.stdout


@pytest.mark.parametrize("debug", ["", "0"])
def test_without_a_secret_key_the_settings_refuse_to_load_unless_debug_is_on(debug):
    env = production_env(DJANGO_DEBUG=debug)
    del env["DJANGO_PRODUCTION"], env["DJANGO_SECRET_KEY"]
    result = run_python("import django; django.setup()", env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_with_debug_on_the_development_key_is_allowed():
    env = production_env(DJANGO_DEBUG="1")
    del env["DJANGO_PRODUCTION"], env["DJANGO_SECRET_KEY"]
    code = "import django; django.setup()\nfrom django.conf import settings as s\n"
    code += "print(s.SECRET_KEY)"
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("django-insecure-")


SETTINGS_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client, override_settings
# No collectstatic here: plain static storage; nothing below depends on it.
static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
with override_settings(STORAGES={**settings.STORAGES, "staticfiles": static}):
    response = Client(headers={"X-Forwarded-Proto": "https"}).get(
        "/accounts/login/", HTTP_HOST="catalog.example.com"
    )
    plain = Client().get("/accounts/login/", HTTP_HOST="catalog.example.com")
print(json.dumps({
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "session_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "hsts": response.get("Strict-Transport-Security", ""),
    "csrf_cookie": response.cookies["csrftoken"].output(),
    "plain_http": [plain.status_code, plain.get("Location", "")],
}))
"""


def test_production_cookies_are_secure_and_http_redirects_to_https():
    result = run_python(SETTINGS_PROBE, production_env())
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["session_secure"] and facts["session_httponly"] and facts["csrf_secure"]
    assert "; Secure" in facts["csrf_cookie"] and "SameSite=Lax" in facts["csrf_cookie"]
    assert facts["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert facts["plain_http"] == [301, "https://catalog.example.com/accounts/login/"]
