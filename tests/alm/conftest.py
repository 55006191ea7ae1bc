"""Fixtures for the Azure DevOps client tests: demo tokens, fresh identities, clients on the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from alm.client import AdoClient, forget_resource_areas
from alm.scopes import REQUIRED_PERMISSIONS
from alm.transport import AddressPolicy

ALL_SCOPES = " ".join(permission.scope for permission in REQUIRED_PERMISSIONS)
PROJECT = "Fabrikam Fiber"
# The emulator listens on loopback, which a client refuses unless told otherwise (alm/transport.py).
EMULATOR_ADDRESSES = AddressPolicy(allow_loopback=True)


@pytest.fixture(autouse=True)
def _fresh_service_locations() -> Iterator[None]:
    # Service locations are remembered per process; each test discovers them itself.
    forget_resource_areas()
    yield
    forget_resource_areas()


@pytest.fixture
def demo(ado):
    return {entry["name"]: entry for entry in ado.demo_info()["identities"]}


@pytest.fixture
def service_token(demo) -> str:
    return demo["ALM Service Account"]["pat"]


@pytest.fixture
def alice_token(demo) -> str:
    return demo["Alice Example"]["pat"]


@pytest.fixture
def carol(ado):
    """A member of fabrikam with no token yet: tests issue exactly the scopes they need."""
    return ado.add_identity(org="fabrikam", display_name="Carol Example", email="carol@fabrikam.example")


@pytest.fixture
def make_client(ado) -> Iterator[Callable[..., AdoClient]]:
    clients: list[AdoClient] = []

    def make(token: str, *, url: str | None = None, timeout: float = 3.0, **options) -> AdoClient:
        options.setdefault("addresses", EMULATOR_ADDRESSES)
        client = AdoClient(url or ado.org_url("fabrikam"), token, timeout=timeout, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
