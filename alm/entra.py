"""Microsoft Entra ID for Azure DevOps, through Microsoft's `msal`: sign-in, silent refresh, the app's own token.

Knows nothing about users or Django: the caller keeps MSAL's serialized token cache (encrypted) and the
in-progress sign-in (`flow`), and hands them back. Every failure becomes an `alm.exceptions.AdoError`:
the sign-in attempt failed (`SignInFailed`), the user's sign-in has ended and they must sign in again
(`SignInEnded`, a kind of `TokenRejected`), the app registration is wrong (`EntraMisconfigured`), or the
authority could not be reached (`Unreachable`, `RequestTimedOut`).

Why msal and not hand-written OAuth: it is Microsoft's own client, does PKCE, `state` and `nonce` for the
authorization code flow, keys its token cache by account and refreshes from it; nothing measured argues
against it. Its HTTP goes through our `requests.Session` so the CA bundle and the timeout are ours.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msal
import requests

from alm.exceptions import EntraMisconfigured, RequestTimedOut, SignInEnded, SignInFailed, Unreachable
from alm.scopes import REQUIRED_PERMISSIONS
from alm.transport import SessionOwner

logger = logging.getLogger(__name__)

# The Azure DevOps resource (application) id in Entra ID; v2.0 scopes must be qualified with it
# (docs/azure-devops-behaviours.md §9).
ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
# "Create my token for me" calls the PAT lifecycle API, whose Entra scope for creating is vso.pats_manage
# (docs/azure-devops-behaviours.md §4.3, the 7.2 spec's EntraOAuth scopes).
PATS_SCOPE = "vso.pats_manage"
# The delegated permissions a user's sign-in asks for: the five almlink needs, plus PATS_SCOPE.
DELEGATED_SCOPES: tuple[str, ...] = (*(p.scope for p in REQUIRED_PERMISSIONS), PATS_SCOPE)
# Client credentials take only the resource's `.default` (AADSTS1002012 otherwise).
APP_SCOPE = f"{ADO_RESOURCE}/.default"

# AADSTS codes after which only an interactive sign-in helps, and how the app words the reason.
_ENDED: dict[int, str] = {
    50173: "revoked",  # grant revoked: password changed or reset, sessions revoked
    70008: "inactive",  # code or refresh token expired through inactivity
    700082: "inactive",  # refresh token expired through inactivity
    700084: "inactive",  # single-page-app refresh token lifetime over
    65001: "consent",  # consent missing or withdrawn
    50076: "conditional_access",  # multi-factor authentication now required
    50079: "conditional_access",  # multi-factor registration required
    53003: "conditional_access",  # blocked by Conditional Access
    50078: "conditional_access",  # presented MFA expired
    50133: "revoked",  # session invalid after a password change
    50057: "disabled",  # user account disabled
    50034: "disabled",  # user account does not exist
}
# The app registration itself is wrong: the administrator must fix it.
_MISCONFIGURED: dict[int, str] = {
    7000215: "secret",
    7000222: "secret_expired",
    7000218: "secret",
    700016: "client_id",
    90002: "tenant",
    900023: "tenant",
    50011: "redirect_uri",
    500113: "redirect_uri",
    70011: "scope",
    650057: "permissions",
}


def delegated_scopes(scopes: tuple[str, ...] = DELEGATED_SCOPES) -> list[str]:
    return [f"{ADO_RESOURCE}/{scope}" for scope in scopes]


@dataclass(frozen=True)
class EntraConfig:
    """One app registration: where the directory is, who the app is, and how to reach the authority."""

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    authority_host: str = DEFAULT_AUTHORITY_HOST
    # A CA file to trust instead of the system's (the emulator's authority in development and tests).
    ca_bundle: str | None = None
    timeout: float = 10.0

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}"


@dataclass(frozen=True)
class AccessToken:
    """An access token for Azure DevOps, kept only in memory, never longer than it lives."""

    token: str = field(repr=False)
    expires_at: datetime

    def __repr__(self) -> str:
        return f"AccessToken(<redacted>, expires_at={self.expires_at.isoformat()})"


@dataclass(frozen=True)
class SignIn:
    """The outcome of a completed sign-in."""

    account_id: str  # MSAL's home_account_id: the key into the token cache
    username: str
    name: str
    access: AccessToken


@dataclass(frozen=True)
class SignInStart:
    url: str  # where to send the browser
    flow: dict[str, Any] = field(repr=False)  # keep server-side until the callback; holds the PKCE verifier


def _now() -> datetime:
    return datetime.now(UTC)


class EntraClient(SessionOwner):
    """An msal ConfidentialClientApplication bound to one app registration and one serialized cache."""

    def __init__(self, config: EntraConfig, *, cache: str | None = None) -> None:
        self.config = config
        self._cache = msal.SerializableTokenCache()
        if cache:
            self._cache.deserialize(cache)
        self._session = requests.Session()
        if config.ca_bundle:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `verify` unless the environment is
            # ignored (docs/azure-devops-behaviours.md §9, tried), so with our own CA the environment is not consulted.
            self._session.trust_env = False
            self._session.verify = config.ca_bundle
        self._app: msal.ConfidentialClientApplication | None = None

    def __repr__(self) -> str:
        return f"EntraClient(authority={self.config.authority!r}, client_id={self.config.client_id!r})"

    def _msal(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            # Building the application reads the authority's OpenID configuration over the network.
            self._app = self._call(
                lambda: msal.ConfidentialClientApplication(
                    self.config.client_id,
                    client_credential=self.config.client_secret,
                    authority=self.config.authority,
                    # Instance discovery asks login.microsoftonline.com about the host; off, so a sovereign
                    # cloud or the emulator's loopback authority is taken as configured.
                    instance_discovery=False,
                    http_client=self._session,
                    token_cache=self._cache,
                    timeout=self.config.timeout,
                )
            )
        return self._app

    # --- the token cache ---------------------------------------------------------------------------

    def cache_changed(self) -> bool:
        return bool(self._cache.has_state_changed)

    def serialized_cache(self) -> str:
        """MSAL's cache (refresh and access tokens): the caller stores it encrypted."""
        return self._cache.serialize()

    # --- a user's sign-in --------------------------------------------------------------------------

    def begin_sign_in(self, *, redirect_uri: str, login_hint: str | None = None) -> SignInStart:
        """The authorization URL (PKCE S256, `state`, `nonce`) and the flow to keep until the callback."""
        app = self._msal()
        with warnings.catch_warnings():
            # The answer comes back in the query, not as a form_post: the callback needs the Django session
            # (which holds the flow), and its SameSite=Lax cookie is not sent with a cross-site POST. The code
            # in the URL is single-use and PKCE-bound, and the callback redirects at once (RFC 9700 4.3.1).
            warnings.filterwarnings("ignore", message="response_mode='form_post'", category=UserWarning)
            flow = app.initiate_auth_code_flow(
                delegated_scopes(), redirect_uri=redirect_uri, login_hint=login_hint, response_mode="query"
            )
        return SignInStart(url=flow["auth_uri"], flow=flow)

    def finish_sign_in(self, *, flow: Mapping[str, Any], response: Mapping[str, str]) -> SignIn:
        """Redeem the callback's code; MSAL checks `state`, sends the PKCE verifier and checks the `nonce`."""
        if "error" in response:
            raise SignInFailed(_reason_of(response), detail=_description(response))
        try:
            result = self._call(lambda: self._msal().acquire_token_by_auth_code_flow(dict(flow), dict(response)))
        except ValueError as error:
            # MSAL raises ValueError for a state mismatch, a missing state and a nonce mismatch.
            raise SignInFailed("state") from error
        self._raise_for(result, during_sign_in=True)
        claims = result.get("id_token_claims") or {}
        accounts = self._msal().get_accounts()
        oid, tid = claims.get("oid"), claims.get("tid")
        account = next(
            (a for a in accounts if a.get("local_account_id") == oid and a.get("realm") == tid),
            accounts[0] if accounts else None,
        )
        if account is None:
            raise SignInFailed("no_account")
        return SignIn(
            account_id=account["home_account_id"],
            username=str(claims.get("preferred_username") or account.get("username") or ""),
            name=str(claims.get("name") or ""),
            access=_access(result),
        )

    def user_token(self, *, account_id: str, force_refresh: bool = False) -> AccessToken:
        """A current access token for the signed-in user, refreshed silently when due (or when forced)."""
        app = self._msal()
        account = next((a for a in app.get_accounts() if a.get("home_account_id") == account_id), None)
        if account is None:
            raise SignInEnded("missing")
        result = self._call(
            lambda: app.acquire_token_silent_with_error(
                delegated_scopes(), account=account, force_refresh=force_refresh
            )
        )
        if result is None:
            # No refresh token in the cache for these scopes.
            raise SignInEnded("missing")
        self._raise_for(result, during_sign_in=False)
        return _access(result)

    def forget(self, *, account_id: str) -> None:
        app = self._msal()
        for account in app.get_accounts():
            if account.get("home_account_id") == account_id:
                app.remove_account(account)

    # --- the app itself (client credentials) -------------------------------------------------------

    def app_token(self) -> AccessToken:
        """An app-only token for Azure DevOps: the service principal's identity (client credentials)."""
        result = self._call(lambda: self._msal().acquire_token_for_client([APP_SCOPE]))
        self._raise_for(result, during_sign_in=False, app_only=True)
        return _access(result)

    # --- errors -------------------------------------------------------------------------------------

    def _call(self, action: Any) -> Any:
        try:
            return action()
        except requests.exceptions.SSLError as error:
            raise Unreachable("tls", url=self.config.authority_host) from error
        except requests.exceptions.Timeout as error:
            raise RequestTimedOut(self.config.timeout, url=self.config.authority_host) from error
        except requests.exceptions.ConnectionError as error:
            raise Unreachable("refused", url=self.config.authority_host) from error
        except requests.exceptions.RequestException as error:
            raise Unreachable("network", url=self.config.authority_host) from error

    def _raise_for(self, result: Mapping[str, Any], *, during_sign_in: bool, app_only: bool = False) -> None:
        if "access_token" in result:
            return
        code = _code(result)
        # The description names codes and ids, never a token; it goes to the log, not to pages.
        logger.info("Entra ID refused a token request: %s (AADSTS%s)", result.get("error"), code)
        if code in _MISCONFIGURED or result.get("error") in {"invalid_client", "unauthorized_client"}:
            raise EntraMisconfigured(_MISCONFIGURED.get(code or 0, "client"), code=code)
        if app_only:
            raise EntraMisconfigured("client", code=code)
        if during_sign_in:
            raise SignInFailed(_reason_of(result), code=code)
        reason = _ENDED.get(code or 0)
        if reason is None and result.get("error") in {"invalid_grant", "interaction_required", "consent_required"}:
            reason = "unknown"
        if reason is not None:
            raise SignInEnded(reason, code=code)
        raise SignInFailed("unknown", code=code)


def _code(result: Mapping[str, Any]) -> int | None:
    codes = result.get("error_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return codes[0]
    return None


def _reason_of(result: Mapping[str, Any]) -> str:
    code = _code(result)
    if result.get("error") == "access_denied":
        return "declined"
    return {54005: "code_used", 70008: "code_expired", 501481: "pkce", 50148: "pkce", 9002325: "pkce"}.get(
        code or 0, "unknown"
    )


def _description(result: Mapping[str, Any]) -> str:
    # The first line only: "AADSTS65004: User declined to consent to access the app."
    return str(result.get("error_description") or "").splitlines()[0][:200] if result.get("error_description") else ""


def _access(result: Mapping[str, Any]) -> AccessToken:
    expires_in = int(result.get("expires_in") or 0)
    return AccessToken(token=str(result["access_token"]), expires_at=_now() + timedelta(seconds=expires_in))
