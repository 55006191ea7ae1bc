"""The demo's ALM side: the connection to the emulator's organization and Bob's saved token.

The people and their fixed demo tokens come from the emulator's demo identities, so `seed_demo` works
before the emulator runs.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ado_emulator import demo_identities as people
from ado_emulator.entra import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from ado_emulator.model import TENANT_ID
from alm.models import AlmConnection
from alm.scopes import REQUIRED_PERMISSIONS
from alm.token_state import address_key
from profiles.models import AlmCredential


def seed_alm(*, users: dict, emulator_url: str) -> None:
    """Create the demo ALM connection and Bob's saved token (idempotent)."""
    service = people.SERVICE_ACCOUNT
    url = emulator_url.rstrip("/")
    connection, created = AlmConnection.objects.get_or_create(
        name="Fabrikam (demo)",
        defaults={
            "kind": AlmConnection.Kind.SERVICES,
            "url": url,
            "service_token": service.token,
            "default_project": people.PROJECT,
            "is_default": True,
            "allow_service_account_fallback": True,
            "last_test_identity_name": service.display_name,
            "last_test_identity_email": service.email,
        },
    )
    bob = users["bob"]
    if not created and connection.url != url:
        # `make run EMULATOR_PORT=...` may start the emulator on another port than last time.
        # The demo's own tokens are entered again for the new address (a person's saved token waits for
        # its owner to test it there, as after any move).
        connection.url = url
        connection.set_service_token(service.token)
        connection.save(update_fields=["url", "service_token", "service_token_origin", "service_token_changed_at"])
        AlmCredential.objects.filter(user=bob, connection=connection).update(origin=address_key(url))
    # Sign in with Microsoft: the connection offers both credential types, with the emulator's demo app.
    if not connection.entra_client_id:
        connection.credential_types = AlmConnection.CredentialTypes.BOTH
        connection.entra_tenant_id = TENANT_ID
        connection.entra_client_id = DEMO_CLIENT_ID
        connection.entra_client_secret = DEMO_CLIENT_SECRET
        connection.save()
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
            "origin": url,
        },
    )


def demo_tokens() -> list[tuple[str, str, str]]:
    """(name, e-mail, token) of each demo identity, for `make run` to print."""
    return [(p.display_name, p.email, p.token) for p in people.PEOPLE]
