"""The first page and sign-in: real model names from the offline snapshot."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/?q=flux")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/%3Fq%3Dflux"


def test_sign_in_page_is_public(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_member_sees_snapshot_models_and_says_it_is_offline(member_client):
    response = member_client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Nano Banana 2" in body  # the snapshot's first model
    assert "fal-ai/nano-banana-2/edit" in body
    assert "Offline snapshot · 2026-08-10" in body
    assert "FAL_API_URL" not in body  # how to go live is for staff, who can act on it


def test_staff_are_told_how_to_use_the_live_api(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_user(username="sam", password="x", is_staff=True)
    )
    body = client.get("/").content.decode()
    assert "Offline snapshot · 2026-08-10" in body
    assert "start the app with <code>FAL_API_URL=https://api.fal.ai/v1</code>" in body
    assert "Set FAL_API_URL=https://api.fal.ai/v1 (and optionally FAL_KEY)" in body


def test_first_admin_is_created_once_with_a_random_password(capsys, settings):
    call_command("ensure_first_admin")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    user = get_user_model().objects.get()
    assert user.is_superuser and user.check_password(password) and len(password) >= 16
    call_command("ensure_first_admin")
    assert get_user_model().objects.count() == 1
    assert "password" not in capsys.readouterr().out


def test_no_account_is_created_with_production_settings(capsys, settings):
    settings.PRODUCTION = True
    call_command("ensure_first_admin")
    assert not get_user_model().objects.exists()


def test_database_is_the_one_database_url_names():
    url = os.environ.get("DATABASE_URL", "sqlite://")
    assert connection.vendor == ("postgresql" if url.startswith("postgres") else "sqlite")
