"""Where the signed-in user stands with each ALM connection, read once per request.

The banner (every page), the profile and the ALM Credentials page all need the connections and the
user's credential for each, with its state: the connections from the shared cache (alm.listing) and one
plain query for the user's credentials, memoised on the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from alm.listing import listed_connections
from alm.models import AlmConnection
from alm.token_state import TokenState
from profiles import state as states
from profiles.models import AlmCredential

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from profiles.auth import SignedInRequest

REQUEST_ATTRIBUTE = "_alm_standings"


@dataclass(frozen=True)
class Standing:
    connection: AlmConnection
    credential: AlmCredential | None
    state: TokenState

    @property
    def label(self) -> str:
        return states.label(self.state)

    @property
    def tone(self) -> str:
        return states.tone(self.state)

    @property
    def is_own(self) -> bool:
        return self.credential is not None and states.is_own_token(self.credential)


def standings_for(user: User) -> list[Standing]:
    """Every connection (the default first) with the user's credential for it and its state."""
    # The connections from the shared cache (alm.listing), without their secrets: only the user's
    # credentials are read from the database.
    connections = listed_connections()
    credentials = {credential.connection_id: credential for credential in AlmCredential.objects.filter(user=user)}
    result = []
    for connection in connections:
        credential = credentials.get(connection.pk)
        if credential is not None:
            credential.connection = connection
            credential.user = user
        result.append(Standing(connection, credential, states.credential_state(credential)))
    return result


def standings(request: SignedInRequest) -> list[Standing]:
    """`standings_for` the signed-in user, once per request."""
    cached = getattr(request, REQUEST_ATTRIBUTE, None)
    if cached is None:
        cached = standings_for(request.user)
        setattr(request, REQUEST_ATTRIBUTE, cached)
    return cached


def forget(request: SignedInRequest) -> None:
    """Drop the memo after the request itself changed a credential."""
    if hasattr(request, REQUEST_ATTRIBUTE):
        delattr(request, REQUEST_ATTRIBUTE)
