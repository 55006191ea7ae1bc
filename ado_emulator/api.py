"""The ADO REST endpoints: routing, the authentication and scope gates, api-version, and the handlers.

Order of checks for one request, as the real service layers them (facts 3.5: the scope filter runs before
routing and validation): organization -> authentication -> scope -> route -> api-version -> handler.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ado_emulator import auth, pats, scopes, versions
from ado_emulator import wiql as wiql_lang
from ado_emulator import workitems as wi
from ado_emulator.errors import JSON_TYPE, ApiError, Reply, json_reply, not_found_text
from ado_emulator.locations import (
    CONNECTION_DATA,
    LOCATIONS_BY_SERVICE,
    PERSONAL_ACCESS_TOKENS,
    PROJECTS,
    RECYCLE_BIN,
    RESOURCE_AREA_TABLE,
    RESOURCE_AREAS,
    REVISIONS,
    SERVICE_PREFIXES,
    TEAMS,
    USER_ENTITLEMENTS,
    WIQL,
    WORK_ITEM_CREATE,
    WORK_ITEMS,
    WORK_ITEMS_BATCH,
    Location,
    Service,
)
from ado_emulator.model import (
    ANONYMOUS_ID,
    LOCATION_SERVICE_OWNER,
    TENANT_ID,
    Behaviour,
    Identity,
    PatRecord,
    Project,
)
from ado_emulator.state import OrgData, State, item_not_found

NIL_GUID = "00000000-0000-0000-0000-000000000000"
# facts 5.1: "Maximum 200 ids allowed" for GET workitems?ids= and workitemsbatch.
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


def _ok(payload: Any, status: int = 200) -> Reply:
    return json_reply(status, payload)


def _paging_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _paging_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith("offset:"):
            return max(0, int(text[7:]))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(400, "The continuation token is not valid.", "ArgumentException")


def _int_param(call: Call, *names: str, default: int | None = None) -> int | None:
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


def _identity_json(identity: Identity) -> dict[str, Any]:
    # Keys and order of real/GET__apis_ConnectionData_dev.azure.com_org_2025-01.json (facts 2.1).
    return {
        "id": identity.id,
        "descriptor": identity.descriptor,
        "subjectDescriptor": identity.subject_descriptor,
        "providerDisplayName": identity.display_name,
        "isActive": True,
        "properties": {"Account": {"$type": "System.String", "$value": identity.email}},
        "resourceVersion": 2,
        "metaTypeId": 0,
    }


def _anonymous_json() -> dict[str, Any]:
    # The anonymous user of a public-project org: only the id is confirmed (facts 2.1); the rest mirrors
    # the on-prem unauthenticated identity and is not confirmed.
    return {
        "id": ANONYMOUS_ID,
        "descriptor": f"Microsoft.TeamFoundation.UnauthenticatedIdentity;{ANONYMOUS_ID}",
        "providerDisplayName": "Anonymous",
        "isActive": True,
        "properties": {},
        "resourceVersion": 2,
        "metaTypeId": 255,
    }


def _service_url(host: Host, data: OrgData, service: Service) -> str:
    if data.org.kind == "server" or service == "main":
        return f"{host.base_url}/{data.org.path}"
    return f"{host.base_url}/{SERVICE_PREFIXES[service]}/{data.org.name}"


# --- Location ---------------------------------------------------------------------------------------------


def options_apis(call: Call) -> Reply:
    # Server kind: one URL serves every area, so it lists every location.
    services: tuple[Service, ...] = ("main", "vssps", "vsaex") if call.data.org.kind == "server" else (call.service,)
    seen: dict[str, Location] = {}
    for service in services:
        for location in LOCATIONS_BY_SERVICE[service]:
            seen.setdefault(location.id, location)
    value = [location.as_json() for location in seen.values()]
    return _ok({"count": len(value), "value": value})


def connection_data(call: Call) -> Reply:
    user = _identity_json(call.identity) if call.identity else _anonymous_json()
    org = call.data.org
    return _ok(
        {
            "authenticatedUser": user,
            "authorizedUser": user,
            "instanceId": org.id,
            "deploymentId": call.host.deployment_id,
            "deploymentType": "hosted" if org.kind == "services" else "onPremises",
            "locationServiceData": {
                "serviceOwner": LOCATION_SERVICE_OWNER,
                "defaultAccessMappingMoniker": "PublicAccessMapping",
                "lastChangeId": 424239147,
                "lastChangeId64": 424239147,
            },
        }
    )


def _areas(call: Call) -> list[dict[str, Any]]:
    # On-prem returns an empty list and clients use the collection URL for everything (facts 1.2).
    if call.data.org.kind == "server":
        return []
    return [
        {"id": area.id, "name": area.name, "locationUrl": _service_url(call.host, call.data, area.service) + "/"}
        for area in RESOURCE_AREA_TABLE
    ]


def resource_areas(call: Call) -> Reply:
    value = _areas(call)
    return _ok({"count": len(value), "value": value})


def resource_area(call: Call) -> Reply:
    wanted = call.params["areaId"].lower()
    for area in _areas(call):
        if area["id"] == wanted or area["name"].lower() == wanted:
            return _ok(area)
    raise ApiError(404, f"The resource area {call.params['areaId']} was not found.", "VssResourceAreaNotFoundException")


# --- core: projects and teams -----------------------------------------------------------------------------


def _team_id(project: Project) -> str:
    return str(uuid.uuid5(uuid.UUID(project.id), "default team"))


def _project_ref(call: Call, project: Project) -> dict[str, Any]:
    # TeamProjectReference keys (examples/core/7.1/projects/GET__projects.json, spec TeamProjectReference).
    body: dict[str, Any] = {"id": project.id, "name": project.name}
    if project.description:
        body["description"] = project.description
    body.update(
        {
            "url": f"{call.links.org_url}/_apis/projects/{project.id}",
            "state": "wellFormed",
            "revision": 1,
            "visibility": "public" if call.data.org.public_projects else "private",
            "lastUpdateTime": wi.iso(call.host.started_at),
        }
    )
    return body


def projects_list(call: Call) -> Reply:
    projects = sorted(call.data.projects.values(), key=lambda p: p.name.lower())
    skip = _int_param(call, "$skip", default=0) or 0
    top = _int_param(call, "$top")
    page = projects[skip : skip + top if top is not None else None]
    return _ok({"count": len(page), "value": [_project_ref(call, p) for p in page]})


def project_get(call: Call) -> Reply:
    project = call.state.project_or_404(call.data, call.params["project"])
    body = _project_ref(call, project)
    team_id = _team_id(project)
    body["_links"] = {
        "self": {"href": body["url"]},
        "collection": {"href": f"{call.links.org_url}/_apis/projectCollections/{call.data.org.id}"},
        "web": {"href": f"{call.links.org_url}/{project.name}"},
    }
    body["defaultTeam"] = {
        "id": team_id,
        "name": project.default_team_name,
        "url": f"{call.links.org_url}/_apis/projects/{project.id}/teams/{team_id}",
    }
    if call.incoming.flag("includeCapabilities"):
        body["capabilities"] = {
            "versioncontrol": {"sourceControlType": "Git", "gitEnabled": "True", "tfvcEnabled": "False"},
            "processTemplate": {"templateName": "Scrum", "templateTypeId": "6b724908-ef14-45cf-84f8-768b5384da45"},
        }
    return _ok(body)


def project_delete(call: Call) -> Reply:
    # The app's non-destructive probe for vso.project_manage deletes the nil id and expects 404 (facts 4.2).
    # For a project that exists the service queues an operation (202 OperationReference, as for POST
    # projects); the emulator never removes a project, so demo data cannot be lost by a probe gone wrong.
    project = call.state.project_or_404(call.data, call.params["project"])
    operation_id = str(uuid.uuid5(uuid.UUID(project.id), "delete"))
    return _ok(
        {"id": operation_id, "status": "queued", "url": f"{call.links.org_url}/_apis/operations/{operation_id}"},
        status=202,
    )


def teams_list(call: Call) -> Reply:
    project = call.state.project_or_404(call.data, call.params["project"])
    team_id = _team_id(project)
    team = {
        "id": team_id,
        "name": project.default_team_name,
        "url": f"{call.links.org_url}/_apis/projects/{project.id}/teams/{team_id}",
        "description": "The default project team.",
        "identityUrl": call.links.identity_url(team_id),
        "projectName": project.name,
        "projectId": project.id,
    }
    return _ok({"value": [team], "count": 1})


# --- wit --------------------------------------------------------------------------------------------------


def _identities(call: Call) -> wi.IdentityLookup:
    return call.state.identity


def _render(call: Call, record: wi.WorkItemRecord, **options: Any) -> dict[str, Any]:
    project = call.data.projects[record.project_id]
    return wi.item_json(record, project=project, links=call.links, identities=_identities(call), **options)


def _fields_param(text: str | Sequence[str] | None) -> list[wi.FieldDef] | None:
    if text is None or text == "":
        return None
    names = text.split(",") if isinstance(text, str) else list(text)
    found: list[wi.FieldDef] = []
    for name in names:
        definition = wi.find_field(name)
        if definition is None:
            raise wi.unknown_field(name.strip())
        found.append(definition)
    return found


def _as_of(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return wi.parse_datetime(text)
    except ValueError:
        raise ApiError(400, f"The value '{text}' is not a valid date for asOf.", "ArgumentException") from None


def _read_items(
    call: Call,
    ids: list[int],
    *,
    fields: list[wi.FieldDef] | None,
    expand: wi.Expand,
    omit: bool,
    as_of: datetime | None,
) -> Reply:
    if len(ids) > MAX_BATCH_IDS:
        # 400 for more than 200 ids (facts 5.1); the wording is not confirmed.
        raise ApiError(
            400,
            f"The number of work items requested ({len(ids)}) exceeds the maximum allowed ({MAX_BATCH_IDS}).",
            "ArgumentOutOfRangeException",
        )
    if fields is not None and expand != "none":
        raise ApiError(
            400, "The expand parameter can not be used with the fields parameter.", "ConflictingParametersException"
        )
    value: list[dict[str, Any] | None] = []
    with call.state.lock:
        for item_id in ids:
            record = call.data.work_items.get(item_id)
            revision = None
            if record is not None and record.deleted is None:
                revision = record.revision_at(as_of) if as_of else record.current
            if revision is None:
                if not omit:
                    raise item_not_found(item_id)
                value.append(None)  # errorPolicy=Omit: null in place of the missing item (facts 5.1)
                continue
            # A revision is found only on a record.
            value.append(_render(call, record, revision=revision, expand=expand, only=fields, single=False))  # type: ignore[arg-type]
    return _ok({"count": len(value), "value": value})


def _ids(text: Any) -> list[int]:
    items = text.split(",") if isinstance(text, str) else text
    if not items:
        raise ApiError(400, "Value cannot be null.\r\nParameter name: ids", "ArgumentNullException")
    try:
        return [int(str(i).strip()) for i in items]
    except ValueError:
        raise ApiError(400, f"The value '{text}' is not valid for ids.", "ArgumentException") from None


def _error_policy_omit(text: str | None) -> bool:
    value = (text or "fail").strip().lower()
    if value not in {"fail", "omit"}:
        raise ApiError(400, f"The value '{text}' is not valid for errorPolicy.", "ArgumentException")
    return value == "omit"


def _read_items_from(call: Call, get: Callable[[str], Any]) -> Reply:
    """GET workitems and POST workitemsbatch take the same options, from the query or the body."""
    return _read_items(
        call,
        _ids(get("ids")),
        fields=_fields_param(get("fields")),
        expand=wi.parse_expand(get("$expand")),
        omit=_error_policy_omit(get("errorPolicy")),
        as_of=_as_of(get("asOf")),
    )


def workitems_list(call: Call) -> Reply:
    call.project()
    return _read_items_from(call, call.incoming.param)


def workitems_batch(call: Call) -> Reply:
    call.project()
    body = call.json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "Value cannot be null.\r\nParameter name: workItemGetRequest", "ArgumentNullException")
    return _read_items_from(call, body.get)


def workitem_get(call: Call) -> Reply:
    call.project()
    item_id = int(call.params["id"])
    fields = _fields_param(call.incoming.param("fields"))
    expand = wi.parse_expand(call.incoming.param("$expand"))
    if fields is not None and expand != "none":
        raise ApiError(
            400, "The expand parameter can not be used with the fields parameter.", "ConflictingParametersException"
        )
    as_of = _as_of(call.incoming.param("asOf"))
    with call.state.lock:
        record = call.state.live_item(call.data, item_id)
        revision = record.revision_at(as_of) if as_of else record.current
        if revision is None:
            raise item_not_found(item_id)
        return _ok(_render(call, record, revision=revision, expand=expand, only=fields))


def _require_patch_content_type(call: Call) -> None:
    content_type = (call.incoming.header("content-type") or "").split(";")[0].strip().lower()
    if call.host.behaviour.require_json_patch_content_type and content_type != "application/json-patch+json":
        # Wording of the service's VssRequestContentTypeNotSupportedException; not in the facts.
        raise ApiError(
            415,
            f'The request indicated a Content-Type of "{content_type or "(none)"}" for method type '
            f'"{call.incoming.method}" which is not supported. Valid content types for this method are: '
            "application/json-patch+json.",
            "VssRequestContentTypeNotSupportedException",
        )


def workitem_create(call: Call) -> Reply:
    project = call.required_project()
    _require_patch_content_type(call)
    validate_only = call.incoming.flag("validateOnly")
    record = call.state.create_item(
        call.data,
        project,
        call.params["type"],
        call.json_body(),
        by=call.me.id,
        validate_only=validate_only,
        bypass_rules=call.incoming.flag("bypassRules"),
    )
    if validate_only:
        fields = wi.revision_fields(
            record, record.current, links=call.links, identities=_identities(call), expanded=False
        )
        return _ok({"id": record.id, "rev": record.current.rev, "fields": fields})
    # 200, not 201 (facts 5.2).
    return _ok(_render(call, record))


def workitem_update(call: Call) -> Reply:
    call.project()
    _require_patch_content_type(call)
    record = call.state.update_item(
        call.data,
        int(call.params["id"]),
        call.json_body(),
        by=call.me.id,
        validate_only=call.incoming.flag("validateOnly"),
        bypass_rules=call.incoming.flag("bypassRules"),
        relation_only_bumps_rev=call.host.behaviour.relation_only_patch_bumps_rev,
    )
    return _ok(_render(call, record))


def _deleted_json(call: Call, record: wi.WorkItemRecord, *, with_resource: bool) -> dict[str, Any]:
    # WorkItemDelete (facts 5.1; key order of examples/wit/7.1/recycleBin/PATCH__wit_recyclebin_restore.json).
    project = call.data.projects[record.project_id]
    deletion = record.deleted
    deleted_by = call.state.identity(deletion.by) if deletion else None
    return {
        "id": record.id,
        "code": 200,
        "type": record.type_name,
        "name": record.current.fields.get("System.Title"),
        "project": project.name,
        "deletedDate": wi.iso(deletion.date) if deletion else None,
        "deletedBy": wi.identity_label(deleted_by) if deleted_by else None,
        "url": f"{call.links.org_url}/_apis/wit/recycleBin/{record.id}",
        "resource": _render(call, record) if with_resource else None,
    }


def workitem_delete(call: Call) -> Reply:
    call.project()
    destroy = call.incoming.flag("destroy")
    record = call.state.delete_item(call.data, int(call.params["id"]), by=call.me.id, destroy=destroy)
    # 200 + WorkItemDelete for 7.1 (facts 5.1). With destroy=true there is nothing left to restore,
    # so `resource` is null (not confirmed).
    return _ok(_deleted_json(call, record, with_resource=not destroy))


def workitem_revisions(call: Call) -> Reply:
    call.project()
    skip = _int_param(call, "$skip", default=0) or 0
    top = _int_param(call, "$top")
    with call.state.lock:
        record = call.state.live_item(call.data, int(call.params["id"]))
        revisions = record.revisions[skip : skip + top if top is not None else None]
        value = [
            {
                "id": record.id,
                "rev": revision.rev,
                "fields": wi.revision_fields(
                    record, revision, links=call.links, identities=_identities(call), expanded=True
                ),
                "url": f"{call.links.item_url(record.id)}/revisions/{revision.rev}",
            }
            for revision in revisions
        ]
    return _ok({"count": len(value), "value": value})


def recyclebin_get(call: Call) -> Reply:
    call.project()
    with call.state.lock:
        record = call.state.deleted_item(call.data, int(call.params["id"]))
        return _ok(_deleted_json(call, record, with_resource=True))


def recyclebin_restore(call: Call) -> Reply:
    call.project()
    body = call.json_body()
    if not isinstance(body, dict) or str(body.get("isDeleted", body.get("IsDeleted"))).lower() != "false":
        raise ApiError(400, "The request must set isDeleted to false to restore an item.", "ArgumentException")
    with call.state.lock:
        record = call.state.deleted_item(call.data, int(call.params["id"]))
        answer = _deleted_json(call, record, with_resource=True)
        call.state.restore_item(call.data, record.id)
    return _ok(answer)


def recyclebin_destroy(call: Call) -> Reply:
    call.project()
    call.state.destroy_deleted(call.data, int(call.params["id"]))
    # examples/wit/7.1/recycleBin/DELETE__wit_recyclebin__id_.json: 204.
    return Reply(status=204)


@dataclass(frozen=True)
class _WiqlRow:
    record: wi.WorkItemRecord
    revision: wi.Revision
    state: State

    def value(self, definition: wi.FieldDef) -> Any:
        if definition.ref == "System.Id":
            return self.record.id
        if definition.ref == "System.Rev":
            return self.revision.rev
        return self.revision.fields.get(definition.ref)

    def labels(self, identity: wi.IdentityValue) -> set[str]:
        found = self.state.identity(identity.id)
        if found is None:
            return {identity.id}
        return {found.id, found.email, found.display_name, wi.identity_label(found)}


def _sort_value(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, wi.IdentityValue):
        return (1, value.id)
    if isinstance(value, str):
        return (1, value.casefold())
    return (1, value)


def wiql(call: Call) -> Reply:
    project = call.project()
    if project is not None and len(call.prefix) == 2:
        team = call.prefix[1].lower()
        if team not in {project.default_team_name.lower(), _team_id(project)}:
            # Wording not confirmed.
            raise ApiError(404, f"The team with id or name '{call.prefix[1]}' does not exist.", "TeamNotFoundException")
    body = call.json_body()
    text = body.get("query") if isinstance(body, dict) else None
    now = call.state.now()
    context = wiql_lang.Context(
        project=project.name if project else None,
        me=wi.identity_label(call.me),
        now=now,
    )
    query = wiql_lang.parse(text, context)
    top = _int_param(call, "$top")
    rows: list[_WiqlRow] = []
    with call.state.lock:
        for record in call.data.work_items.values():
            if record.deleted is not None:
                continue
            revision = record.revision_at(query.as_of) if query.as_of else record.current
            if revision is None:
                continue
            row = _WiqlRow(record, revision, call.state)
            if query.where is None or query.where(row):
                rows.append(row)
    # No ORDER BY: by id. With one: stable sorts from the last key to the first.
    rows.sort(key=lambda r: r.record.id)
    for key in reversed(query.order):
        rows.sort(key=lambda r, k=key: _sort_value(r.value(k.field)), reverse=key.descending)  # type: ignore[misc]
    if top is not None:
        rows = rows[:top]

    def field_ref(definition: wi.FieldDef) -> dict[str, str]:
        return {"referenceName": definition.ref, "name": definition.name, "url": call.links.field_url(definition.ref)}

    # WorkItemQueryResult, keys and order of the recording (facts 5.2); sortColumns only with ORDER BY.
    result: dict[str, Any] = {
        "queryType": "flat",
        "queryResultType": "workItem",
        "asOf": wi.iso(query.as_of or now),
        "columns": [field_ref(c) for c in query.columns],
    }
    if query.order:
        result["sortColumns"] = [{"field": field_ref(k.field), "descending": k.descending} for k in query.order]
    result["workItems"] = [{"id": r.record.id, "url": call.links.item_url(r.record.id)} for r in rows]
    return _ok(result)


# --- vssps: tokens ----------------------------------------------------------------------------------------


def _session_token(call: Call, record: PatRecord) -> dict[str, Any]:
    # SessionToken keys of the tokenAdmin example (facts 4.2). `isValid` is false only for revoked tokens:
    # the example lists an already-expired token as valid (validTo == validFrom in the past).
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


def session_tokens(call: Call) -> Reply:
    """Legacy GET _apis/Token/SessionTokens: all of the caller's PATs (facts 4.2, 4.3)."""
    records = call.state.pats_of(call.me.id)
    now = call.state.now()
    option = call.incoming.param("displayFilterOption")
    if option and call.host.behaviour.session_tokens_honour_display_filter:
        # 1 active, 2 revoked, 3 expired, 4 all (enum values not confirmed).
        keep: dict[str, Callable[[PatRecord], bool]] = {
            "1": lambda p: not p.revoked and p.valid_to > now,
            "2": lambda p: p.revoked,
            "3": lambda p: not p.revoked and p.valid_to <= now,
        }
        test = keep.get(option.strip())
        if test is not None:
            records = [p for p in records if test(p)]
    tokens = [_session_token(call, p) for p in records]
    paged = any(call.incoming.param(n) is not None for n in ("startRowNumber", "pageSize", "pageRequestTimeStamp"))
    if paged:
        # With paging parameters clients read `sessionTokens` (facts 4.2); the rest of that envelope is
        # not confirmed. startRowNumber is 1-based.
        start = max(1, _int_param(call, "startRowNumber", default=1) or 1)
        size = _int_param(call, "pageSize")
        page = tokens[start - 1 : (start - 1 + size) if size is not None else None]
        return _ok({"sessionTokens": page})
    return _ok({"count": len(tokens), "value": tokens})


_DESCRIPTOR = re.compile(r"^[a-z]{2,8}\.[A-Za-z0-9_\-]+=*$")


def personal_access_tokens(call: Call) -> Reply:
    """TokenAdmin: one user's PATs in this organization (facts 4.2; the org-admin check is not emulated)."""
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
    offset = _paging_offset(call.incoming.param("continuationToken"))
    size = _int_param(call, "pageSize", default=20) or 20
    page = records[offset : offset + size]
    more = offset + size < len(records)
    return _ok(
        {
            "value": [_session_token(call, p) for p in page],
            "continuationToken": _paging_token(offset + size) if more else None,
        }
    )


# --- vsaex: member entitlements ---------------------------------------------------------------------------


def _user_entitlement(call: Call, identity: Identity) -> dict[str, Any]:
    # UserEntitlement keys of examples/memberEntitlementManagement/7.1/UserEntitlements/GET_...ById.json.
    graph = f"{_service_url(call.host, call.data, 'vssps')}/_apis/graph"
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
    offset = _paging_offset(call.incoming.param("continuationToken"))
    # `$top` as the spec names it; the CLI sent `top` (facts 4.2).
    size = _int_param(call, "$top", "top", default=100) or 100
    page = members[offset : offset + size]
    more = offset + size < len(members)
    return _ok(
        {
            call.host.behaviour.user_entitlements_list_key: [_user_entitlement(call, i) for i in page],
            "continuationToken": _paging_token(offset + size) if more else None,
            "totalCount": len(members),
        }
    )


# --- the route table --------------------------------------------------------------------------------------


def _route(
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

ROUTES: tuple[Route, ...] = (
    _route(ALL, "OPTIONS", "", NONE, None, options_apis),
    _route(ALL, "GET", "connectiondata", NONE, CONNECTION_DATA, connection_data, anonymous_ok=True),
    _route(ALL, "GET", "resourceareas", NONE, RESOURCE_AREAS, resource_areas),
    _route(ALL, "GET", "resourceareas/{areaId}", NONE, RESOURCE_AREAS, resource_area),
    _route("main", "GET", "projects", NONE, PROJECTS, projects_list),
    _route("main", "GET", "projects/{project}", NONE, PROJECTS, project_get),
    _route("main", "DELETE", "projects/{project}", NONE, PROJECTS, project_delete),
    _route("main", "GET", "projects/{project}/teams", NONE, TEAMS, teams_list),
    _route("main", "POST", "wit/wiql", TEAM, WIQL, wiql),
    _route("main", "GET", "wit/workitems", OPT, WORK_ITEMS, workitems_list),
    _route("main", "POST", "wit/workitemsbatch", OPT, WORK_ITEMS_BATCH, workitems_batch),
    _route("main", "POST", "wit/workitems/${type}", (1,), WORK_ITEM_CREATE, workitem_create),
    _route("main", "GET", "wit/workitems/{#id}", OPT, WORK_ITEMS, workitem_get),
    _route("main", "PATCH", "wit/workitems/{#id}", OPT, WORK_ITEMS, workitem_update),
    _route("main", "DELETE", "wit/workitems/{#id}", OPT, WORK_ITEMS, workitem_delete),
    _route("main", "GET", "wit/workitems/{#id}/revisions", OPT, REVISIONS, workitem_revisions),
    _route("main", "GET", "wit/recyclebin/{#id}", OPT, RECYCLE_BIN, recyclebin_get),
    _route("main", "PATCH", "wit/recyclebin/{#id}", OPT, RECYCLE_BIN, recyclebin_restore),
    _route("main", "DELETE", "wit/recyclebin/{#id}", OPT, RECYCLE_BIN, recyclebin_destroy),
    # The legacy SessionTokens resource is not in any recorded OPTIONS: no location, no version rules.
    _route("vssps", "GET", "token/sessiontokens", NONE, None, session_tokens),
    _route(
        "vssps",
        "GET",
        "tokenadmin/personalaccesstokens/{descriptor}",
        NONE,
        PERSONAL_ACCESS_TOKENS,
        personal_access_tokens,
    ),
    _route("vsaex", "GET", "userentitlements", NONE, USER_ENTITLEMENTS, user_entitlements),
    # PAT lifecycle API (facts 4.3); its location id is not in the facts, so no location and no version rules.
    _route("vssps", "GET", "tokens/pats", NONE, None, pats.get),
    _route("vssps", "POST", "tokens/pats", NONE, None, pats.create),
    _route("vssps", "PUT", "tokens/pats", NONE, None, pats.update),
    _route("vssps", "DELETE", "tokens/pats", NONE, None, pats.revoke),
)


# --- dispatch ---------------------------------------------------------------------------------------------


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
            found.wrong_method = True
            continue
        return _Match(route=route, params=params, prefix=prefix)
    return found


def _content_type(version: versions.ApiVersion | None, location: Location | None) -> str:
    # Responses echo the version: "application/json; charset=utf-8; api-version=5.0-preview.1" (facts 2.1, 7).
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
            frozenset({"main", "vssps", "vsaex"}) if data.org.kind == "server" else frozenset({service})
        )
        match = _match(services, rel, incoming.method)
        base_url = self.host.base_url

        result = auth.authenticate(
            state,
            data.org,
            incoming.header("authorization"),
            behaviour,
            entra=self.host.entra,
            entra_only=pats.is_pat_lifecycle(rel),
        )
        anonymous_ok = result.outcome == "anonymous" and match.route is not None and match.route.anonymous_ok
        if result.outcome != "ok" and not anonymous_ok:
            suppress = (incoming.header("x-tfs-fedauthredirect") or "").strip().lower() == "suppress"
            reply = auth.failure_reply(
                result, method=incoming.method, suppress=suppress, base_url=base_url, behaviour=behaviour
            )
            return Outcome(reply, None)
        identity = result.identity  # None for the anonymous identity of a public-project org
        if result.scopes is not None and not scopes.allows(result.scopes, rel, incoming.method):
            # Missing scope: 401, empty body, WWW-Authenticate (facts 3.5).
            denied = auth.user_not_authorized if behaviour.scope_failure_body else auth.unauthorized_empty
            return Outcome(denied(base_url), identity.id if identity else None)

        reply = self._routed(incoming, data, service, match, identity)
        if identity is not None:
            # Authenticated answers carry "{userId}:{UPN}" (facts 2.1); failed authentications do not (3.2).
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
