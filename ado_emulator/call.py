"""One request as the handlers see it (`Call`), the route type, and the helpers every service area shares."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ado_emulator import versions
from ado_emulator import workitems as wi
from ado_emulator.errors import ApiError, Reply, json_reply
from ado_emulator.locations import SERVICE_PREFIXES, Location, Service
from ado_emulator.model import Behaviour, Identity, Project
from ado_emulator.state import OrgData, State

NIL_GUID = "00000000-0000-0000-0000-000000000000"
# docs/azure-devops-behaviours.md §5.1: "Maximum 200 ids allowed" for GET workitems?ids= and workitemsbatch.
MAX_BATCH_IDS = 200


class Host(Protocol):
    """What the handlers need from the running emulator."""

    state: State
    deployment_id: str
    started_at: datetime
    entra: Any  # entra.EntraAuthority: checks bearer tokens, holds the PAT-creation policy

    @property
    def base_url(self) -> str: ...

    @property
    def behaviour(self) -> Behaviour: ...


@dataclass(frozen=True)
class Incoming:
    method: str
    path: str  # percent-decoded, without the query
    segments: tuple[str, ...]
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes

    def param(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.query.items() if k.lower() == wanted), None)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").strip().lower() == "true"


@dataclass(frozen=True)
class Outcome:
    reply: Reply
    identity_id: str | None


@dataclass(frozen=True)
class Call:
    host: Host
    data: OrgData
    service: Service  # the emulated host the request came to
    incoming: Incoming
    prefix: tuple[str, ...]
    params: dict[str, str]
    identity: Identity | None
    links: wi.Links
    version: versions.ApiVersion | None

    @property
    def state(self) -> State:
        return self.host.state

    @property
    def me(self) -> Identity:
        if self.identity is None:  # anonymous callers only reach anonymous_ok routes
            raise ApiError(
                401, "TF400813: Resource not available for anonymous access.", "UnauthorizedRequestException"
            )
        return self.identity

    def project(self) -> Project | None:
        """The project named before `_apis`, if any (404 TF200016 when it does not exist)."""
        return self.state.project_or_404(self.data, self.prefix[0]) if self.prefix else None

    def required_project(self) -> Project:
        project = self.project()
        if project is None:
            raise ApiError(400, "A project is required for this request.", "ArgumentException")
        return project

    def json_body(self) -> Any:
        try:
            return json.loads(self.incoming.body.decode("utf-8-sig") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            # Wording not confirmed.
            raise ApiError(400, "The request body is not valid JSON.", "VssPropertyValidationException") from None


def access_denied(call: Call, *, resource: str, permission: str) -> ApiError:
    """403 for a caller whose token is fine but who lacks a permission (docs/azure-devops-behaviours.md §4.4).

    The shape follows the service's AccessCheckException; the exact wording is not confirmed."""
    return ApiError(
        403,
        f"Access Denied: {call.me.display_name} needs the following permission(s) on the resource {resource} to "
        f"perform this action: {permission}",
        "AccessCheckException",
    )


Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    services: frozenset[Service]
    method: str
    pattern: tuple[str, ...]
    prefixes: frozenset[int]
    location: Location | None
    handler: Handler
    anonymous_ok: bool = False

    def match(self, api_segments: Sequence[str], prefix_size: int) -> dict[str, str] | None:
        if prefix_size not in self.prefixes or len(api_segments) != len(self.pattern):
            return None
        params: dict[str, str] = {}
        for part, segment in zip(self.pattern, api_segments, strict=True):
            if part.startswith("${"):
                if not segment.startswith("$") or len(segment) < 2:
                    return None
                params[part[2:-1]] = segment[1:]
            elif part.startswith("{#"):  # numeric placeholder
                if not segment.isdigit():
                    return None
                params[part[2:-1]] = segment
            elif part.startswith("{"):
                params[part[1:-1]] = segment
            elif part != segment.lower():
                return None
        return params


# --- helpers ----------------------------------------------------------------------------------------------


def ok(payload: Any, status: int = 200) -> Reply:
    return json_reply(status, payload)


def paging_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def paging_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith("offset:"):
            return max(0, int(text[7:]))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(400, "The continuation token is not valid.", "ArgumentException")


def int_param(call: Call, *names: str, default: int | None = None) -> int | None:
    for name in names:
        text = call.incoming.param(name)
        if text is not None and text != "":
            try:
                value = int(text)
            except ValueError:
                raise ApiError(400, f"The value '{text}' is not valid for {name}.", "ArgumentException") from None
            if value < 0:
                raise ApiError(400, f"The value '{text}' is not valid for {name}.", "ArgumentOutOfRangeException")
            return value
    return default


def service_url(host: Host, data: OrgData, service: Service) -> str:
    if data.org.kind == "server" or service == "main":
        return f"{host.base_url}/{data.org.path}"
    return f"{host.base_url}/{SERVICE_PREFIXES[service]}/{data.org.name}"


def route(
    services: str,
    method: str,
    pattern: str,
    prefixes: tuple[int, ...],
    location: Location | None,
    handler: Handler,
    *,
    anonymous_ok: bool = False,
) -> Route:
    return Route(
        services=frozenset(services.split()),  # type: ignore[arg-type]
        method=method,
        pattern=tuple(p for p in pattern.split("/") if p),
        prefixes=frozenset(prefixes),
        location=location,
        handler=handler,
        anonymous_ok=anonymous_ok,
    )


ALL = "main vssps vsaex"
NONE, OPT, TEAM = (0,), (0, 1), (0, 1, 2)
