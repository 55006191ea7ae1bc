"""Shared fixtures: the Azure DevOps emulator (`ado`), users, and helpers."""

from __future__ import annotations

import pytest

pytest_plugins = ["alm.emulator.pytest_plugin"]


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


def demo_identity(ado, email: str) -> dict:
    """The emulator's demo identity (name, email, id, pat, ...) with this e-mail."""
    for identity in ado.demo_info()["identities"]:
        if identity["email"] == email:
            return identity
    raise LookupError(email)


SERVICE_EMAIL = "almlink-svc@fabrikam.example"


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
