"""Two app hosts over one PostgreSQL database and one Redis cache, as a load-balanced deployment runs.

The hosts are real gunicorn processes with the deployed settings. They run only where the suite runs on
PostgreSQL with CACHE_URL=redis://... (CI's second pass); elsewhere these tests are skipped, like every
`postgres_only` test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from tests.helpers import GOOD_KEY, ROOT


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    redis = os.environ.get("CACHE_URL", "").startswith("redis://")
    skip = pytest.mark.skipif(
        engine != "django.db.backends.postgresql" or not redis,
        reason="two app hosts need PostgreSQL and Redis: run with DATABASE_URL=postgres://... and "
        "CACHE_URL=redis://... (CI does)",
    )
    for item in items:
        if item.get_closest_marker("two_hosts"):
            item.add_marker(skip)


@dataclass
class Host:
    url: str
    process: subprocess.Popen[bytes]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def host_env(**extra: str) -> dict[str, str]:
    """What a host (or a manage.py beside it) runs with: the test database, the shared Redis, the test keys."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    configured = urlsplit(os.environ["DATABASE_URL"])
    url = urlunsplit(configured._replace(path=f"/{database['NAME']}"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ALM_"))}
    base.update(
        {
            # Imported by its own name: `tests` is not a package (and another `tests` may be installed).
            "DJANGO_SETTINGS_MODULE": "two_host_settings",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "scale"), str(ROOT)]),
            "DJANGO_ENV_FILE": os.devnull,
            "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # one secret: a session made on one host is valid on the other
            "ALM_ENCRYPTION_KEY": os.environ.get("ALM_ENCRYPTION_KEY", GOOD_KEY),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "ALM_ALLOW_LOOPBACK_HTTP": "true",
            "ALM_HTTP_TIMEOUT": "10",
            "DATABASE_URL": url,
            "CACHE_URL": os.environ["CACHE_URL"],
            "DJANGO_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return base


def _start(env: dict[str, str]) -> Host:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [
            sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "1",
            "--worker-class", "gthread", "--threads", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
        ],
        cwd=ROOT, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/accounts/login/", timeout=2).status_code == 200:
                return Host(url, process)
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def _stop(host: Host) -> None:
    if host.process.poll() is None:
        host.process.send_signal(signal.SIGTERM)
        try:
            host.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(host.process.pid, signal.SIGKILL)
            host.process.wait(timeout=5)


@pytest.fixture(scope="module")
def hosts(django_db_setup, django_db_blocker) -> Iterator[tuple[Host, Host]]:
    """Hosts A and B: two gunicorn instances on different ports, over the same database and cache."""
    env = host_env(ALM_CREDENTIAL_RATE_LIMIT="4", ALM_USER_CALLS_PER_MINUTE="4", ALM_LOGIN_FAILURE_LIMIT="3")
    started: list[Host] = []
    try:
        started.append(_start(env))
        started.append(_start(env))
        yield started[0], started[1]
    finally:
        for host in started:
            _stop(host)


@pytest.fixture
def shared_cache() -> Iterator[None]:
    """The Redis database the hosts share starts and ends each test empty (CACHE_URL names it for this run)."""
    import redis

    client = redis.Redis.from_url(os.environ["CACHE_URL"])
    client.flushdb()
    yield
    client.flushdb()
    client.close()
