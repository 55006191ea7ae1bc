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
