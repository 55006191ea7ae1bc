"""`.env` is read only when asked (DJANGO_READ_DOT_ENV_FILE=true), and `.env.example` loads as written."""

from __future__ import annotations

import shutil

from tests.helpers import GOOD_KEY, ROOT, run_manage

SHOW = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.ALM_CREDENTIAL_RATE_LIMIT, s.ALM_HTTP_TIMEOUT, s.ALM_USER_CALLS_PER_MINUTE, "
    "s.CACHES['default']['BACKEND'].rsplit('.', 1)[-1], s.ALM_ALLOW_LOOPBACK_HTTP, "
    "repr(__import__('os').environ.get('ALM_EMULATOR_URL')), repr(__import__('os').environ.get('DEMO_PASSWORD')))"
)
REQUIRED = {"DJANGO_SECRET_KEY": "x" * 60, "ALM_ENCRYPTION_KEY": GOOD_KEY}


def shown(**env: str) -> list[str]:
    result = run_manage("shell", "-c", SHOW, **REQUIRED, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].split()


def test_leftover_dot_env_is_ignored_unless_asked_for(tmp_path):
    leftover = tmp_path / ".env"
    leftover.write_text("DJANGO_DEBUG=true\nALM_CREDENTIAL_RATE_LIMIT=99\n")

    assert shown(DJANGO_ENV_FILE=str(leftover))[:2] == ["False", "10"]
    assert shown(DJANGO_ENV_FILE=str(leftover), DJANGO_READ_DOT_ENV_FILE="true")[:2] == ["True", "99"]


def test_env_example_copied_to_dot_env_loads_as_written(tmp_path):
    copy = tmp_path / ".env"
    shutil.copy(ROOT / ".env.example", copy)

    values = shown(DJANGO_ENV_FILE=str(copy), DJANGO_READ_DOT_ENV_FILE="true")

    assert values == [
        "False",
        "10",
        "10.0",
        "30",
        "LocMemCache",
        "False",
        "'http://127.0.0.1:8765/fabrikam'",
        "'demo-pass-123'",
    ]


def test_env_example_keeps_comments_on_their_own_lines():
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            assert "#" not in line, line


def test_make_run_asks_for_the_dot_env():
    assert "export DJANGO_READ_DOT_ENV_FILE = true" in (ROOT / "Makefile").read_text()
    assert "export DJANGO_READ_DOT_ENV_FILE=" in (ROOT / "scripts" / "run_dev.sh").read_text()
