"""Response headers on every page: a strict Content-Security-Policy, no framing, no sniffing, a referrer policy;
HSTS and secure cookies once configured for production."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers import GOOD_KEY, run_manage
from tests.security.support import every_url

pytestmark = pytest.mark.django_db


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def header_problems(response) -> list[str]:
    problems = []
    policy = response.get("Content-Security-Policy", "")
    found = directives(policy)
    if not policy:
        problems.append("no Content-Security-Policy")
    if "'unsafe-inline'" in policy or "'unsafe-eval'" in policy:
        problems.append(f"unsafe CSP: {policy}")
    for name in ("default-src", "script-src", "style-src", "object-src", "base-uri", "frame-ancestors"):
        if name not in found:
            problems.append(f"CSP lacks {name}")
    if found.get("frame-ancestors") != ["'none'"] or found.get("object-src") != ["'none'"]:
        problems.append(f"CSP allows framing or plugins: {policy}")
    if response.get("X-Frame-Options") != "DENY":
        problems.append(f"X-Frame-Options {response.get('X-Frame-Options')!r}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.get("Referrer-Policy") not in ("same-origin", "strict-origin-when-cross-origin", "no-referrer"):
        problems.append(f"Referrer-Policy {response.get('Referrer-Policy')!r}")
    return problems


@pytest.mark.parametrize("who", ["anonymous", "alice", "admin"])
def test_every_page_and_error_sends_the_security_headers(client, alice, admin_user, connection, alice_credential, who):
    if who != "anonymous":
        client.force_login(alice if who == "alice" else admin_user)
    client.raise_request_exception = False
    paths = [path.replace("/1/", f"/{connection.pk}/") for _name, path in every_url()]
    answers = {path: client.get(path) for path in paths}
    answers["404"] = client.get("/no-such-page/")
    answers["400"] = client.post(reverse("alm_credentials"), {"connection": "x", "action": "test"})
    strict = Client(enforce_csrf_checks=True)
    answers["403 csrf"] = strict.post(reverse("login"), {"username": "alice", "password": "x"})

    assert {path: header_problems(r) for path, r in answers.items() if header_problems(r)} == {}


def test_no_hsts_and_no_redirect_without_production_switches(client, settings):
    response = client.get(reverse("login"), secure=True)

    assert "Strict-Transport-Security" not in response
    assert client.get(reverse("login")).status_code == HTTPStatus.OK


def test_production_switches_give_hsts_https_redirect_and_secure_cookies(alice, password, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = Client()

    plain = client.get(reverse("login"))
    page = client.get(reverse("login"), secure=True)
    signed_in = client.post(reverse("login"), {"username": "alice", "password": password}, secure=True)

    assert plain.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert plain["Location"].startswith("https://")
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert signed_in.status_code == HTTPStatus.FOUND
    session, csrf = client.cookies["sessionid"], client.cookies["csrftoken"]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"
    assert csrf["secure"] is True


def test_production_switches_are_read_from_the_environment():
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.X_FRAME_OPTIONS, s.SECURE_CONTENT_TYPE_NOSNIFF, s.SECURE_REFERRER_POLICY, s.DEBUG)"
    )
    result = run_manage(
        "shell",
        "-c",
        code,
        DJANGO_SECRET_KEY="prod-" + "k3y!" * 15,
        ALM_ENCRYPTION_KEY=GOOD_KEY,
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SESSION_COOKIE_SECURE="true",
        DJANGO_CSRF_COOKIE_SECURE="true",
        DJANGO_SECURE_SSL_REDIRECT="true",
    )

    # The last line: `shell` first says how many objects it imported.
    assert result.stdout.strip().splitlines()[-1].split() == [
        "31536000",
        "True",
        "True",
        "True",
        "DENY",
        "True",
        "same-origin",
        "False",
    ], result.stderr


def test_every_signed_in_page_forbids_caching(alice_client, admin_client, connection, alice_credential):
    """Signed-in pages show credential state: no browser or proxy may keep a copy (Cache-Control: no-store)."""
    pages = {
        "home": alice_client.get("/"),
        "profile": alice_client.get(reverse("profile")),
        "credentials": alice_client.get(reverse("alm_credentials")),
        "work items": alice_client.get(reverse("work_items")),
        "password": alice_client.get(reverse("password_change")),
        "not found": alice_client.get("/no-such-page/"),
        "admin overview": admin_client.get(reverse("admin:profiles_credential_overview")),
        "admin connection": admin_client.get(reverse("admin:alm_almconnection_change", args=[connection.pk])),
    }
    for name, response in pages.items():
        assert "no-store" in response.get("Cache-Control", ""), name
        assert "private" in response["Cache-Control"], name

