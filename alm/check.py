"""Test Connection: who a token belongs to, which of the five permissions it holds, when it expires.

The client sends the requests (connectionData, one harmless probe per permission, the Tokens list);
this module runs them concurrently and interprets what they say. Its sentences are for the person
who pasted the token (the pages show them as they are).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from alm.client import PAT_NAME, AdoClient, NoProject
from alm.exceptions import AdoError, NotFound
from alm.scopes import (
    MEMBER_ENTITLEMENTS,
    REQUIRED_PERMISSIONS,
    TOKEN_ADMIN,
    TOKENS,
    WORK_ITEMS,
    Permission,
    grants,
    how_to_grant,
    probe_would_pass,
)
from alm.types import Identity, SessionToken

# The calls of every check in this process run on one pool of threads, started once: a pool per check
# started and stopped six threads each time, which the daily check over thousands of tokens measured as a
# good part of its CPU time (bench/lifecycle.py). Nothing run on it waits for the pool itself, so it cannot
# deadlock; it is sized for the daily check's workers (profiles.lifecycle) times the calls of one check,
# with room for Test Connection from the pages meanwhile.
_CALLS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="alm-check")
# The calls one check sends at once: connectionData and one probe per permission.
CALLS_PER_CHECK = len(REQUIRED_PERMISSIONS) + 1


@dataclass(frozen=True)
class PermissionResult:
    permission: Permission
    # None: could not be determined (the detail says why).
    granted: bool | None
    detail: str
    # False where the permission does not exist at all (Member Entitlement Management on Azure DevOps Server).
    applies: bool = True


@dataclass(frozen=True)
class TokenReport:
    identity: Identity
    permissions: tuple[PermissionResult, ...]
    expires_on: datetime | None
    expiry_note: str
    token_name: str | None
    elapsed_ms: int
    # The token's own scope ids as the Tokens API lists them; None when it could not tell.
    token_scopes: frozenset[str] | None = None

    @property
    def ok(self) -> bool:
        return all(result.granted is True or not result.applies for result in self.permissions)

    @property
    def missing(self) -> tuple[Permission, ...]:
        return tuple(result.permission for result in self.permissions if result.granted is False)

    @property
    def undetermined(self) -> tuple[Permission, ...]:
        return tuple(result.permission for result in self.permissions if result.granted is None and result.applies)

    @property
    def granted_keys(self) -> tuple[str, ...]:
        return tuple(result.permission.key for result in self.permissions if result.granted)


def check_token(client: AdoClient, *, project: str | None) -> TokenReport:
    """Who the client's token belongs to, which of the five permissions it has, and when it expires.

    connectionData and the five probes run concurrently: one round trip once the service
    locations are known. Raises the token's own problem (rejected, expired, unreachable...)
    when connectionData fails; a probe that fails otherwise is reported as undetermined.
    """
    started = client.clock()
    who = _CALLS.submit(client.connection_data)
    probes = [(permission, _CALLS.submit(_probe, client, permission, project)) for permission in REQUIRED_PERMISSIONS]
    try:
        identity = who.result()
    finally:
        # Even when connectionData failed, the probes end (each within its own deadline) before the client
        # they use is closed.
        outcomes = [(permission, future.result()) for permission, future in probes]
    results = [_interpret_probe(permission, outcome) for permission, outcome in outcomes]
    token_list = next((outcome.tokens for permission, outcome in outcomes if permission is TOKENS), None)
    chosen, expiry_note = _pick_token(token_list, results)
    scopes = chosen.scopes if chosen else None
    if scopes is not None:
        results = [_refine_with_scopes(result, scopes) for result in results]
    return TokenReport(
        identity=identity,
        permissions=tuple(results),
        expires_on=chosen.valid_to if chosen else None,
        expiry_note=expiry_note,
        token_name=chosen.display_name if chosen else None,
        elapsed_ms=round((client.clock() - started) * 1000),
        token_scopes=scopes,
    )


def _probe(client: AdoClient, permission: Permission, project: str | None) -> _ProbeOutcome:
    if client.kind == "server" and permission is MEMBER_ENTITLEMENTS:
        # Azure DevOps Server has no Member Entitlement Management API (docs/azure-devops-behaviours.md §1.2).
        return _ProbeOutcome(None, "Not applicable: Azure DevOps Server has no such API.", applies=False)
    try:
        status, tokens = client.probe(permission, project=project)
    except NoProject:
        return _ProbeOutcome(None, "There is no project to check against; create one or set a default.")
    except NotFound as error:
        if client.kind == "server" and permission.probe.area != "core":
            return _ProbeOutcome(None, f"This Azure DevOps Server does not offer the {permission.ado_name} API.")
        return _ProbeOutcome(None, error.message)
    except AdoError as error:
        # The token's own problems surface through connectionData, which runs alongside.
        return _ProbeOutcome(None, error.message)
    return _ProbeOutcome(status, "", tokens)


@dataclass(frozen=True)
class _ProbeOutcome:
    status: int | None
    detail: str
    tokens: tuple[SessionToken, ...] | None = None
    applies: bool = True


def _interpret_probe(permission: Permission, outcome: _ProbeOutcome) -> PermissionResult:
    if outcome.status is None:
        return PermissionResult(permission, None, outcome.detail, applies=outcome.applies)
    if outcome.status == 401:
        return PermissionResult(permission, False, f"Missing. {how_to_grant(permission)}")
    if permission is TOKEN_ADMIN and outcome.status == 403:
        return PermissionResult(
            permission,
            True,
            "Present, but the account is not an organization administrator, so it cannot list other users' tokens.",
        )
    if permission is WORK_ITEMS:
        return PermissionResult(
            permission,
            True,
            "Write access confirmed. The REST API cannot tell “Read & write” from “Read, write, & manage”; "
            "make sure the token has the latter.",
        )
    if permission is MEMBER_ENTITLEMENTS:
        return PermissionResult(permission, True, "Confirmed: users and their entitlements can be read.")
    return PermissionResult(permission, True, "Confirmed.")


def _refine_with_scopes(result: PermissionResult, scopes: frozenset[str]) -> PermissionResult:
    """Where the Tokens API told the token's scopes, say exactly what the probe could not."""
    permission = result.permission
    if permission is not WORK_ITEMS or result.granted is not True:
        return result
    if grants(scopes, permission):
        return PermissionResult(permission, True, "Confirmed: the token's scopes include Read, write, & manage.")
    return PermissionResult(
        permission,
        False,
        f"The token has Work Items with less than {permission.access}; edit it and choose {permission.access}.",
    )


def _pick_token(
    tokens: tuple[SessionToken, ...] | None, results: Sequence[PermissionResult]
) -> tuple[SessionToken | None, str]:
    """The token in use among the user's tokens: named "almlink", else the only one whose scopes fit the probes."""
    if tokens is None:
        return None, "The Tokens permission is needed to read the token's expiry."
    now = datetime.now(tz=UTC)
    valid = [token for token in tokens if token.valid_to is None or token.valid_to > now]
    named = [token for token in valid if token.display_name.casefold() == PAT_NAME]
    pool = named or valid
    if len(pool) == 1:
        return pool[0], ""
    fitting = [token for token in pool if _fits(token, results)]
    if len(fitting) == 1:
        return fitting[0], ""
    if not pool:
        return None, "Azure DevOps lists no valid token for this user."
    if named:
        return None, (
            f"{len(named)} valid tokens are named “{PAT_NAME}” and their permissions "
            "do not tell which one is in use; revoke the old ones."
        )
    return None, (
        f"None of the user's {len(valid)} valid tokens is named “{PAT_NAME}”; "
        "name the token so to see its expiry here."
    )


def _fits(token: SessionToken, results: Sequence[PermissionResult]) -> bool:
    return all(
        probe_would_pass(token.scopes, result.permission) == result.granted
        for result in results
        if result.granted is not None
    )
