"""Leak proof for Sign in with Microsoft: the client secret, refresh and access tokens appear in no page,
log line, database column in the clear, session or dump."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.management import call_command
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ado_emulator.entra import DEMO_CLIENT_SECRET
from profiles import entra
from profiles.entra_models import EntraSignIn
from tests.entra_helpers import change_title, configure_entra, entra_settings, walk_sign_in  # noqa: F401 - fixture
from tests.security.support import database_text, leaks, sessions_text
from tests.security.test_leaks import assert_no_leak, crawl

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("entra_settings")]


@pytest.fixture
def signed_in(alice_client, alice, connection, ado, caplog):
    """Alice signed in with Microsoft, one change made; returns every secret the flow handled."""
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "msal", "django.db.backends", "alm", "profiles"):
        caplog.set_level(logging.DEBUG, logger=name)
    configure_entra(connection, ado)
    with CaptureQueriesContext(db) as queries:
        start = alice_client.get(reverse("entra_sign_in", args=[connection.pk]))
        _target, query = walk_sign_in(ado, start["Location"], email="alice@fabrikam.example")
        alice_client.get(reverse("entra_callback"), query)
        sign_in = EntraSignIn.objects.get(credential__user=alice)
        change_title(alice, connection, ado, "Changed")
    refresh = next(iter(json.loads(sign_in.cache)["RefreshToken"].values()))["secret"]
    access = entra.access_token(sign_in).token
    logged = caplog.text + "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    sql = "\n".join(q["sql"] for q in queries.captured_queries)
    return {"secret": DEMO_CLIENT_SECRET, "refresh": refresh, "access": access, "logged": logged, "sql": sql}


def test_pages_show_no_secret_nor_token(alice_client, admin_client, connection, signed_in):
    secrets = (signed_in["secret"], signed_in["refresh"], signed_in["access"])
    assert_no_leak(crawl(alice_client, "/", reverse("alm_credentials")), *secrets)
    change = reverse("admin:alm_almconnection_change", args=[connection.pk])
    assert_no_leak(crawl(admin_client, change), *secrets)


def test_logs_and_sql_hold_no_secret_nor_token(signed_in):
    secrets = (signed_in["secret"], signed_in["refresh"], signed_in["access"])
    assert "oauth2/v2.0/token" in signed_in["logged"]  # the token requests were logged, by urllib3
    assert leaks(signed_in["logged"], *secrets) == []
    assert leaks(signed_in["sql"], *secrets) == []


def test_database_and_sessions_hold_no_secret_nor_token_in_the_clear(signed_in):
    sessions = sessions_text()
    secrets = (signed_in["secret"], signed_in["refresh"], signed_in["access"])
    assert leaks(database_text(), *secrets) == []
    assert leaks(sessions, *secrets) == []


def test_dumpdata_writes_the_secret_and_the_sign_in_as_ciphertext(signed_in):
    out = io.StringIO()
    call_command("dumpdata", "alm.almconnection", "profiles.entrasignin", stdout=out)
    dumped = out.getvalue()
    assert '"cache": "' in dumped
    assert leaks(dumped, signed_in["secret"], signed_in["refresh"], signed_in["access"]) == []


def test_key_rotation_re_encrypts_the_secret_and_the_sign_in(signed_in, connection, alice, settings, monkeypatch):
    old_key = settings.ALM_ENCRYPTION_KEY
    settings.ALM_ENCRYPTION_KEY = new_key()
    monkeypatch.setenv("ALM_ENCRYPTION_KEY_OLD", old_key)
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "0 unreadable" in out.getvalue()
    connection.refresh_from_db()
    assert connection.entra_client_secret == DEMO_CLIENT_SECRET
    cache = json.loads(EntraSignIn.objects.get(credential__user=alice).cache)
    assert next(iter(cache["RefreshToken"].values()))["secret"] == signed_in["refresh"]


def new_key() -> str:
    out = io.StringIO()
    call_command("generate_encryption_key", stdout=out)
    return out.getvalue().strip()
