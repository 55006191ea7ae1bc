"""The ADO REST endpoints: routing, the authentication and scope gates, api-version, and the handlers.

Order of checks for one request, as the real service layers them (docs/azure-devops-behaviours.md §3.5: the
scope filter runs before routing and validation): organization -> authentication -> scope -> route ->
api-version -> handler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ado_emulator import auth, pats, scopes, versions
from ado_emulator import workitems as wi
from ado_emulator.areas import core, location, vsaex, vssps, wit
from ado_emulator.call import Call, Host, Incoming, Outcome, Route
from ado_emulator.errors import JSON_TYPE, ApiError, Reply, json_reply, not_found_text
from ado_emulator.locations import SERVER_SERVICES, SERVICE_PREFIXES, Location, Service
from ado_emulator.model import Identity
from ado_emulator.state import OrgData

ROUTES: tuple[Route, ...] = location.ROUTES + core.ROUTES + wit.ROUTES + vssps.ROUTES + vsaex.ROUTES


@dataclass
class _Match:
    route: Route | None = None
    params: dict[str, str] = field(default_factory=dict)
    prefix: tuple[str, ...] = ()
    wrong_method: bool = False


def _match(services: frozenset[Service], rel: Sequence[str], method: str) -> _Match:
    lowered = [s.lower() for s in rel]
    if "_apis" not in lowered:
        return _Match()
    split = lowered.index("_apis")
    prefix, api = tuple(rel[:split]), list(rel[split + 1 :])
    found = _Match(prefix=prefix)
    lookup_method = "GET" if method == "HEAD" else method
    for route in ROUTES:
        if not (route.services & services):
            continue
        params = route.match(api, len(prefix))
        if params is None:
            continue
        if route.method != lookup_method:
            # OPTIONS _apis/{area} takes any one segment: it makes no other method "not allowed".
            found.wrong_method = found.wrong_method or route.method != "OPTIONS"
            continue
        return _Match(route=route, params=params, prefix=prefix)
    return found


def _content_type(version: versions.ApiVersion | None, location: Location | None) -> str:
    # Responses echo the version: "application/json; charset=utf-8; api-version=5.0-preview.1"
    # (docs/azure-devops-behaviours.md §2.1, 7).
    if version is not None:
        return f"{JSON_TYPE}; api-version={version.text}"
    if location is None:
        return JSON_TYPE
    # No version sent (a GET): the server's default, here the released version or the newest preview.
    default = (
        location.released_version
        if location.released_version != "0.0"
        else f"{location.max_version}-preview.{location.resource_version}"
    )
    return f"{JSON_TYPE}; api-version={default}"


class Api:
    def __init__(self, host: Host) -> None:
        self.host = host

    def handle(self, incoming: Incoming) -> Outcome:
        state, behaviour = self.host.state, self.host.behaviour
        segments = list(incoming.segments)
        service: Service = "main"
        if segments and segments[0].lower() in {p.lower() for p in SERVICE_PREFIXES.values()}:
            service = next(s for s, p in SERVICE_PREFIXES.items() if p.lower() == segments[0].lower())
            segments = segments[1:]
        resolved = state.resolve_path(segments)
        if resolved is None or (service != "main" and resolved[0].org.kind != "services"):
            # Unknown organization; the real answer is not in the facts.
            return Outcome(not_found_text(incoming.path), None)
        data, size = resolved
        rel = segments[size:]
        services: frozenset[Service] = (
            SERVER_SERVICES if data.org.kind == "server" else frozenset({service})
        )
        match = _match(services, rel, incoming.method)
        base_url = self.host.base_url

        result = auth.authenticate(
            state,
            data.org,
            incoming.header("authorization"),
            behaviour,
            entra=self.host.entra,  # Sign in with Microsoft: bearer tokens of the emulator's Entra ID authority
            entra_only=pats.is_pat_lifecycle(rel),
        )
        anonymous_ok = result.outcome == "anonymous" and match.route is not None and match.route.anonymous_ok
        if result.outcome != "ok" and not anonymous_ok:
            suppress = (incoming.header("x-tfs-fedauthredirect") or "").strip().lower() == "suppress"
            reply = auth.failure_reply(
                result,
                method=incoming.method,
                suppress=suppress,
                base_url=base_url,
                behaviour=behaviour,
                server=data.org.kind == "server",
            )
            return Outcome(reply, None)
        identity = result.identity  # None for the anonymous identity of a public-project org
        if result.scopes is not None and not scopes.allows(result.scopes, rel, incoming.method):
            # Missing scope: 401, empty body, WWW-Authenticate (docs/azure-devops-behaviours.md §3.5).
            denied = auth.user_not_authorized if behaviour.scope_failure_body else auth.unauthorized_empty
            return Outcome(denied(base_url), identity.id if identity else None)

        reply = self._routed(incoming, data, service, match, identity)
        if identity is not None:
            # Authenticated answers carry "{userId}:{UPN}" (docs/azure-devops-behaviours.md §2.1); failed
            # authentications do not (3.2).
            reply.headers.append(("X-VSS-UserData", f"{identity.id}:{identity.email}"))
        return Outcome(reply, identity.id if identity else None)

    def _routed(
        self, incoming: Incoming, data: OrgData, service: Service, match: _Match, identity: Identity | None
    ) -> Reply:
        route = match.route
        if route is None:
            if match.wrong_method:
                return json_reply(
                    405,
                    {"message": f"The requested resource does not support http method '{incoming.method}'."},
                )
            return not_found_text(incoming.path)
        behaviour = self.host.behaviour
        try:
            version = None
            if route.method != "OPTIONS":
                version = versions.check(
                    versions.requested_version(incoming.param("api-version"), incoming.header("accept")),
                    method=incoming.method,
                    deployment_max=data.org.max_api_version,
                    released=route.location.released_version if route.location else None,
                    allow_get_without=behaviour.allow_get_without_api_version,
                    require_preview_flag=behaviour.require_preview_flag,
                )
            call = Call(
                host=self.host,
                data=data,
                service=service,
                incoming=incoming,
                prefix=match.prefix,
                params=match.params,
                identity=identity,
                links=wi.Links(self.host.base_url, data.org),
                version=version,
            )
            reply = route.handler(call)
        except ApiError as error:
            return error.reply()
        if reply.content_type == JSON_TYPE and 200 <= reply.status < 300:
            reply.content_type = _content_type(version, route.location)
        return reply
