"""vsaex: Member Entitlement Management."""

from __future__ import annotations

from typing import Any

from ado_emulator import workitems as wi
from ado_emulator.call import NONE, Call, Route, int_param, ok, paging_offset, paging_token, route, service_url
from ado_emulator.errors import ApiError, Reply
from ado_emulator.locations import USER_ENTITLEMENT, USER_ENTITLEMENTS
from ado_emulator.model import TENANT_ID, Identity


def _user_entitlement(call: Call, identity: Identity) -> dict[str, Any]:
    # UserEntitlement keys of examples/memberEntitlementManagement/7.1/UserEntitlements/GET_...ById.json.
    graph = f"{service_url(call.host, call.data, 'vssps')}/_apis/graph"
    descriptor = identity.subject_descriptor
    return {
        "id": identity.id,
        "user": {
            "subjectKind": "user",
            "metaType": "member",
            "domain": TENANT_ID,
            "principalName": identity.email,
            "mailAddress": identity.email,
            "origin": "aad",
            "originId": identity.id,
            "displayName": identity.display_name,
            "_links": {
                "self": {"href": f"{graph}/users/{descriptor}"},
                "memberships": {"href": f"{graph}/memberships/{descriptor}"},
                "membershipState": {"href": f"{graph}/membershipstates/{descriptor}"},
                "storageKey": {"href": f"{graph}/storagekeys/{descriptor}"},
            },
            "url": f"{graph}/users/{descriptor}",
            "descriptor": descriptor,
        },
        "accessLevel": {
            "licensingSource": "account",
            "accountLicenseType": "express",
            "msdnLicenseType": "none",
            "licenseDisplayName": "Basic",
            "status": "active",
            "statusMessage": "",
            "assignmentSource": "unknown",
        },
        "lastAccessedDate": wi.iso(call.host.started_at),
        "dateCreated": wi.iso(call.host.started_at),
        "projectEntitlements": [],
        "extensions": [],
        "groupAssignments": [],
    }


def user_entitlements(call: Call) -> Reply:
    members = call.state.members(call.data.org)
    offset = paging_offset(call.incoming.param("continuationToken"))
    # `$top` as the spec names it; the CLI sent `top` (docs/azure-devops-behaviours.md §4.2).
    size = int_param(call, "$top", "top", default=100) or 100
    page = members[offset : offset + size]
    more = offset + size < len(members)
    entitlements = [_user_entitlement(call, i) for i in page]
    # The real list carries the page twice, as `members` (the recorded answer) and `items` (the spec), with an
    # empty string, not null, once nothing remains (docs/azure-devops-behaviours.md §4.2).
    return ok(
        {
            "members": entitlements,
            "continuationToken": paging_token(offset + size) if more else "",
            "totalCount": len(members),
            "items": entitlements,
        }
    )


def user_entitlement(call: Call) -> Reply:
    """One member's entitlement by user id, as Microsoft's Python SDK `get_user_entitlement` asks it (§4.2)."""
    wanted = call.params["userId"].lower()
    found = next((i for i in call.state.members(call.data.org) if i.id == wanted), None)
    if found is None:
        # Wording and typeKey not confirmed.
        raise ApiError(404, f"The user with id {call.params['userId']} was not found.", "UserNotFoundException")
    return ok(_user_entitlement(call, found))


ROUTES: tuple[Route, ...] = (
    route("vsaex", "GET", "userentitlements", NONE, USER_ENTITLEMENTS, user_entitlements),
    route("vsaex", "GET", "userentitlements/{userId}", NONE, USER_ENTITLEMENT, user_entitlement),
)
