"""Helpers for the emulator's own tests: HTTP sessions that talk to it over real sockets.

The `ado` / `ado_server` fixtures come from ado_emulator.pytest_plugin (registered in tests/conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from ado_emulator import Emulator, Identity

# Official examples and recorded answers, copied into the repository (tests/reference/README.md names the sources).
REFERENCE = Path(__file__).resolve().parents[1] / "reference"


class Http(requests.Session):
    """A requests session with a default timeout, so a broken emulator fails a test instead of hanging it."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        return super().request(method, url, *args, **kwargs)


def make_http(token: str | None, *, suppress: bool = True, user: str = "") -> Http:
    http = Http()
    if token is not None:
        http.auth = (user, token)
    if suppress:
        http.headers["X-TFS-FedAuthRedirect"] = "Suppress"
    return http


@pytest.fixture
def http_for() -> Callable[..., Http]:
    """http_for(token, suppress=True, user="") -> a session sending Basic auth with the PAT as password."""
    return make_http


@pytest.fixture
def demo(ado: Emulator) -> dict[str, Any]:
    return ado.demo_info()


@pytest.fixture
def alice_pat(demo: dict[str, Any]) -> str:
    return next(i["pat"] for i in demo["identities"] if i["email"] == "alice@fabrikam.example")


@pytest.fixture
def bob_pat(demo: dict[str, Any]) -> str:
    return next(i["pat"] for i in demo["identities"] if i["email"] == "bob@fabrikam.example")


@pytest.fixture
def alice_http(alice_pat: str) -> Http:
    return make_http(alice_pat)


@pytest.fixture
def org_url(ado: Emulator) -> str:
    return ado.org_url()


@pytest.fixture
def project_url(org_url: str) -> str:
    # "Fabrikam Fiber" has a space: it travels URL-encoded.
    return f"{org_url}/Fabrikam%20Fiber"


@pytest.fixture
def alice_identity(ado: Emulator) -> Identity:
    found = ado.state.identity_by_email("alice@fabrikam.example")
    assert found is not None
    return found


@pytest.fixture
def bob_identity(ado: Emulator) -> Identity:
    found = ado.state.identity_by_email("bob@fabrikam.example")
    assert found is not None
    return found


@pytest.fixture
def svc_identity(ado: Emulator) -> Identity:
    found = ado.state.identity_by_email("almlink-svc@fabrikam.example")
    assert found is not None
    return found


def _real_example(relative: str) -> Any:
    return json.loads((REFERENCE / relative).read_text(encoding="utf-8-sig"))


@pytest.fixture
def real_example() -> Callable[[str], Any]:
    """real_example("real/....json"): a file of tests/reference/."""
    return _real_example


def _json_patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"data": json.dumps(list(operations)), "headers": {"Content-Type": "application/json-patch+json"}}


@pytest.fixture
def patch_body() -> Callable[..., dict[str, Any]]:
    """patch_body(op, op, ...) -> request kwargs with the JSON Patch body and its content type."""
    return _json_patch
