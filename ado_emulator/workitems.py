"""Work items: the Scrum types, the fields, the rules, JSON Patch, and the JSON the service returns.

Shapes follow the real recordings and official examples (docs/azure-devops-behaviours.md §5.1-5.3,
examples/wit/7.1/workItems/*).
Storage classes are plain; the state module's lock guards every mutation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ado_emulator.errors import ApiError
from ado_emulator.locations import SERVICE_PREFIXES
from ado_emulator.model import Identity, Org, Project

# System.RevisedDate of the current revision (docs/azure-devops-behaviours.md §5.2, `$expand=All`).
END_OF_TIME = "9999-01-01T00:00:00Z"

FieldKind = Literal["string", "html", "tree", "int", "double", "datetime", "identity"]


@dataclass(frozen=True)
class IdentityValue:
    """A field value that refers to an identity; rendered as an IdentityRef object (docs/azure-devops-behaviours.md
    §5.2)."""

    id: str


@dataclass(frozen=True)
class FieldDef:
    ref: str
    name: str
    kind: FieldKind
    read_only: bool = False


# Canonical order = the order the real service lists fields in (examples/wit/7.1/workItems/*.json).
FIELDS: tuple[FieldDef, ...] = (
    FieldDef("System.Id", "ID", "int", read_only=True),
    FieldDef("System.AreaPath", "Area Path", "tree"),
    FieldDef("System.TeamProject", "Team Project", "string", read_only=True),
    FieldDef("System.Rev", "Rev", "int", read_only=True),
    FieldDef("System.AuthorizedDate", "Authorized Date", "datetime", read_only=True),
    FieldDef("System.RevisedDate", "Revised Date", "datetime", read_only=True),
    FieldDef("System.IterationPath", "Iteration Path", "tree"),
    FieldDef("System.WorkItemType", "Work Item Type", "string", read_only=True),
    FieldDef("System.State", "State", "string"),
    FieldDef("System.Reason", "Reason", "string"),
    FieldDef("System.AssignedTo", "Assigned To", "identity"),
    FieldDef("System.CreatedDate", "Created Date", "datetime", read_only=True),
    FieldDef("System.CreatedBy", "Created By", "identity", read_only=True),
    FieldDef("System.ChangedDate", "Changed Date", "datetime", read_only=True),
    FieldDef("System.ChangedBy", "Changed By", "identity", read_only=True),
    FieldDef("System.AuthorizedAs", "Authorized As", "identity", read_only=True),
    FieldDef("System.Watermark", "Watermark", "int", read_only=True),
    FieldDef("System.CommentCount", "Comment Count", "int", read_only=True),
    FieldDef("System.Title", "Title", "string"),
    FieldDef("Microsoft.VSTS.Common.StateChangeDate", "State Change Date", "datetime", read_only=True),
    FieldDef("Microsoft.VSTS.Common.Priority", "Priority", "int"),
    FieldDef("Microsoft.VSTS.Common.Severity", "Severity", "string"),
    FieldDef("Microsoft.VSTS.Common.ValueArea", "Value Area", "string"),
    FieldDef("Microsoft.VSTS.Common.BusinessValue", "Business Value", "int"),
    FieldDef("Microsoft.VSTS.Scheduling.Effort", "Effort", "double"),
    FieldDef("Microsoft.VSTS.Scheduling.RemainingWork", "Remaining Work", "double"),
    FieldDef("System.Description", "Description", "html"),
    FieldDef("Microsoft.VSTS.TCM.ReproSteps", "Repro Steps", "html"),
    FieldDef("Microsoft.VSTS.Common.AcceptanceCriteria", "Acceptance Criteria", "html"),
    FieldDef("System.Tags", "Tags", "string"),
    FieldDef("System.History", "History", "html"),
)
_FIELD_BY_REF = {f.ref.lower(): f for f in FIELDS}
_FIELD_BY_NAME = {f.name.lower(): f for f in FIELDS}
_ORDER = {f.ref: i for i, f in enumerate(FIELDS)}
# Computed per revision, never stored.
COMPUTED = frozenset(
    {
        "System.Id",
        "System.Rev",
        "System.AuthorizedDate",
        "System.RevisedDate",
        "System.AuthorizedAs",
        "System.Watermark",
    }
)
# Shown only with $expand=All/Fields or when asked for by name (docs/azure-devops-behaviours.md §5.2).
EXPANDED_ONLY = COMPUTED
# Read-only fields that bypassRules=true may still set (the spec's bypassRules example, docs/azure-devops-behaviours.md
# §5.2).
BYPASS_WRITABLE = frozenset({"System.CreatedBy", "System.CreatedDate", "System.ChangedBy", "System.ChangedDate"})


def find_field(name: str) -> FieldDef | None:
    """A field by reference name or display name, case-insensitively (WIQL accepts both: [State])."""
    key = name.strip().strip("[]").strip().lower()
    return _FIELD_BY_REF.get(key) or _FIELD_BY_NAME.get(key)


def unknown_field(name: str) -> ApiError:
    # TF51535 "Cannot find field" is the service's wording for an unknown field; typeKey not confirmed.
    return ApiError(400, f"TF51535: Cannot find field {name}.", "WorkItemTrackingFieldDefinitionNotFoundException")


@dataclass(frozen=True)
class WorkItemType:
    name: str
    states: tuple[str, ...]
    # Reason recorded when an item enters each state. Approximations of the Scrum process texts.
    reasons: Mapping[str, str]
    has_priority: bool = True

    @property
    def initial_state(self) -> str:
        return self.states[0]


# The Scrum process (the default for new Azure DevOps projects): its types, states and reasons.
TYPES: tuple[WorkItemType, ...] = (
    WorkItemType(
        "Product Backlog Item",
        ("New", "Approved", "Committed", "Done", "Removed"),
        {
            "New": "New backlog item",
            "Approved": "Approved by the Product Owner",
            "Committed": "Commitment made by the team",
            "Done": "Work finished",
            "Removed": "Removed from the backlog",
        },
    ),
    WorkItemType(
        "Bug",
        ("New", "Approved", "Committed", "Done", "Removed"),
        {
            "New": "New defect reported",
            "Approved": "Approved by the Product Owner",
            "Committed": "Commitment made by the team",
            "Done": "Work finished",
            "Removed": "Removed from the backlog",
        },
    ),
    WorkItemType(
        "Task",
        ("To Do", "In Progress", "Done", "Removed"),
        {"To Do": "New task", "In Progress": "Work started", "Done": "Work finished", "Removed": "Removed"},
    ),
    WorkItemType(
        "Feature",
        ("New", "In Progress", "Done", "Removed"),
        {"New": "New feature", "In Progress": "Implementation started", "Done": "Work finished", "Removed": "Removed"},
    ),
    WorkItemType(
        "Epic",
        ("New", "In Progress", "Done", "Removed"),
        {"New": "New epic", "In Progress": "Implementation started", "Done": "Work finished", "Removed": "Removed"},
    ),
)

# The Agile process: its types and states as the Agile process documentation lists them
# (docs/azure-devops-behaviours.md §5.5); reasons are approximations.
_AGILE_REASONS = {
    "New": "New",
    "Active": "Implementation started",
    "Resolved": "Code complete and unit tests pass",
    "Closed": "Acceptance tests pass",
    "Removed": "Removed from the backlog",
}
_AGILE_FULL = ("New", "Active", "Resolved", "Closed", "Removed")
AGILE_TYPES: tuple[WorkItemType, ...] = (
    WorkItemType("User Story", _AGILE_FULL, _AGILE_REASONS),
    WorkItemType("Bug", ("New", "Active", "Resolved", "Closed"), {**_AGILE_REASONS, "New": "New defect reported"}),
    WorkItemType("Task", ("New", "Active", "Closed", "Removed"), {**_AGILE_REASONS, "Active": "Work started"}),
    WorkItemType("Feature", _AGILE_FULL, _AGILE_REASONS),
    WorkItemType("Epic", _AGILE_FULL, _AGILE_REASONS),
    WorkItemType("Issue", ("Active", "Closed"), {"Active": "New", "Closed": "Issue resolved"}),
)
PROCESSES: dict[str, tuple[WorkItemType, ...]] = {"Scrum": TYPES, "Agile": AGILE_TYPES}
_TYPES_BY_PROCESS = {process: {t.name.lower(): t for t in types} for process, types in PROCESSES.items()}

# Color and category of each state, as GET workitemtypes/{type}/states lists them (the official example
# examples/wit/7.1/workItemTypeStates/GET__workitem_type_states.json for the Agile ones; the Scrum ones by the
# same categories, their colors not confirmed).
STATE_LOOKS: dict[str, tuple[str, str]] = {
    "New": ("b2b2b2", "Proposed"),
    "Approved": ("b2b2b2", "Proposed"),
    "To Do": ("b2b2b2", "Proposed"),
    "Active": ("007acc", "InProgress"),
    "Committed": ("007acc", "InProgress"),
    "In Progress": ("007acc", "InProgress"),
    "Resolved": ("ff9d00", "Resolved"),
    "Closed": ("339933", "Completed"),
    "Done": ("339933", "Completed"),
    "Removed": ("ffffff", "Removed"),
}


def type_not_found(name: str, project: Project) -> ApiError:
    # VS402323 wording as public clients quote it; 404 per the WIT exception map.
    return ApiError(
        404,
        f"VS402323: Work item type {name} does not exist in project {project.id} or you do not have "
        "permission to access it.",
        "WorkItemTypeNotFoundException",
    )


def find_type(name: str, process: str = "Scrum") -> WorkItemType | None:
    return _TYPES_BY_PROCESS[process].get(name.strip().lower())


@dataclass(frozen=True)
class Revision:
    rev: int
    fields: Mapping[str, Any]
    changed_by: str
    changed_date: datetime
    watermark: int


@dataclass(frozen=True)
class Deletion:
    by: str
    date: datetime


@dataclass
class WorkItemRecord:
    id: int
    project_id: str
    revisions: list[Revision]
    relations: list[dict[str, Any]] = field(default_factory=list)
    deleted: Deletion | None = None

    @property
    def current(self) -> Revision:
        return self.revisions[-1]

    @property
    def type_name(self) -> str:
        return str(self.current.fields["System.WorkItemType"])

    def revision_at(self, when: datetime) -> Revision | None:
        """The revision in force at `when` (for `asOf`)."""
        found = None
        for revision in self.revisions:
            if revision.changed_date <= when:
                found = revision
        return found


def iso(value: datetime) -> str:
    """ADO's UTC format: no offset, "Z", fractional seconds without trailing zeros ("...T12:13:07.26Z")."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    millis = value.microsecond // 1000
    if millis:
        text += f".{millis:03d}".rstrip("0")
    return text + "Z"


def parse_datetime(text: str) -> datetime:
    cleaned = text.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(cleaned)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Links:
    """URLs as the real service writes them for one organization."""

    base_url: str
    org: Org

    @property
    def org_url(self) -> str:
        return f"{self.base_url}/{self.org.path}"

    def identity_url(self, identity_id: str) -> str:
        # Identities live on the SPS (vssps) host on Services (examples: vssps.dev.azure.com/fabrikam/_apis/Identities).
        if self.org.kind == "services":
            return f"{self.base_url}/{SERVICE_PREFIXES['vssps']}/{self.org.name}/_apis/Identities/{identity_id}"
        return f"{self.org_url}/_apis/Identities/{identity_id}"

    def identity_ref(self, identity: Identity) -> dict[str, Any]:
        # IdentityRef keys in the order of the real create response (docs/azure-devops-behaviours.md §5.2).
        avatar = f"{self.org_url}/_apis/GraphProfile/MemberAvatars/{identity.subject_descriptor}"
        return {
            "displayName": identity.display_name,
            "url": self.identity_url(identity.id),
            "_links": {"avatar": {"href": avatar}},
            "id": identity.id,
            "uniqueName": identity.email,
            "imageUrl": avatar,
            "descriptor": identity.subject_descriptor,
        }

    def item_url(self, item_id: int, project: Project | None = None) -> str:
        middle = f"/{project.id}" if project else ""
        return f"{self.org_url}{middle}/_apis/wit/workItems/{item_id}"

    def field_url(self, ref: str) -> str:
        return f"{self.org_url}/_apis/wit/fields/{ref}"


IdentityLookup = Callable[[str], Identity | None]


def identity_label(identity: Identity) -> str:
    # "Name <email>": how older responses and deletedBy spell a person (examples/wit/7.1/recycleBin).
    return f"{identity.display_name} <{identity.email}>"


def render_value(value: Any, kind: FieldKind, links: Links, identities: IdentityLookup) -> Any:
    if isinstance(value, IdentityValue):
        identity = identities(value.id)
        return links.identity_ref(identity) if identity else value.id
    if isinstance(value, datetime):
        return iso(value)
    return value


def revision_fields(
    record: WorkItemRecord,
    revision: Revision,
    *,
    links: Links,
    identities: IdentityLookup,
    expanded: bool,
    only: Sequence[FieldDef] | None = None,
) -> dict[str, Any]:
    """One revision's `fields`; fields without a value are left out (docs/azure-devops-behaviours.md §5.2)."""
    raw: dict[str, Any] = dict(revision.fields)
    if expanded or only is not None:
        index = record.revisions.index(revision)
        following = record.revisions[index + 1] if index + 1 < len(record.revisions) else None
        raw.update(
            {
                "System.Id": record.id,
                "System.Rev": revision.rev,
                "System.AuthorizedDate": revision.changed_date,
                "System.RevisedDate": following.changed_date if following else END_OF_TIME,
                "System.AuthorizedAs": IdentityValue(revision.changed_by),
                "System.Watermark": revision.watermark,
            }
        )
    wanted = {f.ref for f in only} if only is not None else None
    out: dict[str, Any] = {}
    for ref in sorted(raw, key=lambda r: _ORDER.get(r, len(_ORDER))):
        value = raw[ref]
        if value is None or value == "":
            continue
        if wanted is not None and ref not in wanted:
            continue
        if wanted is None and not expanded and ref in EXPANDED_ONLY:
            continue
        definition = _FIELD_BY_REF.get(ref.lower())
        out[ref] = render_value(value, definition.kind if definition else "string", links, identities)
    return out


def item_links(links: Links, record: WorkItemRecord, project: Project) -> dict[str, Any]:
    # Keys of `_links` as in examples/wit/7.1/workItems/GET__wit_WorkItems_id.json.
    url = links.item_url(record.id)
    return {
        "self": {"href": url},
        "workItemUpdates": {"href": f"{url}/updates"},
        "workItemRevisions": {"href": f"{url}/revisions"},
        "workItemComments": {"href": f"{url}/comments"},
        "html": {"href": f"{links.org_url}/{project.id}/_workitems/edit/{record.id}"},
        "workItemType": {"href": f"{links.org_url}/{project.id}/_apis/wit/workItemTypes/{record.type_name}"},
        "fields": {"href": f"{links.org_url}/_apis/wit/fields"},
    }


Expand = Literal["none", "relations", "fields", "links", "all"]


# WorkItemExpand's numbers, as Microsoft's Node SDK sends them (docs/azure-devops-behaviours.md §8.2).
_EXPAND_NUMBERS = {"0": "none", "1": "relations", "2": "fields", "3": "links", "4": "all"}


def parse_expand(text: str | int | None) -> Expand:
    value = str(text if text is not None else "none").strip().lower() or "none"
    value = _EXPAND_NUMBERS.get(value, value)
    if value not in {"none", "relations", "fields", "links", "all"}:
        raise ApiError(
            400,
            f"The value '{text}' is not valid for $expand. Valid values are: None, Relations, Fields, Links, All.",
            "ArgumentException",
        )
    return value  # type: ignore[return-value]


def item_json(
    record: WorkItemRecord,
    *,
    project: Project,
    links: Links,
    identities: IdentityLookup,
    revision: Revision | None = None,
    expand: Expand = "none",
    only: Sequence[FieldDef] | None = None,
    single: bool = True,
) -> dict[str, Any]:
    """A WorkItem as served: single answers carry `_links` and the project in `url`
    (docs/azure-devops-behaviours.md §5.2), list answers (workitems?ids=, workitemsbatch) only id/rev/fields/url
    (examples GET__wit_WorkItems_ids)."""
    revision = revision or record.current
    body: dict[str, Any] = {
        "id": record.id,
        "rev": revision.rev,
        "fields": revision_fields(
            record, revision, links=links, identities=identities, expanded=expand in {"all", "fields"}, only=only
        ),
    }
    if expand in {"relations", "all"} or (single and expand == "none" and record.relations and only is None):
        body["relations"] = [dict(r) for r in record.relations]
    if single:
        body["multilineFieldsFormat"] = {}
    if single or expand in {"links", "all"}:
        body["_links"] = item_links(links, record, project)
    body["url"] = links.item_url(record.id, project if single else None)
    return body


# --- JSON Patch -------------------------------------------------------------------------------------------


def rule_error(field_name: str, codes: str) -> ApiError:
    # TF401320 wording from docs/azure-devops-behaviours.md §5.3; 400 per the WIT exception map (RuleValidationException
    # -> 400).
    return ApiError(
        400, f"TF401320: Rule Error for field {field_name}. Error code: {codes}.", "RuleValidationException"
    )


@dataclass
class Draft:
    """The field values being built for a new revision, plus what the patch did."""

    fields: dict[str, Any]
    relations: list[dict[str, Any]]
    fields_changed: bool = False
    relations_changed: bool = False
    explicit: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class PatchContext:
    item_id: int
    rev: int
    project: Project
    members: Iterable[Identity]
    bypass_rules: bool


def resolve_identity(value: Any, members: Iterable[Identity]) -> Identity | None:
    """An identity from an id, an email, a display name, "Name <email>" or an IdentityRef-like dict."""
    if isinstance(value, dict):
        value = value.get("id") or value.get("uniqueName") or value.get("displayName") or ""
    text = str(value).strip()
    match = re.fullmatch(r"(.*)<([^<>]+)>", text)
    email = match[2].strip() if match else text
    for identity in members:
        if text.lower() in {identity.id.lower(), identity.display_name.lower()}:
            return identity
        if email.lower() == identity.email.lower():
            return identity
    return None


def coerce(definition: FieldDef, value: Any, context: PatchContext) -> Any:
    if value is None or value == "":
        return None
    if definition.kind == "identity":
        identity = resolve_identity(value, context.members)
        if identity:
            return IdentityValue(identity.id)
        if context.bypass_rules:
            # bypassRules stores the text as given (docs/azure-devops-behaviours.md §5.2, spec example "Invalid Value").
            return str(value)
        # The real wording for an unknown identity is not confirmed.
        raise ApiError(
            400,
            f"The identity value '{value}' for field '{definition.name}' is an unknown identity.",
            "RuleValidationException",
        )
    if definition.kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise rule_error(definition.name, "InvalidType") from None
    if definition.kind == "double":
        try:
            return float(value)
        except (TypeError, ValueError):
            raise rule_error(definition.name, "InvalidType") from None
    if definition.kind == "datetime":
        try:
            return value if isinstance(value, datetime) else parse_datetime(str(value))
        except ValueError:
            raise rule_error(definition.name, "InvalidType") from None
    return str(value)


def same_value(current: Any, wanted: Any, members: Iterable[Identity]) -> bool:
    if isinstance(current, IdentityValue):
        identity = resolve_identity(wanted, members)
        return identity is not None and identity.id == current.id
    if isinstance(current, datetime):
        try:
            return current == parse_datetime(str(wanted))
        except ValueError:
            return False
    return current == wanted or (isinstance(current, str) and str(wanted) == current)


def failed_test_op(path: str, actual: Any, expected: Any) -> ApiError:
    # VS403351 and the message template (docs/azure-devops-behaviours.md §5.3); 412 per the WIT exception map
    # (TestPatchOperationFailedException -> PreconditionFailed). typeKey not confirmed by a real body.
    return ApiError(
        412,
        f"VS403351: Test Operation for path {path} failed, value {actual} was not equal to test value {expected}.",
        "TestPatchOperationFailedException",
    )


def bad_patch(message: str) -> ApiError:
    return ApiError(400, message, "PatchOperationFailedException")


def apply_patch(base: Draft, operations: Any, context: PatchContext) -> Draft:
    """Apply a JSON Patch document to a copy of `base`; raise on the first failure (nothing is kept)."""
    if not isinstance(operations, list) or not operations:
        # Wording not confirmed.
        raise ApiError(
            400, "You must pass a valid patch document in the body of the request.", "VssPropertyValidationException"
        )
    draft = Draft(fields=dict(base.fields), relations=[dict(r) for r in base.relations])
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise ApiError(
                400,
                "You must pass a valid patch document in the body of the request.",
                "VssPropertyValidationException",
            )
        op = str(operation["op"]).lower()
        path = str(operation["path"])
        value = operation.get("value")
        parts = path.strip("/").split("/", 1)
        head = parts[0].lower()
        if head == "rev" and len(parts) == 1:
            if op != "test":
                raise bad_patch(f"Operation {op} is not supported for path {path}.")
            if str(value) != str(context.rev):
                raise failed_test_op(path, context.rev, value)
        elif head == "id" and len(parts) == 1:
            if op != "test":
                raise bad_patch(f"Operation {op} is not supported for path {path}.")
            if str(value) != str(context.item_id):
                raise failed_test_op(path, context.item_id, value)
        elif head == "fields" and len(parts) == 2:
            _apply_field(draft, op, path, parts[1], value, context)
        elif head == "relations":
            _apply_relation(draft, op, path, parts[1] if len(parts) == 2 else "", value)
        else:
            raise bad_patch(f"The path {path} is not valid for a work item patch operation.")
    return draft


def _apply_field(draft: Draft, op: str, path: str, name: str, value: Any, context: PatchContext) -> None:
    definition = find_field(name)
    if definition is None:
        raise unknown_field(name)
    ref = definition.ref
    if op == "test":
        current = draft.fields.get(ref)
        if not same_value(current, value, context.members):
            shown = current.id if isinstance(current, IdentityValue) else current
            raise failed_test_op(path, shown, value)
        return
    if op not in {"add", "replace", "remove"}:
        raise bad_patch(f"Operation {op} is not supported for path {path}.")
    writable = not definition.read_only or (context.bypass_rules and ref in BYPASS_WRITABLE)
    if not writable or ref in COMPUTED:
        raise rule_error(definition.name, "ReadOnly")
    new_value = None if op == "remove" else coerce(definition, value, context)
    draft.explicit.add(ref)
    if draft.fields.get(ref) != new_value:
        draft.fields[ref] = new_value
        draft.fields_changed = True


def _apply_relation(draft: Draft, op: str, path: str, index: str, value: Any) -> None:
    if op == "add" and index == "-":
        if not isinstance(value, dict) or not value.get("rel") or not value.get("url"):
            raise bad_patch("A relation needs 'rel' and 'url'.")
        relation = {"rel": value["rel"], "url": value["url"], "attributes": dict(value.get("attributes") or {})}
        draft.relations.append(relation)
        draft.relations_changed = True
        return
    if op in {"remove", "replace"} and index.isdigit() and int(index) < len(draft.relations):
        if op == "remove":
            draft.relations.pop(int(index))
        else:
            draft.relations[int(index)] = dict(value or {})
        draft.relations_changed = True
        return
    raise bad_patch(f"Operation {op} is not supported for path {path}.")


def apply_rules(
    draft: Draft, work_item_type: WorkItemType, context: PatchContext, *, previous_state: str | None
) -> None:
    """Check the process rules and set the derived Reason (all skipped with bypassRules, as on the service)."""
    fields = draft.fields
    if context.bypass_rules:
        return
    title = fields.get("System.Title")
    if not title or not str(title).strip():
        raise rule_error("Title", "Required, InvalidEmpty")
    if len(str(title)) > 255:
        raise rule_error("Title", "InvalidTooLong")
    state = fields.get("System.State")
    if state not in work_item_type.states:
        # Verbatim message from docs/azure-devops-behaviours.md §5.3.
        raise rule_error("State", "Required, HasValues, LimitedToValues, SetByRule, InvalidEmpty")
    if state != previous_state and "System.Reason" not in draft.explicit:
        fields["System.Reason"] = work_item_type.reasons.get(str(state), f"Moved to {state}")
    for ref in ("System.AreaPath", "System.IterationPath"):
        path = str(fields.get(ref) or "")
        root = context.project.name
        if path.lower() != root.lower() and not path.lower().startswith(root.lower() + "\\"):
            # TF401347 "Invalid tree name" is the service's wording; new items have the temporary id -1.
            raise ApiError(
                400,
                f"TF401347: Invalid tree name given for work item {context.item_id}, field '{ref}'.",
                "WorkItemFieldInvalidTreeNameException",
            )
    priority = fields.get("Microsoft.VSTS.Common.Priority")
    if priority is not None and priority not in {1, 2, 3, 4}:
        raise rule_error("Priority", "LimitedToValues")


def next_revision(
    record_revisions: Sequence[Revision],
    draft: Draft,
    *,
    by: str,
    now: datetime,
    watermark: int,
    state_before: str | None,
) -> Revision:
    previous = record_revisions[-1] if record_revisions else None
    # Changed dates must increase from revision to revision (WorkItemDatesNotIncreasingException exists).
    if previous and now <= previous.changed_date:
        now = previous.changed_date + timedelta(milliseconds=10)
    fields = dict(draft.fields)
    if "System.ChangedBy" not in draft.explicit:
        fields["System.ChangedBy"] = IdentityValue(by)
    if "System.ChangedDate" not in draft.explicit:
        fields["System.ChangedDate"] = now
    if fields.get("System.State") != state_before:
        fields["Microsoft.VSTS.Common.StateChangeDate"] = fields["System.ChangedDate"]
    changed_by = fields["System.ChangedBy"]
    return Revision(
        rev=(previous.rev + 1) if previous else 1,
        fields=fields,
        changed_by=changed_by.id if isinstance(changed_by, IdentityValue) else by,
        changed_date=fields["System.ChangedDate"],
        watermark=watermark,
    )


def carry_forward(revision: Revision) -> dict[str, Any]:
    """The fields a new revision starts from: History belongs to the revision that added it."""
    return {k: v for k, v in revision.fields.items() if k != "System.History"}


def new_item_fields(work_item_type: WorkItemType, project: Project, *, by: str, now: datetime) -> dict[str, Any]:
    """Defaults of a new item, as in the real create response (docs/azure-devops-behaviours.md §5.2)."""
    fields: dict[str, Any] = {
        "System.AreaPath": project.name,
        "System.TeamProject": project.name,
        "System.IterationPath": project.name,
        "System.WorkItemType": work_item_type.name,
        "System.State": work_item_type.initial_state,
        "System.Reason": work_item_type.reasons[work_item_type.initial_state],
        "System.CreatedDate": now,
        "System.CreatedBy": IdentityValue(by),
        "System.CommentCount": 0,
    }
    if work_item_type.has_priority:
        fields["Microsoft.VSTS.Common.Priority"] = 2
    return fields
