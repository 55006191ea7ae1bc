"""Microsoft's Node SDK (azure-devops-node-api, pinned in tests/node/) runs a whole session against the emulator.

`make test` installs it with `npm ci`; tests/node/session.js is the session, printing one JSON line per step.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from http import HTTPStatus
from pathlib import Path

import pytest

from ado_emulator import Emulator

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def _run_session(ado: Emulator, token: str) -> dict[str, dict]:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "azure-devops-node-api").is_dir():
        pytest.fail("Node.js and the SDK are needed: run `make test` (it installs them with npm ci in tests/node)")
    env = {**os.environ, "ADO_ORG_URL": ado.org_url(), "ADO_PAT": token, "ADO_PROJECT": "Fabrikam Fiber"}
    # A fixed command on a file of this repository; the token travels in the environment, never in argv.
    result = subprocess.run(  # noqa: S603
        [node, "session.js"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    steps = {}
    for line in result.stdout.splitlines():
        entry = json.loads(line)
        steps[entry.pop("step")] = entry
    assert "crash" not in steps, (steps["crash"], result.stderr[-2000:])
    return steps


def test_node_sdk_runs_a_session_unmodified(ado, alice_pat, alice_identity):
    steps = _run_session(ado, alice_pat)

    assert steps["connect"]["userId"] == alice_identity.id
    assert steps["projects"]["names"] == ["Fabrikam Fiber"]
    ids = steps["wiql"]["ids"]
    assert len(ids) == 31
    assert steps["batch"]["items"] == [ids[0], None, ids[1]]  # errorPolicy Omit sent as the number 2
    assert steps["stale_update"]["statusCode"] == HTTPStatus.PRECONDITION_FAILED
    assert steps["stale_update"]["message"].startswith("VS403351:")
    created = steps["create"]
    assert (created["rev"], created["title"]) == (1, "Made by the Node SDK")
    assert steps["delete"] == {"id": created["id"], "code": 200}
    assert "done" in steps
    assert ado.work_item_revisions("fabrikam", created["id"])[0]["changed_by"]["id"] == alice_identity.id
    with pytest.raises(KeyError):
        ado.work_item("fabrikam", created["id"])  # in the recycle bin
    areas = {r.path.rsplit("/_apis/", 1)[-1] for r in ado.requests if r.method == "OPTIONS"}
    assert areas == {"Location", "core", "wit"}
