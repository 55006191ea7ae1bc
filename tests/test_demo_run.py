"""`make run` on ports of one's choosing: the demo connection follows the emulator's port.

Runs `scripts/run_dev.sh` (what `make run` runs once the virtualenv and `.env` exist) as a subprocess,
twice, with a different emulator port each time, on one throwaway SQLite database, and presses Test
Connection as Alice over HTTP each time.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.helpers import GOOD_KEY, ROOT

DEMO_PASSWORD = "demo-pass-123"
ALICE_EMAIL = "alice@fabrikam.example"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(database: Path, *, port: int, emulator_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ALM_", "DATABASE_URL", "CACHE_URL"))}
    env.update(
        DJANGO_ENV_FILE=os.devnull,
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        ALM_ENCRYPTION_KEY=GOOD_KEY,
        DATABASE_URL=f"sqlite:///{database}",
        PY=sys.executable,
        PORT=str(port),
        EMULATOR_PORT=str(emulator_port),
        DEMO_PASSWORD=DEMO_PASSWORD,
    )
    return env


def _wait_for(url: str, process: subprocess.Popen[str]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(f"run_dev.sh stopped early: {process.stdout.read() if process.stdout else ''}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


@contextmanager
def _demo_running(database: Path, *, port: int, emulator_port: int) -> Iterator[str]:
    """run_dev.sh in its own process group, stopped (with its emulator and server) afterwards."""
    process = subprocess.Popen(  # noqa: S603 - fixed argv, the script itself
        [str(ROOT / "scripts" / "run_dev.sh")],
        cwd=ROOT,
        env=_env(database, port=port, emulator_port=emulator_port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/accounts/login/", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _test_connection_as_alice(app: str, emulator_port: int) -> str:
    """Sign in as alice, paste her demo token, press Test Connection; the result's HTML."""
    demo = requests.get(f"http://127.0.0.1:{emulator_port}/_emulator/demo", timeout=5).json()
    token = next(i["pat"] for i in demo["identities"] if i["email"] == ALICE_EMAIL)
    with requests.Session() as browser:
        login = browser.get(f"{app}/accounts/login/", timeout=10)
        browser.post(
            f"{app}/accounts/login/",
            data={"username": "alice", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": _csrf(login.text)},
            timeout=10,
        )
        page = browser.get(f"{app}/profile/alm-credentials/", timeout=10)
        assert f"http://127.0.0.1:{emulator_port}/fabrikam" in page.text
        connection = re.search(r'name="connection" value="(\d+)"', page.text).group(1)
        result = browser.post(
            f"{app}/profile/alm-credentials/",
            data={"connection": connection, "token": token, "action": "test", "csrfmiddlewaretoken": _csrf(page.text)},
            timeout=30,
        )
        return result.text


def _work_items_as(app: str, username: str) -> requests.Response:
    with requests.Session() as browser:
        login = browser.get(f"{app}/accounts/login/", timeout=10)
        browser.post(
            f"{app}/accounts/login/",
            data={"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": _csrf(login.text)},
            timeout=10,
        )
        return browser.get(f"{app}/work-items/", timeout=30)


def test_demo_on_other_ports_passes_test_connection_and_follows_a_new_port(tmp_path):
    database = tmp_path / "demo.sqlite3"
    first_emulator, second_emulator = _free_port(), _free_port()
    assert 8765 not in (first_emulator, second_emulator)
    with _demo_running(database, port=_free_port(), emulator_port=first_emulator) as app:
        assert "Connection works" in _test_connection_as_alice(app, first_emulator)
    with _demo_running(database, port=_free_port(), emulator_port=second_emulator) as app:
        html = _test_connection_as_alice(app, second_emulator)
        assert "Connection works" in html
        assert f"127.0.0.1:{first_emulator}" not in html
        # The demo's own tokens moved with it: Bob reads with his, Alice (none saved) as the service account.
        bob = _work_items_as(app, "bob")
        assert bob.status_code == 200
        assert "with your token" in bob.text
        alice = _work_items_as(app, "alice")
        assert alice.status_code == 200
        assert "because you have no working personal token" in alice.text
