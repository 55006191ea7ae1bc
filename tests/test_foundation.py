"""The base: settings from the environment, sign-in everywhere, the layout, the demo seed."""

from __future__ import annotations

import subprocess
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.helpers import GOOD_KEY, find_element, run_manage


def test_missing_secret_key_fails_loudly_with_its_name():
    result = run_manage("check", ALM_ENCRYPTION_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_missing_encryption_key_fails_loudly_with_its_name():
    result = run_manage("check", DJANGO_SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "ALM_ENCRYPTION_KEY" in result.stderr


def test_malformed_encryption_key_fails_without_echoing_it():
    result = run_manage("check", DJANGO_SECRET_KEY="x" * 60, ALM_ENCRYPTION_KEY="short-and-wrong")
    assert result.returncode != 0
    assert "ALM_ENCRYPTION_KEY is malformed" in result.stderr
    assert "short-and-wrong" not in result.stderr


def test_debug_is_off_by_default(settings):
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        DJANGO_SECRET_KEY="x" * 60,
        ALM_ENCRYPTION_KEY=GOOD_KEY,
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def _check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    return run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY="prod-" + "k3y!" * 15,
        ALM_ENCRYPTION_KEY=GOOD_KEY,
        **env,
    )


def test_check_deploy_is_clean_with_production_values():
    result = _check_deploy(
        DJANGO_ALLOWED_HOSTS="almlink.example.com",
        DJANGO_SECURE_SSL_REDIRECT="true",
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
        DJANGO_SESSION_COOKIE_SECURE="true",
        DJANGO_CSRF_COOKIE_SECURE="true",
        CACHE_URL="redis://127.0.0.1:6379/1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_the_production_switches():
    result = _check_deploy()
    assert result.returncode != 0
    assert "SECURE_HSTS_SECONDS" in result.stdout + result.stderr


def test_database_url_selects_the_engine(settings):
    import environ

    parsed = environ.Env.db_url_config("postgres://user@127.0.0.1:5432/almlink")
    assert parsed["ENGINE"] == "django.db.backends.postgresql"
    assert settings.DATABASES["default"]["ENGINE"] in {"django.db.backends.sqlite3", "django.db.backends.postgresql"}


def _app_url_names() -> list[str]:
    """Every named, argument-free URL of our own apps (not the admin, not sign-in)."""
    names: list[str] = []

    def walk(patterns, namespace=None):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                walk(p.url_patterns, p.namespace)
            elif isinstance(p, URLPattern) and p.name and not p.pattern.converters:
                names.append(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver().url_patterns)
    return [n for n in names if n not in {"login", "logout"}]


@pytest.mark.django_db
@pytest.mark.parametrize("name", _app_url_names())
def test_every_page_requires_sign_in(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_sign_in_page_is_served_without_login(client):
    response = client.get(reverse("login"))
    assert response.status_code == HTTPStatus.OK
    assert b"Sign in" in response.content


@pytest.mark.django_db
def test_sign_in_with_password_reaches_home(client, alice, password):
    response = client.post(reverse("login"), {"username": "alice", "password": password}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    assert b"Welcome, Alice" in response.content


@pytest.mark.django_db
def test_left_navigation_links_to_profile(alice_client):
    response = alice_client.get(reverse("home"))
    assert response.status_code == HTTPStatus.OK
    nav = find_element(response.content.decode(), "nav")
    assert nav is not None
    assert find_element(nav, "a", href=reverse("profile")) is not None
    assert find_element(nav, "a", href=reverse("alm_credentials")) is not None


@pytest.mark.django_db
def test_admin_is_at_admin(admin_client):
    assert admin_client.get("/admin/").status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_unknown_page_uses_the_standalone_404(client, alice, settings):
    client.force_login(alice)
    response = client.get("/no-such-page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert b"Page not found" in response.content


@pytest.mark.django_db
def test_seed_demo_is_idempotent(settings, django_user_model):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    assert sorted(django_user_model.objects.values_list("username", flat=True)) == ["admin", "alice", "bob"]
    assert django_user_model.objects.get(username="admin").is_superuser
    assert django_user_model.objects.get(username="alice").email == "alice@fabrikam.example"
    assert django_user_model.objects.get(username="bob").check_password("demo-pass-123")


@pytest.mark.django_db
def test_seed_demo_refuses_in_production(settings, django_user_model):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG is off"):
        call_command("seed_demo")
    assert not django_user_model.objects.exists()


@pytest.mark.django_db
def test_seed_demo_runs_in_production_only_with_force(settings, django_user_model):
    settings.DEBUG = False
    call_command("seed_demo", "--force")
    assert django_user_model.objects.filter(username="alice").exists()
