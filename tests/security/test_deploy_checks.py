"""`manage.py check --deploy` warns when the cache is per process (rate limits and lockouts would count per worker)."""

from __future__ import annotations

import pytest

from tests.helpers import GOOD_KEY, run_manage

PRODUCTION = {
    "DJANGO_SECRET_KEY": "prod-" + "k3y!" * 15,
    "ALM_ENCRYPTION_KEY": GOOD_KEY,
    "DJANGO_ALLOWED_HOSTS": "almlink.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
    "DJANGO_SESSION_COOKIE_SECURE": "true",
    "DJANGO_CSRF_COOKIE_SECURE": "true",
}


@pytest.mark.parametrize("cache_url", ["locmemcache://almlink", "dummycache://"])
def test_check_deploy_warns_for_a_cache_each_worker_keeps_alone(cache_url):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, CACHE_URL=cache_url)

    assert result.returncode != 0
    assert "almlink.W001" in result.stderr
    assert "Set CACHE_URL to a shared cache" in result.stderr


def test_check_deploy_is_quiet_with_a_shared_cache():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, CACHE_URL="redis://127.0.0.1:6379/1"
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_per_process_cache_is_fine_in_development():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, DJANGO_DEBUG="true", CACHE_URL="locmemcache://"
    )

    assert "almlink.W001" not in result.stdout + result.stderr
