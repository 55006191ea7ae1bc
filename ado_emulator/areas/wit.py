"""wit: work items, the recycle bin and WIQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ado_emulator import wiql as wiql_lang
from ado_emulator import workitems as wi
from ado_emulator.areas.core import default_team_id
from ado_emulator.call import MAX_BATCH_IDS, OPT, TEAM, Call, Route, int_param, ok, route
from ado_emulator.errors import ApiError, Reply
from ado_emulator.locations import (
    RECYCLE_BIN,
    REVISIONS,
    WIQL,
    WORK_ITEM_CREATE,
    WORK_ITEM_TYPE_STATES,
    WORK_ITEMS,
    WORK_ITEMS_BATCH,
)
from ado_emulator.state import State, item_not_found


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
        # VS403474 for more than 200 ids (docs/azure-devops-behaviours.md §5.1); the typeKey is not confirmed.
        raise ApiError(
            400,
            f"VS403474: You requested {len(ids)} work items which exceeds the limit of {MAX_BATCH_IDS}.",
            "WorkItemPageSizeExceededException",
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
                # errorPolicy=Omit: null in place of the missing item (docs/azure-devops-behaviours.md §5.1)
                value.append(None)
                continue
            value.append(_render(call, record, revision=revision, expand=expand, only=fields, single=False))  # type: ignore[arg-type]  # a revision is found only on a record
    return ok({"count": len(value), "value": value})


def _ids(text: Any) -> list[int]:
    items = text.split(",") if isinstance(text, str) else text
    if not items:
        raise ApiError(400, "Value cannot be null.\r\nParameter name: ids", "ArgumentNullException")
    try:
        return [int(str(i).strip()) for i in items]
    except ValueError:
        raise ApiError(400, f"The value '{text}' is not valid for ids.", "ArgumentException") from None


def _error_policy_omit(text: str | int | None) -> bool:
    # By name or by number (WorkItemErrorPolicy: 1 Fail, 2 Omit), as Microsoft's clients send it (§8.2).
    value = str(text if text is not None else "fail").strip().lower() or "fail"
    value = {"1": "fail", "2": "omit"}.get(value, value)
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
        return ok(_render(call, record, revision=revision, expand=expand, only=fields))


def _require_patch_content_type(call: Call) -> None:
    content_type = (call.incoming.header("content-type") or "").split(";")[0].strip().lower()
    if call.host.behaviour.require_json_patch_content_type and content_type != "application/json-patch+json":
        # VssRequestContentTypeNotSupportedException, which the service maps to 400 (docs/azure-devops-behaviours.md
        # §5.1); its wording is not confirmed.
        raise ApiError(
            400,
            f'The request indicated a Content-Type of "{content_type or "(none)"}" for method type '
            f'"{call.incoming.method}" which is not supported. Valid content types for this method are: '
            "application/json-patch+json.",
            "VssRequestContentTypeNotSupportedException",
        )


@dataclass(frozen=True)
class _Patch:
    """What create and update share: a JSON Patch document, who sends it, and the two flags."""

    operations: Any
    by: str
    validate_only: bool
    bypass_rules: bool


def _patch(call: Call) -> _Patch:
    _require_patch_content_type(call)
    return _Patch(
        operations=call.json_body(),
        by=call.me.id,
        validate_only=call.incoming.flag("validateOnly"),
        bypass_rules=call.incoming.flag("bypassRules"),
    )


def workitem_create(call: Call) -> Reply:
    project = call.required_project()
    patch = _patch(call)
    record = call.state.create_item(
        call.data,
        project,
        call.params["type"],
        patch.operations,
        by=patch.by,
        validate_only=patch.validate_only,
        bypass_rules=patch.bypass_rules,
    )
    if patch.validate_only:
        fields = wi.revision_fields(
            record, record.current, links=call.links, identities=_identities(call), expanded=False
        )
        # No id: nothing was saved and no id was taken (docs/azure-devops-behaviours.md §4.2); rev 0 is not confirmed.
        return ok({"rev": record.current.rev, "fields": fields})
    # 200, not 201 (docs/azure-devops-behaviours.md §5.2).
    return ok(_render(call, record))


def workitem_update(call: Call) -> Reply:
    call.project()
    patch = _patch(call)
    record = call.state.update_item(
        call.data,
        int(call.params["id"]),
        patch.operations,
        by=patch.by,
        validate_only=patch.validate_only,
        bypass_rules=patch.bypass_rules,
        relation_only_bumps_rev=call.host.behaviour.relation_only_patch_bumps_rev,
    )
    return ok(_render(call, record))


def _deleted_json(call: Call, record: wi.WorkItemRecord, *, with_resource: bool) -> dict[str, Any]:
    # WorkItemDelete (docs/azure-devops-behaviours.md §5.1; key order of
    # examples/wit/7.1/recycleBin/PATCH__wit_recyclebin_restore.json).
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
    if destroy:
        # Gone for good: 204 and no body (docs/azure-devops-behaviours.md §5.1).
        return Reply(status=204)
    # To the recycle bin: 200 + WorkItemDelete for 7.1 (docs/azure-devops-behaviours.md §5.1).
    return ok(_deleted_json(call, record, with_resource=True))


def workitem_revisions(call: Call) -> Reply:
    call.project()
    skip = int_param(call, "$skip", default=0) or 0
    top = int_param(call, "$top")
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
    return ok({"count": len(value), "value": value})


def recyclebin_get(call: Call) -> Reply:
    call.project()
    with call.state.lock:
        record = call.state.deleted_item(call.data, int(call.params["id"]))
        return ok(_deleted_json(call, record, with_resource=True))


def recyclebin_restore(call: Call) -> Reply:
    call.project()
    body = call.json_body()
    if not isinstance(body, dict) or str(body.get("isDeleted", body.get("IsDeleted"))).lower() != "false":
        raise ApiError(400, "The request must set isDeleted to false to restore an item.", "ArgumentException")
    with call.state.lock:
        record = call.state.deleted_item(call.data, int(call.params["id"]))
        answer = _deleted_json(call, record, with_resource=True)
        call.state.restore_item(call.data, record.id)
    return ok(answer)


def recyclebin_destroy(call: Call) -> Reply:
    call.project()
    call.state.destroy_deleted(call.data, int(call.params["id"]))
    # examples/wit/7.1/recycleBin/DELETE__wit_recyclebin__id_.json: 204.
    return Reply(status=204)


# The most results a flat WIQL query may return (docs/azure-devops-behaviours.md §5.4).
WIQL_MAX_RESULTS = 20_000


def workitem_type_states(call: Call) -> Reply:
    """The states of one work item type in the project's process, in workflow order (§5.5)."""
    project = call.required_project()
    work_item_type = wi.find_type(call.params["type"], project.process)
    if work_item_type is None:
        raise wi.type_not_found(call.params["type"], project)
    value = [
        {"name": name, "color": wi.STATE_LOOKS[name][0], "category": wi.STATE_LOOKS[name][1]}
        for name in work_item_type.states
    ]
    return ok({"count": len(value), "value": value})


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
        if team not in {project.default_team_name.lower(), default_team_id(project)}:
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
    top = int_param(call, "$top")
    if top == 0:
        # $top must be positive (docs/azure-devops-behaviours.md §5.4); the wording is not confirmed.
        raise ApiError(400, "The value 0 is not valid for $top: it must be greater than 0.", "ArgumentException")
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
    if len(rows) > WIQL_MAX_RESULTS and (top is None or top > WIQL_MAX_RESULTS):
        # A flat query over 20,000 results is refused unless $top keeps it under (docs/azure-devops-behaviours.md
        # §5.4). The typeKey is not confirmed.
        raise ApiError(
            400,
            f"VS402337: The number of work items returned exceeds the size limit of {WIQL_MAX_RESULTS}. "
            "Change the query to return fewer items.",
            "QueryResultSizeLimitExceededException",
        )
    if top is not None:
        rows = rows[:top]

    def field_ref(definition: wi.FieldDef) -> dict[str, str]:
        return {"referenceName": definition.ref, "name": definition.name, "url": call.links.field_url(definition.ref)}

    # WorkItemQueryResult, keys and order of the recording (docs/azure-devops-behaviours.md §5.2); sortColumns only with
    # ORDER BY.
    result: dict[str, Any] = {
        "queryType": "flat",
        "queryResultType": "workItem",
        "asOf": wi.iso(query.as_of or now),
        "columns": [field_ref(c) for c in query.columns],
    }
    if query.order:
        result["sortColumns"] = [{"field": field_ref(k.field), "descending": k.descending} for k in query.order]
    result["workItems"] = [{"id": r.record.id, "url": call.links.item_url(r.record.id)} for r in rows]
    return ok(result)


ROUTES: tuple[Route, ...] = (
    route("main", "POST", "wit/wiql", TEAM, WIQL, wiql),
    route("main", "GET", "wit/workitems", OPT, WORK_ITEMS, workitems_list),
    route("main", "POST", "wit/workitemsbatch", OPT, WORK_ITEMS_BATCH, workitems_batch),
    route("main", "POST", "wit/workitems/${type}", (1,), WORK_ITEM_CREATE, workitem_create),
    route("main", "GET", "wit/workitems/{#id}", OPT, WORK_ITEMS, workitem_get),
    route("main", "PATCH", "wit/workitems/{#id}", OPT, WORK_ITEMS, workitem_update),
    route("main", "DELETE", "wit/workitems/{#id}", OPT, WORK_ITEMS, workitem_delete),
    route("main", "GET", "wit/workitems/{#id}/revisions", OPT, REVISIONS, workitem_revisions),
    route("main", "GET", "wit/recyclebin/{#id}", OPT, RECYCLE_BIN, recyclebin_get),
    route("main", "PATCH", "wit/recyclebin/{#id}", OPT, RECYCLE_BIN, recyclebin_restore),
    route("main", "DELETE", "wit/recyclebin/{#id}", OPT, RECYCLE_BIN, recyclebin_destroy),
    route("main", "GET", "wit/workitemtypes/{type}/states", (1,), WORK_ITEM_TYPE_STATES, workitem_type_states),
)
