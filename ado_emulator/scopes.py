"""Which URLs a PAT's scopes let through: the server's scope filter, before any routing (facts 3.5, 4.2).

Each scope lists patterns "{path-prefix}#{METHODS}" from the decompiled AuthorizationScopeDefinitions
(Azure DevOps Server 2022, repo mjwrona/decompiled, facts 4.2): matched case-insensitively, segment by
segment as a prefix, `*` standing for exactly one segment, methods joined by "+", "*" for every method.
A scope also holds everything its `inheritsFrom` chain holds (facts 4.1).

The hosted service puts the organization in the first path segment; in the patterns it is spelled
"/DefaultCollection". Some patterns (vso.tokens, vso.memberentitlementmanagement) have no collection
segment at all because those services live on their own hosts (vssps, vsaex). So both forms are matched
against the path *below* the organization: "/DefaultCollection/_apis/x" and "/_apis/x" mean the same here.

The lists below are the entries of the decompiled file for the routes this emulator serves and their
neighbours, not every SOAP/legacy pattern.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FULL_ACCESS = "app_token"

# scope -> (inheritsFrom, patterns). Verbatim entries of the decompiled file, trimmed as said above.
_DEFINITIONS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "vso.base": (
        None,
        (
            "/_apis#OPTIONS",
            "/DefaultCollection/_apis#OPTIONS",
            "/_apis/connectiondata#GET",
            "/_apis/servicelevel#GET",
            "/DefaultCollection/_apis/connectiondata#GET",
            "/_apis/ServiceDefinitions#GET",
            "/_apis/resourceareas#GET",
            "/DefaultCollection/_apis/resourceareas#GET",
            "/_apis/operations#GET",
            "/DefaultCollection/_apis/operations#GET",
            "/_apis/permissions#GET",
            "/_apis/SecurityNamespaces#GET",
            "/_apis/AccessControlLists#GET",
            "/_apis/security/permissionEvaluationBatch#POST",
            "/DefaultCollection/_apis/permissions#GET",
            "/DefaultCollection/_apis/SecurityNamespaces#GET",
            "/DefaultCollection/_apis/AccessControlLists#GET",
            "/DefaultCollection/_apis/security/permissionEvaluationBatch#POST",
        ),
    ),
    "vso.profile": (
        "vso.base",
        (
            "/_apis/account#GET",
            "/_apis/accounts#GET",
            "/_apis/projectCollections#GET",
            "/_apis/profile/profiles#GET",
            "/_apis/process/processes#GET",
            "/DefaultCollection/_apis/projects#GET",
            "/DefaultCollection/_apis#OPTIONS",
            "/_apis/Organization/Organizations#GET",
            "/DefaultCollection/_apis/Organization/Collections#GET",
        ),
    ),
    "vso.hooks": (
        "vso.profile",
        (
            "/_apis/hooks/consumers#GET",
            "/_apis/hooks/publishers#GET",
            "/_apis/hooks/subscriptions#GET",
            "/DefaultCollection/_apis/hooks/consumers#GET",
            "/DefaultCollection/_apis/hooks/publishers#GET",
            "/DefaultCollection/_apis/hooks/subscriptions#GET",
        ),
    ),
    "vso.hooks_write": (
        "vso.hooks",
        (
            "/_apis/hooks/subscriptions#GET+POST+PUT+DELETE",
            "/DefaultCollection/_apis/hooks/subscriptions#GET+POST+PUT+DELETE",
        ),
    ),
    "vso.work": (
        "vso.hooks_write",
        (
            "/_apis/tagging#GET",
            "/DefaultCollection/_apis/tagging#GET",
            "/DefaultCollection/_apis/wit/fields#GET",
            "/DefaultCollection/_apis/wit/queries#GET",
            "/DefaultCollection/_apis/wit/wiql#GET+POST",
            "/DefaultCollection/*/_apis/wit/wiql#GET+POST",
            "/DefaultCollection/*/*/_apis/wit/wiql#HEAD+GET+POST",
            "/DefaultCollection/_apis/wit/workitemsbatch#POST",
            "/DefaultCollection/*/_apis/wit/workitemsbatch#POST",
            "/DefaultCollection/_apis/wit/workitems#GET",
            "/DefaultCollection/*/_apis/wit/revisions#GET",
            "/DefaultCollection/*/_apis/wit/fields#GET",
            "/DefaultCollection/*/_apis/wit/queries#GET",
            "/DefaultCollection/*/_apis/wit/workitemtypes#GET",
            "/DefaultCollection/*/_apis/wit/workitems#GET",
            "/DefaultCollection/_apis/wit/recyclebin#GET",
            "/DefaultCollection/*/_apis/wit/recyclebin#GET",
            "/DefaultCollection/_apis/wit/workitemtransitions#GET",
        ),
    ),
    "vso.work_write": (
        "vso.work",
        (
            "/_apis/tagging#GET+POST+PATCH+DELETE",
            "/DefaultCollection/_apis/wit/queries#GET+POST+PATCH+DELETE",
            "/DefaultCollection/*/_apis/wit/queries#GET+POST+PATCH+DELETE",
            "/DefaultCollection/_apis/wit/workitems#GET+POST+PATCH+DELETE",
            "/DefaultCollection/_apis/wit/recyclebin#GET+PATCH+DELETE",
            "/DefaultCollection/_apis/wit/workItemsdelete#POST",
            "/DefaultCollection/*/_apis/wit/workItemsdelete#POST",
            "/DefaultCollection/*/_apis/wit/workitems#GET+POST+PUT+PATCH+DELETE",
            "/DefaultCollection/*/_apis/wit/recyclebin#GET+PATCH+DELETE",
            "/DefaultCollection/_apis/wit/$batch#POST+PATCH",
            "/DefaultCollection/_apis/wit/fields#GET+POST+PATCH+DELETE",
            "/DefaultCollection/*/_apis/wit/fields#GET+POST+PATCH+DELETE",
        ),
    ),
    # vso.work_full adds only SOAP / client-object-model patterns (facts 4.2): same REST reach as work_write.
    "vso.work_full": (
        "vso.work_write",
        (
            "/WorkItemTracking/*/ClientService.asmx#POST",
            "/*/WorkItemTracking/*/ClientService.asmx#POST",
        ),
    ),
    "vso.project": (
        "vso.base",
        (
            "/DefaultCollection/_apis/projects#GET",
            "/DefaultCollection/_apis/projects/*/teams#GET",
            "/DefaultCollection/_apis/teams#GET",
            "/DefaultCollection/*/_apis/build/generalsettings#GET",
        ),
    ),
    "vso.project_write": ("vso.project", ("/DefaultCollection/_apis/projects#PATCH",)),
    "vso.project_manage": ("vso.project_write", ("/DefaultCollection/_apis/projects#POST+PUT+DELETE",)),
    "vso.tokens": (
        "vso.base",
        (
            "/_apis/token/AppTokenPairs#POST",
            "/_apis/token/AadUserTokens#POST",
            "/_apis/token/AccessTokens/*#POST+GET",
            "/_apis/token/AppSessionTokens#POST",
            "/_apis/token/SessionTokens#GET+POST+DELETE",
            "/_apis/token/AadAppTokens#GET",
            "/_apis/delegatedauth/Registration#GET+PUT+POST+DELETE",
            "/_apis/delegatedauth/RegistrationSecret/*#GET",
            "/_apis/delegatedauth/Authorizations#GET+POST",
            "/_apis/delegatedauth/HostAuthorization#GET+DELETE+POST",
            "/_apis/oauth2/token#POST",
            "/_apis/tokenoauth2/token#POST",
        ),
    ),
    "vso.tokenadministration": (
        "vso.base",
        (
            "/DefaultCollection/_apis/tokenadmin/revocations#POST",
            "/DefaultCollection/_apis/tokenadmin/revocationrules#POST",
            "/DefaultCollection/_apis/tokenadmin/personalaccesstokens/*#GET",
            "/_apis/tokenadministration/tokenrevocations#POST",
            "/_apis/tokenadministration/tokenlistglobalidentities#POST",
            "/_apis/tokenadministration/tokenpersonalaccesstokens/*#POST",
        ),
    ),
    "vso.memberentitlementmanagement": (
        "vso.base",
        (
            "/_apis/MemberEntitlements/*#GET",
            "/_apis/MemberEntitlements#GET",
            "/_apis/GroupEntitlements/*#GET",
            "/_apis/GroupEntitlements#GET",
            "/_apis/UserEntitlements/*#GET",
            "/_apis/ServicePrincipalEntitlements/*#GET",
            "/_apis/UserEntitlements#GET",
            "/_apis/UserEntitlementSummary#GET",
            "/DefaultCollection/_apis/MemberEntitlements/*#GET",
            "/DefaultCollection/_apis/MemberEntitlements#GET",
            "/DefaultCollection/_apis/UserEntitlements/*#GET",
            "/DefaultCollection/_apis/UserEntitlements#GET",
            "/DefaultCollection/_apis/UserEntitlementSummary#GET",
        ),
    ),
    # The write scope's own patterns are not quoted in the facts; modelled as the read routes with the
    # write methods of the MemberEntitlementManagement spec (POST/PATCH/DELETE). Not confirmed.
    "vso.memberentitlementmanagement_write": (
        "vso.memberentitlementmanagement",
        (
            "/_apis/MemberEntitlements#GET+POST+PATCH+DELETE",
            "/_apis/GroupEntitlements#GET+POST+PATCH+DELETE",
            "/_apis/UserEntitlements#GET+POST+PATCH+DELETE",
            "/_apis/ServicePrincipalEntitlements#GET+POST+PATCH+DELETE",
        ),
    ),
    # Graph (read) is in the PAT UI table (facts 4.1) but its patterns are not quoted; it inherits vso.base.
    "vso.graph": ("vso.base", ("/_apis/graph#GET",)),
    # "Full access" (facts 3.5).
    FULL_ACCESS: (None, ("/*#*",)),
    # The PAT lifecycle API's Entra scopes (facts 4.3: the 7.2 spec names vso.pats for GET and vso.pats_manage
    # for POST/PUT/DELETE). Their patterns are not quoted anywhere; modelled on the API's one route.
    "vso.pats": ("vso.base", ("/_apis/tokens/pats#GET",)),
    "vso.pats_manage": ("vso.pats", ("/_apis/tokens/pats#GET+POST+PUT+DELETE",)),
}


@dataclass(frozen=True)
class Pattern:
    segments: tuple[str, ...]
    methods: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Pattern:
        path, _, methods = text.partition("#")
        segments = [s.lower() for s in path.strip("/").split("/") if s]
        # The organization/collection segment is matched as "the org" by stripping it (module docstring).
        if segments and segments[0] == "defaultcollection":
            segments = segments[1:]
        return cls(tuple(segments), frozenset(m.strip().upper() for m in methods.split("+") if m.strip()))

    def matches(self, segments: Sequence[str], method: str) -> bool:
        if "*" not in self.methods and method.upper() not in self.methods:
            return False
        if len(segments) < len(self.segments):
            return False
        return all(p == "*" or p == s.lower() for p, s in zip(self.segments, segments, strict=False))


_PATTERNS: dict[str, tuple[Pattern, ...]] = {
    scope: tuple(Pattern.parse(p) for p in patterns) for scope, (_, patterns) in _DEFINITIONS.items()
}


def known_scopes() -> frozenset[str]:
    return frozenset(_DEFINITIONS)


def parse_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """A PAT's scope field is a space-separated list of scope ids (facts 4.1)."""
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    return tuple(dict.fromkeys(item.strip().lower() for item in items if item.strip()))


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes themselves plus every scope they inherit from. Unknown ids grant nothing."""
    seen: set[str] = set()
    pending = [s.lower() for s in scopes]
    while pending:
        scope = pending.pop()
        if scope in seen or scope not in _DEFINITIONS:
            continue
        seen.add(scope)
        parent = _DEFINITIONS[scope][0]
        if parent:
            pending.append(parent)
    return frozenset(seen)


def allows(scopes: str | Iterable[str], segments: Sequence[str], method: str) -> bool:
    """Whether a token with `scopes` may call `method` on the path `segments` (below the organization)."""
    # HEAD is checked as GET unless a pattern names it (the wiql patterns do).
    methods = (method, "GET") if method.upper() == "HEAD" else (method,)
    for scope in expand(parse_scopes(scopes)):
        for pattern in _PATTERNS[scope]:
            if any(pattern.matches(segments, m) for m in methods):
                return True
    return False
