"""The administrator's overview of everyone's credential state, per connection."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model

from alm.models import AlmConnection
from alm.token_state import State
from profiles.models import AlmCredential
from profiles.state import credential_state

STATES = tuple(State)


@dataclass(frozen=True)
class OverviewRow:
    username: str
    full_name: str
    email: str
    connection: str
    state: str
    ado_identity: str
    expires_on: datetime | None
    last_verified_at: datetime | None


def overview(*, state: str | None = None, connection_id: int | None = None) -> tuple[list[OverviewRow], Counter]:
    """Every active user and connection with its state (filtered), and the counts per state (unfiltered)."""
    connections = list(AlmConnection.objects.defer("service_token").order_by("-is_default", "name"))
    users = list(get_user_model().objects.filter(is_active=True).order_by("username"))
    saved = {(c.user_id, c.connection_id): c for c in AlmCredential.objects.all()}
    rows: list[OverviewRow] = []
    counts: Counter = Counter(dict.fromkeys(STATES, 0))
    for connection in connections:
        for user in users:
            credential = saved.get((user.pk, connection.pk))
            if credential is not None:
                credential.user, credential.connection = user, connection
            current = str(credential_state(credential).state)
            counts[current] += 1
            if (state and current != state) or (connection_id and connection.pk != connection_id):
                continue
            rows.append(
                OverviewRow(
                    username=user.get_username(),
                    full_name=user.get_full_name(),
                    email=user.email,
                    connection=connection.name,
                    state=current,
                    ado_identity=credential.ado_display_name if credential else "",
                    expires_on=credential.expires_on if credential else None,
                    last_verified_at=credential.last_verified_at if credential else None,
                )
            )
    return rows, counts
