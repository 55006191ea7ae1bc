"""Acting with a person's Microsoft sign-in: their Azure DevOps access token, refreshed silently.

The stored MSAL cache (EntraSignIn.cache, encrypted) keeps the refresh token; access tokens are kept in this
process's memory only, and never past their expiry. A refresh Entra ID refuses raises SignInEnded (a kind of
TokenRejected): callers treat it like a rejected token and never fall back to the service account.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

from django.db import transaction

from alm.check import TokenReport, check_token
from alm.client import AdoClient
from alm.entra import AccessToken, EntraClient
from alm.entra_services import entra_config_for
from alm.services import client_for
from profiles.entra_models import EntraSignIn
from profiles.models import AlmCredential

# An access token this close to its expiry is not used for a new call.
ACCESS_MARGIN = timedelta(minutes=5)

_access: dict[tuple[int, str], AccessToken] = {}
_access_lock = threading.Lock()


def stored_cache(client: EntraClient) -> str:
    """MSAL's serialized cache without its access tokens: only refresh tokens and accounts are stored."""
    data = json.loads(client.serialized_cache() or "{}")
    data["AccessToken"] = {}
    return json.dumps(data)


def remember(sign_in: EntraSignIn, token: AccessToken) -> None:
    with _access_lock:
        _access[(sign_in.pk, sign_in.account_id)] = token


def forget_access_tokens() -> None:
    with _access_lock:
        _access.clear()


def acting_sign_in(credential: AlmCredential | None) -> EntraSignIn | None:
    """The credential's Microsoft sign-in when it is what acts (not a PAT created from it)."""
    # Only a credential without a token can be a Microsoft sign-in: a PAT user costs no query here.
    if credential is None or credential.pk is None or credential.token is not None:
        return None
    return EntraSignIn.objects.filter(credential=credential, acting=True).first()


def access_token(sign_in: EntraSignIn, *, force_refresh: bool = False) -> AccessToken:
    """A current Azure DevOps access token for the sign-in; refreshes (and stores the rotated cache) when due."""
    key = (sign_in.pk, sign_in.account_id)
    with _access_lock:
        known = _access.get(key)
    if not force_refresh and known is not None and known.expires_at - ACCESS_MARGIN > datetime.now(UTC):
        return known
    connection = sign_in.credential.connection
    # One refresh at a time per sign-in: the refresh token rotates, and a second request must use the new one.
    with transaction.atomic():
        row = EntraSignIn.objects.select_for_update().get(pk=sign_in.pk)
        with EntraClient(entra_config_for(connection=connection), cache=row.cache) as client:
            token = client.user_token(account_id=row.account_id, force_refresh=True)
            EntraSignIn.objects.filter(pk=row.pk).update(cache=stored_cache(client))
    remember(sign_in, token)
    return token


def bearer_client(sign_in: EntraSignIn) -> AdoClient:
    """A client acting as the signed-in person (`Authorization: Bearer`). Raises SignInEnded."""
    connection = sign_in.credential.connection
    token = access_token(sign_in)
    # Sent only to the address the sign-in was verified against, like a saved token.
    return client_for(connection=connection, token=token.token, bound_to=sign_in.credential.origin, bearer=True)


def check_sign_in(sign_in: EntraSignIn) -> TokenReport:
    """Test Connection for a Microsoft sign-in: whose account, each permission (no expiry: sign-ins have none)."""
    connection = sign_in.credential.connection
    with bearer_client(sign_in) as client:
        return check_token(client, project=connection.default_project or None)
