"""The five Azure DevOps permissions almlink needs, how scopes imply each other, and how each is probed.

A personal access token carries a space-separated list of scope ids (docs/azure-devops-behaviours.md §4.1).
The PAT page shows them as "area (access)" pairs; `Permission.label` is that wording, so an administrator
can tick exactly what is named. No Django imports: the client uses this module too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# "Full access" on the PAT page: pattern "/*#*", every scope at once (docs/azure-devops-behaviours.md §3.5, 4.1).
FULL_ACCESS = "app_token"

# Each scope's `inheritsFrom`, from the decompiled AuthorizationScopeDefinitions (docs/azure-devops-behaviours.md §4.1,
# 4.2). Only the chains that matter for the five permissions; vso.base is implied by all of them.
SCOPE_PARENTS: dict[str, tuple[str, ...]] = {
    "vso.memberentitlementmanagement": ("vso.base",),
    "vso.memberentitlementmanagement_write": ("vso.memberentitlementmanagement",),
    "vso.profile": ("vso.base",),
    "vso.project": ("vso.base",),
    "vso.project_write": ("vso.project",),
    "vso.project_manage": ("vso.project_write",),
    "vso.tokenadministration": ("vso.base",),
    "vso.tokens": ("vso.base",),
    "vso.hooks": ("vso.profile",),
    "vso.hooks_write": ("vso.hooks",),
    "vso.work": ("vso.hooks_write",),
    "vso.work_write": ("vso.work",),
    "vso.work_full": ("vso.work_write",),
}


@dataclass(frozen=True)
class Probe:
    """A request that the scope filter lets through only when the scope is present, and that changes nothing.

    `area` is the ResourceAreas name whose location serves the call ("core" = the connection URL).
    `path` is relative to that location and may contain {project} (already URL-quoted).
    A 401 means the scope is missing (when the token itself is valid); 2xx and `present_statuses`
    mean it is present: the scope check runs before routing and validation (docs/azure-devops-behaviours.md §3.5, 4.2).
    """

    area: str
    method: str
    path: str
    # None: the client's default for the connection's kind (7.1 on Services, 7.0 on Server).
    api_version: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    body: object = None
    content_type: str = "application/json"
    present_statuses: frozenset[int] = frozenset()
    needs_project: bool = False


@dataclass(frozen=True)
class Permission:
    key: str
    ado_name: str
    access: str
    scope: str
    # The weakest scope the REST probe can confirm. For work items REST cannot tell "Read & write" from "Read, write, &
    # manage" (docs/azure-devops-behaviours.md §4.2), so the probe proves vso.work_write.
    probe_scope: str
    probe: Probe = field(repr=False, hash=False, compare=False)

    @property
    def label(self) -> str:
        return f"{self.ado_name} ({self.access})"


# A syntactically valid Graph subject descriptor that names nobody: the TokenAdmin probe does not
# need the caller's own descriptor (that would cost a round trip before the probe could start).
PLACEHOLDER_DESCRIPTOR = "aad.MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"
NIL_GUID = "00000000-0000-0000-0000-000000000000"

MEMBER_ENTITLEMENTS = Permission(
    key="member_entitlements",
    ado_name="Member Entitlement Management",
    access="Read",
    scope="vso.memberentitlementmanagement",
    probe_scope="vso.memberentitlementmanagement",
    probe=Probe(
        area="MemberEntitlementManagement",
        method="GET",
        path="_apis/userentitlements",
        params=(("$top", "1"),),
    ),
)
PROJECT_TEAM = Permission(
    key="project_team",
    ado_name="Project and Team",
    access="Read, write, & manage",
    scope="vso.project_manage",
    probe_scope="vso.project_manage",
    # Deleting the nil project: vso.project_manage is the only scope allowing DELETE on _apis/projects, and no project
    # has the nil id, so the answer is 404 (docs/azure-devops-behaviours.md §4.2).
    probe=Probe(
        area="core",
        method="DELETE",
        path=f"_apis/projects/{NIL_GUID}",
        present_statuses=frozenset({400, 404}),
    ),
)
TOKEN_ADMIN = Permission(
    key="token_admin",
    ado_name="Token Administration",
    access="Read & manage",
    scope="vso.tokenadministration",
    probe_scope="vso.tokenadministration",
    # 403: the scope is there but the account is not an organization administrator;
    # 400/404: the placeholder descriptor was looked at, so the scope filter let us through.
    probe=Probe(
        area="TokenAdmin",
        method="GET",
        path=f"_apis/tokenadmin/personalaccesstokens/{PLACEHOLDER_DESCRIPTOR}",
        params=(("pageSize", "1"),),
        present_statuses=frozenset({400, 403, 404}),
    ),
)
TOKENS = Permission(
    key="tokens",
    ado_name="Tokens",
    access="Read & manage",
    scope="vso.tokens",
    probe_scope="vso.tokens",
    # The legacy SessionTokens list: covered by vso.tokens and it also tells the token's expiry
    # (docs/azure-devops-behaviours.md §4.2, 4.3).
    probe=Probe(
        area="Tokens",
        method="GET",
        path="_apis/Token/SessionTokens",
        api_version="5.0-preview.1",
        params=(("displayFilterOption", "1"),),
    ),
)
WORK_ITEMS = Permission(
    key="work_items",
    ado_name="Work Items",
    access="Read, write, & manage",
    scope="vso.work_full",
    probe_scope="vso.work_write",
    # Creating a Task with validateOnly=true checks the write scope and saves nothing (docs/azure-devops-behaviours.md
    # §4.2).
    probe=Probe(
        area="core",
        method="POST",
        path="{project}/_apis/wit/workitems/$Task",
        params=(("validateOnly", "true"),),
        body=[{"op": "add", "path": "/fields/System.Title", "value": "almlink permission check"}],
        content_type="application/json-patch+json",
        needs_project=True,
    ),
)

REQUIRED_PERMISSIONS: tuple[Permission, ...] = (MEMBER_ENTITLEMENTS, PROJECT_TEAM, TOKEN_ADMIN, TOKENS, WORK_ITEMS)
PERMISSIONS_BY_KEY: dict[str, Permission] = {permission.key: permission for permission in REQUIRED_PERMISSIONS}


def implied_scopes(scope: str) -> frozenset[str]:
    """The scope itself and every scope it inherits from."""
    seen: set[str] = set()
    pending = [scope]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(SCOPE_PARENTS.get(current, ()))
    return frozenset(seen)


def parse_scopes(scopes: str | Iterable[str] | None) -> frozenset[str]:
    """The scope ids of a space-separated scope string (as the Tokens API returns it)."""
    if scopes is None:
        return frozenset()
    items = scopes.split() if isinstance(scopes, str) else scopes
    return frozenset(item.strip().lower() for item in items if item.strip())


def _covers(scopes: str | Iterable[str] | None, wanted: str) -> bool:
    granted = parse_scopes(scopes)
    if FULL_ACCESS in granted:
        return True
    return any(wanted in implied_scopes(scope) for scope in granted)


def grants(scopes: str | Iterable[str] | None, permission: Permission) -> bool:
    """Whether a token with these scopes holds the permission exactly as required."""
    return _covers(scopes, permission.scope)


def probe_would_pass(scopes: str | Iterable[str] | None, permission: Permission) -> bool:
    """Whether a token with these scopes passes the permission's REST probe."""
    return _covers(scopes, permission.probe_scope)


PAT_PAGE = "User settings → Personal access tokens"


def how_to_grant(permission: Permission) -> str:
    """The one wording of a missing permission: what to tick, and where."""
    return (
        f"In Azure DevOps ({PAT_PAGE} → Edit) tick {permission.ado_name} → {permission.access}, "
        "then test the token again."
    )


def permission_list() -> str:
    """The five permissions as the token page names them, for help texts."""
    return "; ".join(f"{permission.ado_name}: {permission.access}" for permission in REQUIRED_PERMISSIONS)
