"""The PAT lifecycle API (`vssps.dev.azure.com/{org}/_apis/tokens/pats`): creating a personal access token.

It takes only Microsoft Entra access tokens (api-facts 4.3), so the client must act with `bearer=True`.
Shapes from the official spec (specs/tokens_7.1_tokens.json): PatTokenCreateRequest in, PatTokenResult out, errors
named in `patTokenError` (the spec documents only a 200 answer). No Django imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from alm.client import AdoClient, _parse_datetime
from alm.exceptions import AccessDenied, RequestRejected, UnexpectedAnswer

API_VERSION = "7.1-preview.1"


@dataclass(frozen=True)
class CreatedPat:
    token: str = field(repr=False)
    authorization_id: str
    display_name: str
    scope: str
    valid_to: datetime | None


def create_pat(client: AdoClient, *, name: str, scopes: str, valid_to: datetime) -> CreatedPat:
    """Create a personal access token for the signed-in user, limited to this organization."""
    # Through the client's one HTTP choke point (`_request`) and its service locations: the Tokens area lives
    # on vssps (ResourceAreas, api-facts 1.2).
    url = f"{client._area_base('Tokens').rstrip('/')}/_apis/tokens/pats"
    body = {
        "displayName": name,
        "scope": scopes,
        "validTo": valid_to.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "allOrgs": False,
    }
    response = client._request(
        "POST", url, api_version=API_VERSION, body=body, what="The personal access token service", retry=False
    )
    data = response.data if isinstance(response.data, dict) else {}
    error = data.get("patTokenError")
    if error and error != "none":
        if error in {"accessDenied", "globalPatPolicyViolation", "fullScopePatPolicyViolation"}:
            raise AccessDenied(
                f"the organization does not let you create this token ({error}); its policy may restrict "
                "personal access tokens.",
                activity_id=client.last_activity_id,
            )
        raise RequestRejected(f"the token was not created ({error}).", activity_id=client.last_activity_id)
    pat = data.get("patToken")
    if not isinstance(pat, dict) or not isinstance(pat.get("token"), str) or not pat["token"]:
        raise UnexpectedAnswer("the created token is missing from the answer", activity_id=client.last_activity_id)
    return CreatedPat(
        token=pat["token"],
        authorization_id=str(pat.get("authorizationId") or ""),
        display_name=str(pat.get("displayName") or ""),
        scope=str(pat.get("scope") or ""),
        valid_to=_parse_datetime(pat.get("validTo")),
    )
