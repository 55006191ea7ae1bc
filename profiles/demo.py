"""The demo's ALM side: the connection to the emulator's organization and Bob's saved token.

Read from the emulator's own demo data file, so `seed_demo` works before the emulator runs.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from ado_emulator.entra import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from ado_emulator.model import TENANT_ID
from alm.models import AlmConnection
from alm.scopes import REQUIRED_PERMISSIONS

DEMO_FILE = Path(__file__).resolve().parent.parent / "ado_emulator" / "demo.json"


def _demo() -> dict:
    return json.loads(DEMO_FILE.read_text(encoding="utf-8"))


def seed_alm(*, users: dict, emulator_url: str) -> None:
    """Create the demo ALM connection and Bob's saved token (idempotent)."""
    from profiles.models import AlmCredential

    demo = _demo()
    people = {identity["email"]: identity for identity in demo["identities"]}
    service = people[demo["created_by"]]
    url = emulator_url.rstrip("/")
    connection, created = AlmConnection.objects.get_or_create(
        name="Fabrikam (demo)",
        defaults={
            "kind": AlmConnection.Kind.SERVICES,
            "url": url,
            "service_token": service["pat"]["token"],
            "default_project": demo["project"]["name"],
            "is_default": True,
            "allow_service_account_fallback": True,
            "last_test_identity_name": service["display_name"],
            "last_test_identity_email": service["email"],
        },
    )
    if not created and connection.url != url:
        # `make run EMULATOR_PORT=...` may start the emulator on another port than last time.
        # The demo's own tokens are entered again for the new address (a person's saved token waits for
        # its owner to test it there, as after any move).
        connection.url = url
        connection.set_service_token(service["pat"]["token"])
        connection.save(update_fields=["url", "service_token", "service_token_origin", "service_token_changed_at"])
        AlmCredential.objects.filter(user=users["bob"], connection=connection).update(origin=url)
    # Sign in with Microsoft: the connection offers both credential types, with the emulator's demo app.
    if not connection.entra_client_id:
        connection.credential_types = AlmConnection.CredentialTypes.BOTH
        connection.entra_tenant_id = TENANT_ID
        connection.entra_client_id = DEMO_CLIENT_ID
        connection.entra_client_secret = DEMO_CLIENT_SECRET
        connection.save()
    bob = users["bob"]
    identity = people[bob.email]
    AlmCredential.objects.get_or_create(
        user=bob,
        connection=connection,
        defaults={
            "token": identity["pat"]["token"],
            "ado_id": identity["id"],
            "ado_display_name": identity["display_name"],
            "ado_email": identity["email"],
            "permissions": [p.key for p in REQUIRED_PERMISSIONS],
            "expires_on": timezone.now() + timedelta(days=identity["pat"]["valid_days"]),
            "status": AlmCredential.Status.WORKING,
            "last_verified_at": timezone.now(),
            "origin": url,
        },
    )


def demo_tokens() -> list[tuple[str, str, str]]:
    """(name, e-mail, token) of each demo identity, for `make run` to print."""
    return [(i["display_name"], i["email"], i["pat"]["token"]) for i in _demo()["identities"]]
