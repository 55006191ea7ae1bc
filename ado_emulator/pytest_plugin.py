"""pytest fixtures for the Azure DevOps emulator (registered with `pytest_plugins = ["ado_emulator.pytest_plugin"]`).

- `ado_server` (session): one emulator on a free loopback port for the whole run.
- `ado` (function): the same emulator, reset to the demo state first (faults and request log cleared).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ado_emulator.server import Emulator


@pytest.fixture(scope="session")
def ado_server() -> Iterator[Emulator]:
    emulator = Emulator(demo=True).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def ado(ado_server: Emulator) -> Emulator:
    ado_server.reset()
    return ado_server
