"""Shared fixtures: the Azure DevOps emulator (`ado`), users, and helpers."""

from __future__ import annotations

import pytest

from tests.helpers import SERVICE_EMAIL, demo_identity

pytest_plugins = ["ado_emulator.pytest_plugin"]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters live in the cache; each test starts without any."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password() -> str:
    return "correct-horse-battery"


@pytest.fixture
def alice(django_user_model, password):
    return django_user_model.objects.create_user(
        "alice", email="alice@fabrikam.example", password=password, first_name="Alice", last_name="Example"
    )


@pytest.fixture
def bob(django_user_model, password):
    return django_user_model.objects.create_user(
        "bob", email="bob@fabrikam.example", password=password, first_name="Bob", last_name="Example"
    )


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def connection(ado, db):
    """The default ALM connection, pointing at the emulator's demo organization."""
    from alm.models import AlmConnection

    service = demo_identity(ado, SERVICE_EMAIL)
    return AlmConnection.objects.create(
        name="Fabrikam",
        kind="services",
        url=ado.org_url("fabrikam"),
        service_token=service["pat"],
        default_project="Fabrikam Fiber",
        is_default=True,
        last_test_identity_name=service["name"],
    )


@pytest.fixture
def alice_pat(ado) -> str:
    return demo_identity(ado, "alice@fabrikam.example")["pat"]


@pytest.fixture
def bob_pat(ado) -> str:
    return demo_identity(ado, "bob@fabrikam.example")["pat"]


@pytest.fixture
def alice_credential(alice, connection, alice_pat):
    """Alice's token saved and working (tested against the emulator)."""
    from profiles.services import save_credential

    credential, outcome = save_credential(user=alice, connection=connection, token=alice_pat)
    assert credential is not None, outcome
    return credential


@pytest.fixture
def listener():
    """A loopback host that records every request's Authorization header (tests.helpers.Listener)."""
    from tests.helpers import Listener

    server = Listener()
    yield server
    server.close()
