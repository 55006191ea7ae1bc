"""Who is calling: Basic authentication with a PAT as the password (facts 1.1), and the failure answers.

Outcomes and the answers built for them (facts 1.1, 3.2-3.6):
- "ok": a known, current token of a member of this organization.
- "missing": no Authorization header. 401 with the TF400813 anonymous-access body (the facts call that body
  the one "seen when no usable credentials are sent"; whether it is always sent is not confirmed).
- "invalid": unknown token, malformed header, a token limited to other organizations, a token whose
  identity is not a member, or a token not valid yet. With `X-TFS-FedAuthRedirect: Suppress`: 401, empty
  body, WWW-Authenticate (facts 3.2). Without it: GET/POST get 203 and an HTML sign-in page; other methods
  get 401 with the TF400813 "user ''" body (facts 3.2, azure-devops-auth-samples#52).
- "expired" / "revoked": 401 with the AccessCheckException body and X-TFS-ServiceError (facts 3.3, 3.4),
  whatever the Suppress header says (the sources do not separate the two cases).
- "anonymous": a public-project organization treats "missing" and "invalid" as the anonymous identity
  (facts 2.1, 3.2); only connectionData answers it, everything else gets the "missing" 401.

Microsoft Entra ID access tokens (`Authorization: Bearer <JWT>`, entra facts) are checked by the emulator's
Entra authority (entra.py: signature, audience, expiry, sign-in not revoked) and give "ok" with the token's
`scp` as scopes, or "invalid". The PAT lifecycle API takes only Entra tokens: a PAT there is "invalid"
(facts 4.3; the one recorded answer is the 203 sign-in page, vsts-rest-api-specs#574).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Literal, Protocol

from ado_emulator.entra import VerifiedToken
from ado_emulator.errors import Reply, json_reply, service_error_header, wrapped_exception
from ado_emulator.model import Behaviour, Identity, Org, PatRecord
from ado_emulator.state import State

Outcome = Literal["ok", "missing", "invalid", "expired", "revoked", "anonymous"]

EXPIRED_MESSAGE = "Access Denied: The Personal Access Token used has expired."  # facts 3.3, verbatim


@dataclass(frozen=True)
class AuthResult:
    outcome: Outcome
    identity: Identity | None = None
    pat: PatRecord | None = None
    entra_scopes: str | None = None  # the scopes of an Entra access token

    @property
    def scopes(self) -> str | None:
        """What the scope filter checks: the PAT's scopes or the Entra token's `scp`; None when anonymous."""
        return self.pat.scopes if self.pat is not None else self.entra_scopes


class BearerVerifier(Protocol):
    def verify_access_token(self, token: str) -> VerifiedToken | None: ...


def _token_from_header(header: str | None, behaviour: Behaviour) -> str | None:
    """The PAT in `Authorization`, or None when the header is not a well-formed credential."""
    scheme, _, value = (header or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and behaviour.accept_bearer_pat:
        return value or None
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    # A non-canonical encoding (one stray "=") gets 401 on the real service (facts 1.1, azure-devops-mcp#1452).
    if base64.b64encode(decoded).decode() != value:
        return None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    _user, colon, password = text.partition(":")
    # The user name is ignored (facts 1.1); the password is the token.
    return password if colon and password else None


def authenticate(
    state: State,
    org: Org,
    header: str | None,
    behaviour: Behaviour,
    *,
    entra: BearerVerifier | None = None,
    entra_only: bool = False,
) -> AuthResult:
    bearer = _entra_token(header) if entra is not None else None
    if header is None or not header.strip():
        result = AuthResult("missing")
    elif bearer is not None and entra is not None:
        result = _check_bearer(state, org, entra.verify_access_token(bearer))
    else:
        result = _check_token(state, org, _token_from_header(header, behaviour))
        if entra_only and result.pat is not None:
            result = AuthResult("invalid")
    if result.outcome in {"missing", "invalid"} and org.public_projects:
        return AuthResult("anonymous")
    return result


def _entra_token(header: str | None) -> str | None:
    """The JWT of a `Bearer` header (three dot-separated parts), else None: a PAT never has dots."""
    scheme, _, value = (header or "").strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value.count(".") == 2 else None


def _check_bearer(state: State, org: Org, verified: VerifiedToken | None) -> AuthResult:
    identity = state.identity(verified.identity_id) if verified is not None else None
    if verified is None or identity is None or not state.is_member(identity.id, org):
        # Expired, revoked, forged or foreign: the answers of an unknown credential (facts 3.2; an expired
        # bearer token got exactly these, 401 TF400813 on PATCH and 203 on GET/POST, auth-samples#52).
        return AuthResult("invalid")
    return AuthResult("ok", identity, None, entra_scopes=verified.scopes)


def _check_token(state: State, org: Org, token: str | None) -> AuthResult:
    record = state.pat(token) if token else None
    if record is None:
        return AuthResult("invalid")
    identity = state.identity(record.identity_id)
    # A token made for other organizations, or for someone who is not a member here, does not
    # authenticate here at all (facts 3.6, not confirmed by a verbatim response).
    if identity is None or (record.orgs is not None and org.name.lower() not in {o.lower() for o in record.orgs}):
        return AuthResult("invalid")
    if not state.is_member(identity.id, org):
        return AuthResult("invalid")
    if record.revoked:
        return AuthResult("revoked", identity, record)
    now = state.now()
    if now >= record.valid_to:
        return AuthResult("expired", identity, record)
    if now < record.valid_from:
        # A token not valid yet: treated like an unknown one (not confirmed).
        return AuthResult("invalid")
    return AuthResult("ok", identity, record)


def www_authenticate(base_url: str) -> tuple[str, str]:
    # Real: Basic realm="https://tfsprodsin1.app.visualstudio.com/" (facts 3.2).
    return ("WWW-Authenticate", f'Basic realm="{base_url}/"')


def unauthorized_empty(base_url: str) -> Reply:
    return Reply(status=401, headers=[www_authenticate(base_url)])


def anonymous_denied(base_url: str) -> Reply:
    # TF400813 anonymous variant, verbatim (facts 3.2).
    message = "TF400813: Resource not available for anonymous access. Client authentication required."
    reply = json_reply(401, wrapped_exception(message, "UnauthorizedRequestException"))
    reply.headers += [www_authenticate(base_url), service_error_header(message)]
    return reply


def user_not_authorized(base_url: str) -> Reply:
    # The 401 a non-GET/POST request got without the Suppress header (facts 3.2, auth-samples#52).
    message = "TF400813: The user '' is not authorized to access this resource."
    reply = json_reply(401, wrapped_exception(message, "UnauthorizedRequestException"))
    reply.headers += [www_authenticate(base_url), service_error_header(message)]
    return reply


def access_denied(base_url: str, message: str) -> Reply:
    # AccessCheckException body with customProperties, verbatim for the expired case (facts 3.3).
    body = wrapped_exception(
        message,
        "AccessCheckException",
        custom_properties={
            "Descriptor": None,
            "IdentityDisplayName": None,
            "Token": None,
            "RequestedPermissions": 0,
            "NamespaceId": "00000000-0000-0000-0000-000000000000",
        },
    )
    reply = json_reply(401, body)
    reply.headers += [www_authenticate(base_url), service_error_header(message)]
    return reply


SIGN_IN_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Azure DevOps Services | Sign In</title></head>
<body>
<h1>Sign in to your account</h1>
<p>You need to sign in to access this organization.</p>
<form method="post" action="/_signin"><input type="email" name="login" placeholder="Email, phone, or Skype">
<button type="submit">Next</button></form>
</body>
</html>
"""


def sign_in_page() -> Reply:
    # 203 Non-Authoritative Information with an HTML sign-in page (facts 1.1, 3.2, 3.7).
    return Reply(status=203, body=SIGN_IN_PAGE.encode(), content_type="text/html; charset=utf-8")


def failure_reply(result: AuthResult, *, method: str, suppress: bool, base_url: str, behaviour: Behaviour) -> Reply:
    if result.outcome == "expired":
        return access_denied(base_url, EXPIRED_MESSAGE)
    if result.outcome == "revoked":
        return access_denied(base_url, behaviour.revoked_message)
    if result.outcome in {"missing", "anonymous"}:
        return anonymous_denied(base_url)
    if suppress:
        return unauthorized_empty(base_url)
    if method in {"GET", "POST", "HEAD"}:
        return sign_in_page()
    return user_not_authorized(base_url)
