"""Where the signed-in user stands with each ALM connection, read once per request.

The banner (every page), the profile and the ALM Credentials page all need the connections and the
user's credential for each, with its state. Both are kept in the shared cache (alm.listing for the
connections, profiles.kept for the person's credentials, without the token) and read in one round trip;
what is not kept is read with plain queries. Memoised on the request. The state itself is decided afresh
on every request (profiles.state), as it depends on the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alm import listing
from alm.models import AlmConnection
from alm.token_state import TokenState
from profiles import kept
from profiles import state as states
from profiles.models import NOTED_READABLE, AlmCredential

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
    user_key = kept.entry_key(user.pk, _fingerprint())
    found = kept.read(listing.KEY, kept.VERSION_KEY, user_key)
    connections = found.get(listing.KEY)
    if connections is None:  # not kept (or the cache is down): one query, kept for the next page
        connections = listing.read_and_keep()
    version = found.get(kept.VERSION_KEY)
    entry = found.get(user_key)
    if entry is not None and version is not None and entry[0] == version:
        mine = [_thawed(row) for row in entry[1]]
    else:
        mine = list(AlmCredential.objects.filter(user=user))
        kept.keep(user_key, version, [_frozen(credential) for credential in mine])
    credentials = {credential.connection_id: credential for credential in mine}
    result = []
    for connection in connections:
        credential = credentials.get(connection.pk)
        if credential is not None:
            credential.connection = connection
            credential.user = user
        result.append(Standing(connection, credential, states.credential_state(credential)))
    return result


# A kept row: every column but the token, then whether a token is saved and whether it reads.
_COLUMNS = tuple(field.attname for field in AlmCredential._meta.concrete_fields if field.attname != "token")


def _fingerprint() -> str:
    """What the kept rows depend on besides the rows: their columns, and which keys read tokens."""
    return ",".join((*_COLUMNS, *states.readable_notes()))


def _frozen(credential: AlmCredential) -> tuple[Any, ...]:
    return (*(getattr(credential, name) for name in _COLUMNS), credential.token is not None, credential.token_readable)


def _thawed(row: tuple[Any, ...]) -> AlmCredential:
    """A credential from a kept row: its token is not loaded (reading it queries the database)."""
    *values, has_token, readable = row
    credential = AlmCredential.from_db(None, list(_COLUMNS), values)
    setattr(credential, NOTED_READABLE, readable)
    if not has_token:
        credential.token = None  # a sign-in: nothing to load
    return credential


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
