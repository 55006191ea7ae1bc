"""`manage.py ado_emulator`: serves until interrupted and prints the demo identities."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_command_serves_the_demo_and_prints_its_identities():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "ado_emulator", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(lines)
        org_url = re.search(r"Organization URL: (\S+)", text)
        assert org_url, text
        assert "Alice Example <alice@fabrikam.example>" in text
        assert "demo0alice0pat0not0a0real0secret" in text
        answer = requests.get(f"{org_url[1].rsplit('/', 1)[0]}/_emulator/demo", timeout=5)
        assert answer.status_code == HTTPStatus.OK
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0
