"""What the app does with a connection's Entra ID app registration: its configuration, its own token, its test.

The ALM connection may act as the app's service principal (client credentials) instead of a service account's
PAT. Its app-only access token is kept in this process's memory only, and never past its expiry.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from alm.client import AdoClient
from alm.connection_urls import address_policy
from alm.entra import AccessToken, EntraClient, EntraConfig
from alm.exceptions import EntraMisconfigured, TokenUnreadable
from alm.fields import is_unreadable
from alm.models import AlmConnection

# Renew an app token this long before it expires, so a call never starts with a token about to lapse.
APP_TOKEN_MARGIN = timedelta(minutes=5)

_app_tokens: dict[tuple[int | None, str], AccessToken] = {}
_app_tokens_lock = threading.Lock()


@sensitive_variables("secret")
def entra_config_for(*, connection: AlmConnection, secret: str | None = None) -> EntraConfig:
    """The connection's app registration as the Entra client takes it (`secret` overrides the saved one)."""
    secret = connection.entra_client_secret if secret is None else secret
    if is_unreadable(secret):
        raise TokenUnreadable("The saved client secret")
    if not (connection.entra_tenant_id and connection.entra_client_id and secret):
        raise EntraMisconfigured("client")
    return EntraConfig(
        tenant_id=connection.entra_tenant_id,
        client_id=connection.entra_client_id,
        client_secret=str(secret),
        authority_host=settings.ALM_ENTRA_AUTHORITY_HOST,
        ca_bundle=settings.ALM_ENTRA_CA_BUNDLE or None,
        timeout=settings.ALM_HTTP_TIMEOUT,
    )


def entra_client_for(*, connection: AlmConnection, cache: str | None = None) -> EntraClient:
    return EntraClient(entra_config_for(connection=connection), cache=cache)


def _cache_key(config: EntraConfig, connection: AlmConnection) -> tuple[int | None, str]:
    # A changed tenant, client or secret is a different key: no token outlives the settings it came from.
    fingerprint = hashlib.sha256(f"{config.authority}\0{config.client_id}\0{config.client_secret}".encode()).hexdigest()
    return (connection.pk, fingerprint)


def app_token(*, connection: AlmConnection) -> AccessToken:
    """The service principal's access token for Azure DevOps, from memory while it lasts."""
    config = entra_config_for(connection=connection)
    key = _cache_key(config, connection)
    with _app_tokens_lock:
        known = _app_tokens.get(key)
    if known is not None and known.expires_at - APP_TOKEN_MARGIN > datetime.now(UTC):
        return known
    with EntraClient(config) as client:
        token = client.app_token()
    with _app_tokens_lock:
        _app_tokens[key] = token
    return token


def forget_app_tokens() -> None:
    """Drop every remembered app token (after a connection's settings change, and between tests)."""
    with _app_tokens_lock:
        _app_tokens.clear()


def service_principal_client(*, connection: AlmConnection) -> AdoClient:
    """A client acting as the connection's service principal (`Authorization: Bearer`)."""
    token = app_token(connection=connection)
    return AdoClient(
        connection.url,
        token.token,
        timeout=settings.ALM_HTTP_TIMEOUT,
        kind=connection.kind,
        bearer=True,
        addresses=address_policy(connection.kind),
    )


@sensitive_variables("secret")
def check_entra_configuration(*, connection: AlmConnection, secret: str | None = None) -> None:
    """Test the app registration itself: Entra ID must issue the app a token (client credentials).

    That proves the tenant, the client id and the secret; it cannot prove the redirect URI or the delegated
    permissions, which only a user's sign-in exercises. Raises EntraMisconfigured or Unreachable.
    """
    with EntraClient(entra_config_for(connection=connection, secret=secret)) as client:
        client.app_token()
