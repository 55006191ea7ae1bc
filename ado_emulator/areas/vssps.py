"""vssps: the caller's session tokens and TokenAdmin's list of a user's PATs."""

from __future__ import annotations

import re
from typing import Any

from ado_emulator import pats
from ado_emulator import workitems as wi
from ado_emulator.call import (
    NIL_GUID,
    NONE,
    Call,
    Route,
    access_denied,
    int_param,
    ok,
    paging_offset,
    paging_token,
    route,
)
from ado_emulator.errors import ApiError, Reply
from ado_emulator.locations import PERSONAL_ACCESS_TOKENS
from ado_emulator.model import PatRecord


def _session_token(call: Call, record: PatRecord) -> dict[str, Any]:
    # SessionToken keys of the tokenAdmin example (docs/azure-devops-behaviours.md §4.2). `isValid` is false only for
    # revoked tokens: the example lists an already-expired token as valid (validTo == validFrom in the past).
    org_ids = None
    if record.orgs is not None:
        org_ids = [call.state.org_data(name).org.id for name in record.orgs]
    return {
        "clientId": NIL_GUID,
        "accessId": NIL_GUID,
        "authorizationId": record.authorization_id,
        "hostAuthorizationId": NIL_GUID,
        "userId": record.identity_id,
        "validFrom": wi.iso(record.valid_from),
        "validTo": wi.iso(record.valid_to),
        "displayName": record.display_name,
        "scope": record.scopes,
        "targetAccounts": org_ids,
        "token": None,
        "alternateToken": None,
        "isValid": not record.revoked,
        "isPublic": False,
        "publicData": None,
        "source": None,
    }


# The paged variant's parameters, as public clients send them all together (docs/azure-devops-behaviours.md §4.2).
SESSION_TOKEN_PAGING = (
    "createdByOption",
    "sortByOption",
    "isSortAscending",
    "startRowNumber",
    "pageSize",
    "pageRequestTimeStamp",
)


def session_tokens(call: Call) -> Reply:
    """Legacy GET _apis/Token/SessionTokens: every PAT of the caller, revoked and expired ones included.

    `displayFilterOption` filters nothing (docs/azure-devops-behaviours.md §4.2): clients must look at
    `isValid` and `validTo` themselves.
    """
    tokens = [_session_token(call, p) for p in call.state.pats_of(call.me.id)]
    given = [name for name in SESSION_TOKEN_PAGING if call.incoming.param(name) is not None]
    if not given:
        return ok({"count": len(tokens), "value": tokens})
    missing = [name for name in SESSION_TOKEN_PAGING if name not in given]
    if missing:
        # The paged variant needs every one of its parameters; the wording is not confirmed.
        raise ApiError(400, f"Value cannot be null.\r\nParameter name: {missing[0]}", "ArgumentNullException")
    if (call.incoming.param("isSortAscending") or "").strip().lower() == "false":
        tokens.reverse()
    start = max(1, int_param(call, "startRowNumber", default=1) or 1)  # 1-based
    size = int_param(call, "pageSize", default=100) or 100
    page = tokens[start - 1 : start - 1 + size]
    # nextRowNumber: the row after this page (its value once the list is exhausted is not confirmed).
    return ok({"nextRowNumber": start + len(page), "sessionTokens": page})


_DESCRIPTOR = re.compile(r"^[a-z]{2,8}\.[A-Za-z0-9_\-]+=*$")


def personal_access_tokens(call: Call) -> Reply:
    """TokenAdmin: one user's PATs in this organization, for organization administrators only
    (docs/azure-devops-behaviours.md §4.2, §4.4). The permission is checked before the descriptor."""
    if not call.state.is_org_admin(call.me.id, call.data):
        raise access_denied(call, resource="Token Administration", permission="Read")
    descriptor = call.params["descriptor"]
    if not _DESCRIPTOR.match(descriptor):
        raise ApiError(400, f"The subject descriptor '{descriptor}' is not valid.", "ArgumentException")
    owner = call.state.member_by_descriptor(call.data.org, descriptor)
    if owner is None:
        # 404 for a descriptor that names nobody in the organization: not confirmed.
        raise ApiError(
            404, f"The user with subject descriptor '{descriptor}' could not be found.", "IdentityNotFoundException"
        )
    if call.incoming.flag("isPublic"):
        records: list[PatRecord] = []  # isPublic=true lists SSH keys, which the emulator has none of
    else:
        org = call.data.org.name.lower()
        records = [p for p in call.state.pats_of(owner.id) if p.orgs is None or org in {o.lower() for o in p.orgs}]
    offset = paging_offset(call.incoming.param("continuationToken"))
    size = int_param(call, "pageSize", default=20) or 20
    page = records[offset : offset + size]
    more = offset + size < len(records)
    return ok(
        {
            "value": [_session_token(call, p) for p in page],
            "continuationToken": paging_token(offset + size) if more else None,
        }
    )


ROUTES: tuple[Route, ...] = (
    # The legacy SessionTokens resource is not in any recorded OPTIONS: no location, no version rules.
    route("vssps", "GET", "token/sessiontokens", NONE, None, session_tokens),
    route(
        "vssps",
        "GET",
        "tokenadmin/personalaccesstokens/{descriptor}",
        NONE,
        PERSONAL_ACCESS_TOKENS,
        personal_access_tokens,
    ),
    # PAT lifecycle API (docs/azure-devops-behaviours.md §4.3); its location id is not known, so no location
    # and no version rules. Entra ID tokens only (ado_emulator.pats).
    route("vssps", "GET", "tokens/pats", NONE, None, pats.get),
    route("vssps", "POST", "tokens/pats", NONE, None, pats.create),
    route("vssps", "PUT", "tokens/pats", NONE, None, pats.update),
    route("vssps", "DELETE", "tokens/pats", NONE, None, pats.revoke),
)
