"""The emulator's Microsoft Entra ID authority: just enough of login.microsoftonline.com for MSAL and Azure DevOps.

Served over HTTPS on loopback (MSAL accepts only https authorities) with a CA made at start (`tls.py`); the CA
file is `EntraAuthority.ca_bundle`. Endpoints below `https://127.0.0.1:PORT/{tenant}`:

    GET  /v2.0/.well-known/openid-configuration   OpenID discovery (MSAL reads it first)
    GET  /discovery/v2.0/keys                      JWKS: one RS256 key
    GET  /oauth2/v2.0/authorize                    a plain HTML page: pick a demo identity, Accept or Cancel
    POST /oauth2/v2.0/authorize                    that form: redirects to redirect_uri with code and state
    POST /oauth2/v2.0/token                        authorization_code (PKCE), refresh_token (rotated),
                                                   client_credentials

Control API (JSON, no authentication), on the same server:

    GET  /_emulator/entra                          authority URL, tenant, the demo app's client id and secret
    POST /_emulator/entra/end-sign-in              {email | identity_id, reason: revoked|consent|inactive|mfa}
    POST /_emulator/entra/token-lifetime           {seconds}  lifetime of access tokens issued from now on
    POST /_emulator/entra/restrict-pat-creation    {org, restricted: bool}
    POST /_emulator/entra/redirect-uris            {uri}  register a non-loopback redirect URI on the demo app
    POST /_emulator/entra/service-principal        {org?}  add the demo app's service principal to an organization

Error answers use Entra's shape and codes: {"error", "error_description": "AADSTSnnnn: ...", "error_codes": [n],
"timestamp", "trace_id", "correlation_id", "error_uri"} (the shape every MSAL issue thread quotes; e.g.
AzureAD/microsoft-identity-web#2328 for AADSTS54005). The entra facts file does not list error codes: the codes
and their wording come from Microsoft's public error-code reference as quoted in public issue threads
(AADSTS501481, AADSTS54005, AADSTS70008, AADSTS50173, AADSTS700082, AADSTS7000215, AADSTS65001, AADSTS50076,
AADSTS700016, AADSTS50011, AADSTS70011, AADSTS1002012). Where the sources are silent the comment says so.

Access tokens are v1-style JWTs for the Azure DevOps resource (`aud` = 499b84ac-1321-427f-aa17-267ca6975798),
with `scp` (delegated) or `idtyp: app` (client credentials), `oid`, `tid`, `iat`, `exp`. The Azure DevOps side of
the emulator checks them with `verify_access_token`. No Django in here.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import socket
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from ado_emulator.model import TENANT_ID, Identity
from ado_emulator.tls import LoopbackTls

if TYPE_CHECKING:
    from ado_emulator.state import State

# The Azure DevOps resource (application) id in Entra ID (entra facts; api-facts 1.2).
ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})

# The demo app registration (an obviously fake secret, like the demo PATs) and its service principal.
DEMO_CLIENT_ID = "a1a1c0de-0e17-4a11-8b1e-00000000a1a1"
DEMO_CLIENT_SECRET = "emulator0demo0client0secret0not0real"  # noqa: S105 - fixed, obviously fake demo value
DEMO_APP_NAME = "almlink"
DEMO_SERVICE_PRINCIPAL_ID = "5e4c1ce0-9a1b-4c2d-8e3f-00000000a1a1"
# Delegated permissions on the Azure DevOps resource that the demo registration has configured (used for
# `.default`): the five almlink needs, plus vso.pats_manage for the PAT lifecycle API (api-facts 4.3: the 7.2
# spec's EntraOAuth scopes are vso.pats for GET and vso.pats_manage for POST/PUT/DELETE).
DEMO_PERMISSIONS = (
    "vso.memberentitlementmanagement",
    "vso.project_manage",
    "vso.tokenadministration",
    "vso.tokens",
    "vso.work_full",
    "vso.pats_manage",
)

CODE_LIFETIME = timedelta(minutes=10)  # Entra's documented authorization-code lifetime (about 10 minutes)
REFRESH_INACTIVITY = timedelta(days=90)  # Entra's default refresh-token inactivity limit (AADSTS700082)
END_REASONS = ("revoked", "consent", "inactive", "mfa")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def pkce_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(ascii(code_verifier))) (RFC 7636 section 4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class AppRegistration:
    client_id: str
    name: str
    secret: str = field(repr=False)
    service_principal_id: str
    permissions: tuple[str, ...] = DEMO_PERMISSIONS
    # Exact redirect URIs; loopback http URIs match whatever their port (see _redirect_allowed).
    redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Code:
    client_id: str
    redirect_uri: str
    identity_id: str
    scopes: tuple[str, ...]  # resource scopes, short names ("vso.work_write")
    oidc: frozenset[str]
    nonce: str | None
    challenge: str | None
    challenge_method: str | None
    issued: datetime
    redeemed: bool = False


@dataclass(frozen=True)
class _Refresh:
    client_id: str
    identity_id: str
    scopes: tuple[str, ...]
    issued: datetime
    last_used: datetime
    rotated: bool = False


@dataclass(frozen=True)
class VerifiedToken:
    """What Azure DevOps learns from a valid bearer token."""

    identity_id: str
    scopes: str  # space-separated scope ids, "app_token" for full access
    app_only: bool


class EntraError(Exception):
    def __init__(self, status: int, error: str, code: int, description: str, suberror: str | None = None) -> None:
        super().__init__(f"AADSTS{code}: {description}")
        self.status, self.error, self.code, self.description, self.suberror = status, error, code, description, suberror


def _invalid_grant(code: int, description: str, suberror: str | None = None) -> EntraError:
    return EntraError(400, "invalid_grant", code, description, suberror)


class EntraAuthority:
    """One tenant, its app registrations, consents and grants; identities come from the emulator's state."""

    def __init__(self, state_of: Any) -> None:
        # `state_of()` returns the emulator's current State (it is replaced on every reset).
        self._state_of = state_of
        self.tenant_id = TENANT_ID
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = _b64url(hashlib.sha256(str(uuid.uuid4()).encode()).digest()[:16])
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tls: LoopbackTls | None = None
        self.reset()

    # --- lifecycle -----------------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> EntraAuthority:
        self._tls = LoopbackTls(host)
        server = _Server((host, port), _Handler)
        server.authority = self
        server.tls = self._tls
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tls is not None:
            self._tls.close()
            self._tls = None

    def reset(self) -> None:
        """Forget every grant, consent and switch; keep the signing key and the demo app registration."""
        with self._lock:
            self.apps: dict[str, AppRegistration] = {}
            self._codes: dict[str, _Code] = {}
            self._refresh: dict[str, _Refresh] = {}
            self._consents: dict[tuple[str, str], set[str]] = {}
            self._valid_from: dict[str, datetime] = {}
            self._mfa_required: set[str] = set()
            self.pat_creation_restricted: set[str] = set()
            self.access_token_lifetime = timedelta(seconds=3599)
            self.register_app(
                AppRegistration(
                    client_id=DEMO_CLIENT_ID,
                    name=DEMO_APP_NAME,
                    secret=DEMO_CLIENT_SECRET,
                    service_principal_id=DEMO_SERVICE_PRINCIPAL_ID,
                )
            )

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Entra authority is not running")
        host, port = self._server.server_address[:2]
        return f"https://{host!s}:{port}"

    @property
    def authority(self) -> str:
        """What MSAL takes as `authority=`."""
        return f"{self.base_url}/{self.tenant_id}"

    @property
    def ca_bundle(self) -> str:
        if self._tls is None:
            raise RuntimeError("the Entra authority is not running")
        return str(self._tls.ca_bundle)

    @property
    def state(self) -> State:
        return self._state_of()

    def now(self) -> datetime:
        return self.state.now()

    # --- test and control API ------------------------------------------------------------------------------

    def register_app(self, app: AppRegistration) -> AppRegistration:
        with self._lock:
            self.apps[app.client_id] = app
        return app

    def add_redirect_uri(self, uri: str, client_id: str = DEMO_CLIENT_ID) -> AppRegistration:
        """Register one more redirect URI on the app (loopback http URIs need none)."""
        with self._lock:
            app = self.apps[client_id]
            return self.register_app(replace(app, redirect_uris=(*app.redirect_uris, uri)))

    def add_service_principal(self, client_id: str = DEMO_CLIENT_ID, *, org: str = "fabrikam") -> Identity:
        """Make the app's service principal a member of `org` (as an administrator adds it to Azure DevOps)."""
        app = self.apps[client_id]
        state = self.state
        existing = state.identity(app.service_principal_id)
        if existing is not None:
            state.add_member(existing, org)
            return existing
        # Azure DevOps shows a service principal by its name; what it gives as uniqueName is not in the facts,
        # so the application id stands in.
        return state.add_identity(org=org, display_name=app.name, email=app.client_id, id=app.service_principal_id)

    def _identity(self, who: Identity | str) -> Identity:
        if isinstance(who, Identity):
            return who
        found = self.state.identity(who) or self.state.identity_by_email(who)
        if found is None:
            raise KeyError(f"no identity {who!r}")
        return found

    def end_sign_in(self, who: Identity | str, reason: str = "revoked") -> None:
        """End a user's sign-in the way the real directory does, so the next refresh fails with its real code.

        - revoked: "revoke sessions" or a password reset: refresh tokens issued before now fail with
          AADSTS50173, and access tokens issued before now are refused by Azure DevOps (continuous access
          evaluation; that Azure DevOps refuses them at once is not in the facts).
        - consent: the user's consent to the app is removed: refresh fails with AADSTS65001.
        - inactive: the refresh tokens have not been used for longer than the inactivity limit: AADSTS700082.
        - mfa: Conditional Access now demands multi-factor authentication: AADSTS50076.
        """
        identity = self._identity(who)
        if reason not in END_REASONS:
            raise ValueError(f"reason must be one of {', '.join(END_REASONS)}")
        with self._lock:
            if reason == "revoked":
                self._valid_from[identity.id] = self.now()
            elif reason == "consent":
                for key in [k for k in self._consents if k[0] == identity.id]:
                    del self._consents[key]
            elif reason == "inactive":
                long_ago = self.now() - REFRESH_INACTIVITY - timedelta(days=1)
                for token, grant in list(self._refresh.items()):
                    if grant.identity_id == identity.id:
                        self._refresh[token] = replace(grant, last_used=long_ago)
            else:
                self._mfa_required.add(identity.id)

    def consented(self, who: Identity | str, client_id: str = DEMO_CLIENT_ID) -> set[str]:
        with self._lock:
            return set(self._consents.get((self._identity(who).id, client_id), set()))

    def config(self) -> dict[str, Any]:
        """The values the app needs, as GET /_emulator/entra serves them."""
        return {
            "authority": self.authority,
            "tenant_id": self.tenant_id,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "ca_bundle": self.ca_bundle,
            "resource": ADO_RESOURCE,
        }

    # --- tokens --------------------------------------------------------------------------------------------

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.key_id})

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.key_id, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def _access_token(self, *, subject: str, scopes: Iterable[str] | None, client_id: str) -> tuple[str, int]:
        now = self.now()
        lifetime = self.access_token_lifetime
        claims: dict[str, Any] = {
            "aud": ADO_RESOURCE,
            # Azure DevOps' registration takes v1 access tokens, issued by sts.windows.net; not in the facts.
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "appid": client_id,
            "oid": subject,
            "sub": subject,
            "tid": self.tenant_id,
            "uti": _b64url(secrets.token_bytes(16)),
            "ver": "1.0",
        }
        if scopes is None:
            claims["idtyp"] = "app"
        else:
            claims["scp"] = " ".join(scopes)
        return self._sign(claims), int(lifetime.total_seconds())

    def verify_access_token(self, token: str) -> VerifiedToken | None:
        """Azure DevOps' check of a bearer token: signature, audience, issuer, expiry, sign-in still valid."""
        try:
            claims = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=ADO_RESOURCE,
                issuer=f"https://sts.windows.net/{self.tenant_id}/",
                # Expiry is checked against the emulator's clock below, not the machine's.
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return None
        now = self.now().timestamp()
        if not (claims.get("nbf", 0) <= now < claims.get("exp", 0)) or claims.get("tid") != self.tenant_id:
            return None
        subject = str(claims.get("oid", ""))
        with self._lock:
            valid_from = self._valid_from.get(subject)
        if valid_from is not None and claims.get("iat", 0) < int(valid_from.timestamp()) + 1:
            return None
        if claims.get("idtyp") == "app":
            # An app token carries no scp: what a service principal may do is its Azure DevOps permissions,
            # like a full-access user (not in the facts).
            return VerifiedToken(subject, "app_token", app_only=True)
        scp = str(claims.get("scp", "")).split()
        if not scp:
            return None
        # user_impersonation is the resource's "full access" delegated permission.
        scopes = "app_token" if "user_impersonation" in scp else " ".join(scp)
        return VerifiedToken(subject, scopes, app_only=False)

    # --- the OAuth endpoints -------------------------------------------------------------------------------

    def _app(self, client_id: str | None) -> AppRegistration:
        app = self.apps.get(client_id or "")
        if app is None:
            raise EntraError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{self.tenant_id}'. "
                "This can happen if the application has not been installed by the administrator of the tenant "
                "or consented to by any user in the tenant.",
            )
        return app

    @staticmethod
    def _redirect_allowed(app: AppRegistration, uri: str) -> bool:
        if uri in app.redirect_uris:
            return True
        # Loopback redirect URIs match whatever their port (Entra's redirect URI rules for localhost);
        # the demo registration has none registered, so any loopback http URI is accepted, which lets
        # tests' live servers on random ports use it.
        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost"}

    def _split_scopes(self, text: str) -> tuple[tuple[str, ...], frozenset[str], bool]:
        """(resource scope short names, OIDC scopes, `.default` asked) from a space-separated scope string."""
        resource: list[str] = []
        oidc: set[str] = set()
        default = False
        for scope in text.split():
            if scope in OIDC_SCOPES:
                oidc.add(scope)
                continue
            prefix, _, name = scope.rpartition("/")
            if prefix.lower() not in {ADO_RESOURCE, f"api://{ADO_RESOURCE}", "https://app.vssps.visualstudio.com"}:
                raise EntraError(
                    400,
                    "invalid_scope",
                    70011,
                    f"The provided request must include a 'scope' input parameter. The provided value for the "
                    f"input parameter 'scope' is not valid. The scope {scope} is not valid.",
                )
            if name == ".default":
                default = True
            else:
                resource.append(name)
        return tuple(resource), frozenset(oidc), default

    def authorize_request(self, params: dict[str, str]) -> tuple[AppRegistration, tuple[str, ...], frozenset[str]]:
        """Validate an authorize request; errors before the redirect URI is trusted are shown, not redirected."""
        app = self._app(params.get("client_id"))
        redirect_uri = params.get("redirect_uri", "")
        if not self._redirect_allowed(app, redirect_uri):
            raise EntraError(
                400,
                "invalid_request",
                50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
                f"configured for the application '{app.client_id}'.",
            )
        if params.get("response_type") != "code":
            raise EntraError(
                400,
                "unsupported_response_type",
                70000,
                "The provided value for the input parameter "
                "'response_type' is not allowed for this request. Expected value: code.",
            )
        resource, oidc, default = self._split_scopes(params.get("scope", ""))
        scopes = app.permissions if default else resource
        return app, tuple(dict.fromkeys(scopes)), oidc

    def grant_code(self, params: dict[str, str], identity_id: str) -> str:
        app, scopes, oidc = self.authorize_request(params)
        method = params.get("code_challenge_method") or ("plain" if params.get("code_challenge") else None)
        code = _b64url(secrets.token_bytes(32))
        with self._lock:
            self._consents.setdefault((identity_id, app.client_id), set()).update(scopes)
            self._mfa_required.discard(identity_id)  # an interactive sign-in satisfies the demand
            self._codes[code] = _Code(
                client_id=app.client_id,
                redirect_uri=params["redirect_uri"],
                identity_id=identity_id,
                scopes=scopes,
                oidc=oidc,
                nonce=params.get("nonce"),
                challenge=params.get("code_challenge"),
                challenge_method=method,
                issued=self.now(),
            )
        return code

    def _client(self, form: dict[str, str], basic: tuple[str, str] | None) -> AppRegistration:
        client_id = form.get("client_id") or (basic[0] if basic else None)
        secret = form.get("client_secret") or (basic[1] if basic else None)
        app = self._app(client_id)
        if not secret:
            raise EntraError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        if not secrets.compare_digest(secret.encode(), app.secret.encode()):
            raise EntraError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                f"value, not the client secret ID, for a secret added to app '{app.client_id}'.",
            )
        return app

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        grant = form.get("grant_type")
        app = self._client(form, basic)
        if grant == "authorization_code":
            return self._redeem_code(app, form)
        if grant == "refresh_token":
            return self._redeem_refresh(app, form)
        if grant == "client_credentials":
            return self._client_credentials(app, form)
        raise EntraError(
            400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
        )

    def _redeem_code(self, app: AppRegistration, form: dict[str, str]) -> dict[str, Any]:
        text = form.get("code", "")
        with self._lock:
            code = self._codes.get(text)
            if code is None or code.client_id != app.client_id:
                # Wording for an unknown code: not confirmed.
                raise _invalid_grant(9002313, "Invalid request. Request is malformed or invalid.")
            if code.redeemed:
                raise _invalid_grant(
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
                    "existing refresh token.",
                )
            if self.now() - code.issued > CODE_LIFETIME:
                raise _invalid_grant(
                    70008,
                    "The provided authorization code or refresh token has expired due to inactivity. Send a new "
                    "interactive authorization request for this user and resource.",
                )
            if form.get("redirect_uri") != code.redirect_uri:
                # Which code Entra gives for a redirect_uri differing from the authorize request's is not in
                # the sources; AADSTS50011 is its redirect-URI mismatch.
                raise EntraError(
                    400,
                    "invalid_grant",
                    50011,
                    "The redirect URI specified in the request does not match the redirect URI of the "
                    "authorization code.",
                )
            # PKCE is enforced: a code issued without an S256 challenge cannot be redeemed. Entra requires PKCE
            # only for single-page apps (AADSTS9002325); the emulator is stricter so a client that drops PKCE
            # fails here instead of in production.
            verifier = form.get("code_verifier", "")
            if code.challenge is None or code.challenge_method != "S256":
                raise EntraError(
                    400,
                    "invalid_request",
                    9002325,
                    "Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
                )
            if not verifier or not secrets.compare_digest(pkce_challenge(verifier), code.challenge):
                raise _invalid_grant(
                    501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."
                )
            # A code is single use even when the redemption fails later on.
            self._codes[text] = replace(code, redeemed=True)
        return self._issue(app, code.identity_id, code.scopes, code.oidc, nonce=code.nonce)

    def _redeem_refresh(self, app: AppRegistration, form: dict[str, str]) -> dict[str, Any]:
        text = form.get("refresh_token", "")
        with self._lock:
            grant = self._refresh.get(text)
            if grant is None or grant.client_id != app.client_id or grant.rotated:
                # A used (rotated) refresh token is refused. Entra replaces the refresh token on every use;
                # whether the old one keeps working is not in the sources, so the emulator takes the strict
                # reading, which catches a client that loses the rotated token. Wording for an unknown
                # refresh token: not confirmed.
                raise _invalid_grant(9002313, "Invalid request. Request is malformed or invalid.")
            now = self.now()
            valid_from = self._valid_from.get(grant.identity_id)
            if valid_from is not None and grant.issued <= valid_from:
                raise _invalid_grant(
                    50173,
                    "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user "
                    "might have changed or reset their password. The grant was issued on "
                    f"'{grant.issued.isoformat()}' and the TokensValidFrom date (before which tokens are not valid) "
                    f"for this user is '{valid_from.isoformat()}'.",
                )
            if now - grant.last_used > REFRESH_INACTIVITY:
                raise _invalid_grant(
                    700082,
                    f"The refresh token has expired due to inactivity. The token was issued on "
                    f"{grant.issued.isoformat()} and was inactive for {REFRESH_INACTIVITY.days}.00:00:00.",
                )
            consented = self._consents.get((grant.identity_id, app.client_id), set())
            if not set(grant.scopes) <= consented:
                raise _invalid_grant(
                    65001,
                    f"The user or administrator has not consented to use the application with ID '{app.client_id}' "
                    f"named '{app.name}'. Send an interactive authorization request for this user and resource.",
                    suberror="consent_required",
                )
            if grant.identity_id in self._mfa_required:
                raise _invalid_grant(
                    50076,
                    "Due to a configuration change made by your administrator, or because you moved to a new "
                    "location, you must use multi-factor authentication to access "
                    f"'{ADO_RESOURCE}'.",
                    suberror="basic_action",
                )
            requested, _oidc, default = self._split_scopes(form.get("scope", ""))
            scopes = grant.scopes if default or not requested else tuple(requested)
            if not set(scopes) <= set(grant.scopes):
                raise _invalid_grant(
                    65001,
                    f"The user or administrator has not consented to use the application with ID '{app.client_id}' "
                    f"named '{app.name}'. Send an interactive authorization request for this user and resource.",
                    suberror="consent_required",
                )
            self._refresh[text] = replace(grant, rotated=True)
        oidc = frozenset(form.get("scope", "").split()) & OIDC_SCOPES
        return self._issue(app, grant.identity_id, scopes, oidc | {"offline_access"}, refresh_of=grant)

    def _client_credentials(self, app: AppRegistration, form: dict[str, str]) -> dict[str, Any]:
        scope = form.get("scope", "")
        resource, _oidc, default = self._split_scopes(scope)
        if not default or resource:
            raise EntraError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a scope "
                "value with /.default suffixed to the resource identifier (application ID URI).",
            )
        token, expires_in = self._access_token(subject=app.service_principal_id, scopes=None, client_id=app.client_id)
        return {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token}

    def _issue(
        self,
        app: AppRegistration,
        identity_id: str,
        scopes: tuple[str, ...],
        oidc: frozenset[str],
        *,
        nonce: str | None = None,
        refresh_of: _Refresh | None = None,
    ) -> dict[str, Any]:
        identity = self.state.identity(identity_id)
        if identity is None:
            raise _invalid_grant(50034, "The user account does not exist in the directory.")
        access, expires_in = self._access_token(subject=identity.id, scopes=scopes, client_id=app.client_id)
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(f"{ADO_RESOURCE}/{s}" for s in scopes),
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": access,
            # MSAL keys its cache by client_info's uid.utid (it asks for client_info=1).
            "client_info": _b64url(json.dumps({"uid": identity.id, "utid": self.tenant_id}).encode()),
        }
        now = self.now()
        if "offline_access" in oidc:
            refresh = _b64url(secrets.token_bytes(48))
            with self._lock:
                self._refresh[refresh] = _Refresh(
                    client_id=app.client_id,
                    identity_id=identity.id,
                    scopes=refresh_of.scopes if refresh_of else scopes,
                    issued=refresh_of.issued if refresh_of else now,
                    last_used=now,
                )
            answer["refresh_token"] = refresh
        if "openid" in oidc:
            claims = {
                "aud": app.client_id,
                "iss": f"{self.base_url}/{self.tenant_id}/v2.0",
                "iat": int(now.timestamp()),
                "nbf": int(now.timestamp()),
                "exp": int((now + timedelta(hours=1)).timestamp()),
                "name": identity.display_name,
                "oid": identity.id,
                "preferred_username": identity.email,
                "sub": _b64url(hashlib.sha256(f"{identity.id}:{app.client_id}".encode()).digest()),
                "tid": self.tenant_id,
                "ver": "2.0",
            }
            if nonce:
                claims["nonce"] = nonce
            answer["id_token"] = self._sign(claims)
        return answer

    def discovery(self) -> dict[str, Any]:
        base = f"{self.base_url}/{self.tenant_id}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "name",
                "preferred_username",
                "oid",
                "tid",
            ],
            "tenant_region_scope": "EU",
            "code_challenge_methods_supported": ["plain", "S256"],
        }

    def error_body(self, error: EntraError) -> dict[str, Any]:
        now = self.now().strftime("%Y-%m-%d %H:%M:%SZ")
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        body: dict[str, Any] = {
            "error": error.error,
            "error_description": (
                f"AADSTS{error.code}: {error.description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}"
                f"\r\nTimestamp: {now}"
            ),
            "error_codes": [error.code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"{self.base_url}/error?code={error.code}",
        }
        if error.suberror:
            body["suberror"] = error.suberror
        return body

    def control(self, method: str, segments: list[str], body: dict[str, Any]) -> Any:
        route = (method, *[s.lower() for s in segments])
        match route:
            case ("GET",):
                return self.config()
            case ("POST", "end-sign-in"):
                who = body.get("identity_id") or body.get("email")
                if not who:
                    raise KeyError("send email or identity_id")
                self.end_sign_in(str(who), str(body.get("reason", "revoked")))
                return {"ended": True}
            case ("POST", "token-lifetime"):
                self.access_token_lifetime = timedelta(seconds=float(body["seconds"]))
                return {"seconds": self.access_token_lifetime.total_seconds()}
            case ("POST", "restrict-pat-creation"):
                org = str(body["org"]).lower()
                if body.get("restricted", True):
                    self.pat_creation_restricted.add(org)
                else:
                    self.pat_creation_restricted.discard(org)
                return {"restricted": sorted(self.pat_creation_restricted)}
            case ("POST", "redirect-uris"):
                app = self.add_redirect_uri(str(body["uri"]), str(body.get("client_id", DEMO_CLIENT_ID)))
                return {"redirect_uris": list(app.redirect_uris)}
            case ("POST", "service-principal"):
                identity = self.add_service_principal(
                    str(body.get("client_id", DEMO_CLIENT_ID)), org=str(body.get("org", "fabrikam"))
                )
                return {"id": identity.id, "display_name": identity.display_name}
        raise KeyError(f"no control route {method} /_emulator/entra/{'/'.join(segments)}")

    def __repr__(self) -> str:
        return f"<EntraAuthority {self.base_url if self._server else 'stopped'}>"


# --- the HTTPS server -------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    authority: EntraAuthority
    tls: LoopbackTls

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A failed TLS handshake (a client that does not trust the CA) is the client's problem: stay silent,
        # as the ADO server does, instead of printing a traceback.
        return

    def get_request(self) -> tuple[socket.socket, Any]:
        raw, address = super().get_request()
        # The handshake runs in the request's own thread (on first read), so a client that never speaks
        # TLS cannot stall the accept loop.
        return self.tls.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False), address


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title></head>
<body>
<h1>Sign in to your account</h1>
<p>Emulated Microsoft Entra ID. <strong>{app}</strong> asks for these Azure DevOps permissions:</p>
<ul>{scopes}</ul>
<form method="post" action="">
{hidden}
<fieldset><legend>Pick an account</legend>
{choices}
</fieldset>
<button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="cancel">Cancel</button>
</form>
</body></html>
"""

_FORM_POST = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Working...</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{action}">{fields}<noscript><button type="submit">Continue</button></noscript></form>
</body></html>
"""

_AUTHORIZE_KEYS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "login_hint",
    "client_info",
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "entra-emulator"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # silent: a log line could carry a code or token

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        authority = self.server.authority
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        segments = [s for s in split.path.split("/") if s]
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        try:
            if segments[:2] == ["_emulator", "entra"]:
                body = json.loads(raw or b"{}")
                self._json(200, authority.control(method, segments[2:], body))
                return
            if not segments or segments[0].lower() not in {authority.tenant_id, "common", "organizations"}:
                self._json(404, {"error": "not_found"})
                return
            rest = "/".join(segments[1:]).lower()
            if method == "GET" and rest == "v2.0/.well-known/openid-configuration":
                self._json(200, authority.discovery())
            elif method == "GET" and rest == "discovery/v2.0/keys":
                self._json(200, authority.jwks())
            elif rest == "oauth2/v2.0/authorize" and method == "GET":
                self._authorize_page(query)
            elif rest == "oauth2/v2.0/authorize" and method == "POST":
                self._authorize_answer(dict(parse_qsl(raw.decode(), keep_blank_values=True)))
            elif rest == "oauth2/v2.0/token" and method == "POST":
                form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
                self._json(200, authority.token(form, self._basic()))
            else:
                self._json(404, {"error": "not_found"})
        except EntraError as error:
            self._json(error.status, authority.error_body(error))
        except (KeyError, ValueError, TypeError) as error:
            self._json(400, {"error": str(error)})

    def _basic(self) -> tuple[str, str] | None:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        return user, password

    def _authorize_page(self, query: dict[str, str]) -> None:
        authority = self.server.authority
        app, scopes, _oidc = authority.authorize_request(query)
        state = authority.state
        people = sorted(
            {i.id: i for d in list(state.orgs.values()) for i in state.members(d.org)}.values(),
            key=lambda i: i.display_name,
        )
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(query[k])}">' for k in _AUTHORIZE_KEYS if k in query
        )
        choices = "".join(
            f'<label><input type="radio" name="account" value="{html.escape(i.id)}"{" checked" if n == 0 else ""}> '
            f"{html.escape(i.display_name)} ({html.escape(i.email)})</label><br>"
            for n, i in enumerate(p for p in people if p.id != app.service_principal_id)
        )
        page = _PAGE.format(
            app=html.escape(app.name),
            scopes="".join(f"<li>{html.escape(s)}</li>" for s in scopes),
            hidden=hidden,
            choices=choices,
        )
        self._html(200, page)

    def _authorize_answer(self, form: dict[str, str]) -> None:
        authority = self.server.authority
        authority.authorize_request(form)  # the redirect URI is trusted only after this
        answer: dict[str, str]
        if form.get("decision") != "accept":
            answer = {
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
            }
        else:
            identity = authority.state.identity(form.get("account", ""))
            if identity is None:
                raise KeyError("pick an account")
            answer = {"code": authority.grant_code(form, identity.id)}
            if form.get("client_info") == "1":
                answer["client_info"] = _b64url(json.dumps({"uid": identity.id, "utid": authority.tenant_id}).encode())
            answer["session_state"] = str(uuid.uuid4())
        if form.get("state"):
            answer["state"] = form["state"]
        target = form["redirect_uri"]
        if form.get("response_mode") == "form_post":
            fields = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in answer.items()
            )
            self._html(200, _FORM_POST.format(action=html.escape(target), fields=fields))
            return
        separator = "&" if urlsplit(target).query else "?"
        self._send(302, b"", "text/plain", [("Location", f"{target}{separator}{urlencode(answer)}")])

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _html(self, status: int, page: str) -> None:
        self._send(status, page.encode(), "text/html; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store, no-cache")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
