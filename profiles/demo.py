"""The demo's ALM side: the connection to the emulator's organization and Bob's saved token.

The people and their fixed demo tokens come from the emulator's demo identities, so `seed_demo` works
before the emulator runs.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ado_emulator import demo_identities as people
from alm.models import AlmConnection
from alm.scopes import REQUIRED_PERMISSIONS
from profiles.models import AlmCredential


def seed_alm(*, users: dict, emulator_url: str) -> None:
    """Create the demo ALM connection and Bob's saved token (idempotent)."""
    service = people.SERVICE_ACCOUNT
    connection, _ = AlmConnection.objects.get_or_create(
        name="Fabrikam (demo)",
        defaults={
            "kind": AlmConnection.Kind.SERVICES,
            "url": emulator_url.rstrip("/"),
            "service_token": service.token,
            "default_project": people.PROJECT,
            "is_default": True,
            "allow_service_account_fallback": True,
            "last_test_identity_name": service.display_name,
            "last_test_identity_email": service.email,
        },
    )
    bob = users["bob"]
    person = next(p for p in people.PEOPLE if p.email == bob.email)
    AlmCredential.objects.get_or_create(
        user=bob,
        connection=connection,
        defaults={
            "token": person.token,
            "ado_id": person.id,
            "ado_display_name": person.display_name,
            "ado_email": person.email,
            "permissions": [p.key for p in REQUIRED_PERMISSIONS],
            "expires_on": timezone.now() + timedelta(days=person.valid_days),
            "status": AlmCredential.Status.WORKING,
            "last_verified_at": timezone.now(),
        },
    )


def demo_tokens() -> list[tuple[str, str, str]]:
    """(name, e-mail, token) of each demo identity, for `make run` to print."""
    return [(p.display_name, p.email, p.token) for p in people.PEOPLE]
