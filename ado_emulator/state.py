"""Everything the emulated organizations hold, behind one lock: identities, PATs, projects, work items.

The HTTP handlers and the Python API both go through these methods, so a change made by a test with
`emu.add_work_item(...)` and one made over HTTP follow the same rules.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from ado_emulator import demo_identities as people
from ado_emulator import workitems as wi
from ado_emulator.errors import ApiError
from ado_emulator.locations import SERVICE_PREFIXES
from ado_emulator.model import Identity, Org, OrgKind, PatRecord, Project, subject_descriptor_for

Clock = Callable[[], datetime]

# Real PATs are 52 characters of lowercase base32, like the docs/azure-devops-behaviours.md §4.3 example
# "dip55dwf4vpitomw63jzvomefmi2jluguprzwwqwuc6xq4fhocwq".
_PAT_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_PAT_LENGTH = 52
_RESERVED_SEGMENTS = frozenset({"_emulator", "_apis", *SERVICE_PREFIXES.values()})


def utc_now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    # Tokens are looked up by digest so the store's keys are not the secrets themselves.
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def project_not_found(name: str) -> ApiError:
    # Verbatim wording of the real 404 (docs/azure-devops-behaviours.md §3.1); a GUID gets the sibling exception (not
    # confirmed).
    try:
        uuid.UUID(name)
        type_key = "ProjectDoesNotExistException"
    except ValueError:
        type_key = "ProjectDoesNotExistWithNameException"
    return ApiError(
        404,
        f"TF200016: The following project does not exist: {name}. Verify that the name of the project is correct "
        "and that the project exists on the specified Azure DevOps Server.",
        type_key,
    )


def item_not_found(item_id: int | str) -> ApiError:
    # Message as the Azure CLI tests see it after a delete; 404 per the WIT exception map. typeKey not confirmed.
    return ApiError(
        404,
        f"TF401232: Work item {item_id} does not exist, or you do not have permissions to read it.",
        "WorkItemUnauthorizedAccessException",
    )


@dataclass
class OrgData:
    org: Org
    members: set[str] = field(default_factory=set)
    # Project Collection Administrators: organization administrators, administrators of every project too.
    admins: set[str] = field(default_factory=set)
    # Project id -> identities in that project's Project Administrators group.
    project_admins: dict[str, set[str]] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    work_items: dict[int, wi.WorkItemRecord] = field(default_factory=dict)
    next_id: int = 1
    watermark: int = 0
    sorted_members: list[Identity] | None = None


@dataclass(frozen=True)
class DemoIdentity:
    identity: Identity
    token: str = field(repr=False)


class State:
    def __init__(self, *, clock: Clock = utc_now) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.orgs: dict[str, OrgData] = {}
        self.identities: dict[str, Identity] = {}
        self._pats: dict[str, PatRecord] = {}
        self.demo: list[DemoIdentity] = []
        self.demo_org: str | None = None
        self.demo_project: str | None = None

    def now(self) -> datetime:
        # Millisecond precision, like the service's dates ("2025-01-10T12:13:07.26Z"), so a date read back
        # from a response (e.g. for `asOf`) compares equal to the stored one.
        value = _aware(self.clock(), "clock()")
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    # --- organizations -------------------------------------------------------------------------------------

    def add_org(
        self,
        name: str,
        *,
        kind: OrgKind = "services",
        public_projects: bool = False,
        collection_path: str | None = None,
        max_api_version: str | None = None,
        org_id: str | None = None,
    ) -> Org:
        if kind not in {"services", "server"}:
            raise ValueError(f"kind must be 'services' or 'server', not {kind!r}")
        if not name or "/" in name or name.lower() in _RESERVED_SEGMENTS:
            raise ValueError(f"invalid organization name {name!r}")
        path = (collection_path or name).strip("/") if kind == "server" else name
        org = Org(
            id=org_id or str(uuid.uuid4()),
            name=name,
            kind=kind,
            public_projects=public_projects,
            collection_path=path if kind == "server" else None,
            max_api_version=max_api_version or ("7.2" if kind == "services" else "7.1"),
        )
        with self.lock:
            if name.lower() in self.orgs:
                raise ValueError(f"organization {name!r} exists")
            first = org.path.split("/")[0].lower()
            for other in self.orgs.values():
                if other.org.path.split("/")[0].lower() == first:
                    raise ValueError(f"organization path {org.path!r} collides with {other.org.path!r}")
            self.orgs[name.lower()] = OrgData(org=org)
        return org

    def org_data(self, org: str | Org) -> OrgData:
        name = org.name if isinstance(org, Org) else org
        with self.lock:
            try:
                return self.orgs[name.lower()]
            except KeyError:
                raise KeyError(f"no organization {name!r}") from None

    def resolve_path(self, segments: list[str]) -> tuple[OrgData, int] | None:
        """The organization a URL path addresses and how many segments name it."""
        with self.lock:
            for data in self.orgs.values():
                org_segments = data.org.path.split("/")
                size = len(org_segments)
                if [s.lower() for s in segments[:size]] == [s.lower() for s in org_segments]:
                    return data, size
        return None

    # --- identities ----------------------------------------------------------------------------------------

    def add_identity(
        self, *, org: str | Org = "fabrikam", display_name: str, email: str, id: str | None = None
    ) -> Identity:
        identity = Identity(id=str(uuid.UUID(id)) if id else str(uuid.uuid4()), display_name=display_name, email=email)
        with self.lock:
            data = self.org_data(org)
            if identity.id in self.identities or self.identity_by_email(email):
                raise ValueError(f"an identity with id {identity.id} or email {email!r} exists")
            self.identities[identity.id] = identity
            data.members.add(identity.id)
        return identity

    def add_member(self, identity: Identity | str, org: str | Org) -> None:
        identity_id = identity.id if isinstance(identity, Identity) else identity
        with self.lock:
            if identity_id not in self.identities:
                raise KeyError(f"no identity {identity_id}")
            self.org_data(org).members.add(identity_id)

    def set_org_admin(self, identity: Identity | str, org: str | Org, admin: bool = True) -> None:
        """Put a member into (or out of) the organization's administrators."""
        identity_id = identity.id if isinstance(identity, Identity) else identity
        with self.lock:
            data = self.org_data(org)
            if identity_id not in data.members:
                raise KeyError(f"{identity_id} is not a member of {data.org.name}")
            (data.admins.add if admin else data.admins.discard)(identity_id)

    def set_project_admin(self, identity: Identity | str, org: str | Org, project: str, admin: bool = True) -> None:
        """Put a member into (or out of) one project's administrators."""
        identity_id = identity.id if isinstance(identity, Identity) else identity
        with self.lock:
            data = self.org_data(org)
            found = self.find_project(data, project)
            if found is None or identity_id not in data.members:
                raise KeyError(f"no project {project!r} or no member {identity_id} in {data.org.name}")
            group = data.project_admins.setdefault(found.id, set())
            (group.add if admin else group.discard)(identity_id)

    def is_org_admin(self, identity_id: str, data: OrgData) -> bool:
        with self.lock:
            return identity_id in data.admins

    def is_project_admin(self, identity_id: str, data: OrgData, project: Project) -> bool:
        with self.lock:
            return identity_id in data.admins or identity_id in data.project_admins.get(project.id, set())

    def identity(self, identity_id: str) -> Identity | None:
        with self.lock:
            return self.identities.get(identity_id)

    def identity_by_email(self, email: str) -> Identity | None:
        with self.lock:
            return next((i for i in self.identities.values() if i.email.lower() == email.lower()), None)

    def members(self, org: str | Org) -> list[Identity]:
        with self.lock:
            data = self.org_data(org)
            # Sorted once per change of membership (members are only ever added), not on every request:
            # with ten thousand members the sort cost more than the request it served.
            if data.sorted_members is None or len(data.sorted_members) != len(data.members):
                ordered = sorted(data.members, key=lambda i: self.identities[i].display_name)
                data.sorted_members = [self.identities[i] for i in ordered]
            return list(data.sorted_members)

    def member_by_descriptor(self, org: str | Org, descriptor: str) -> Identity | None:
        """The member whose Graph subject descriptor this is: decoded back to the id, not searched for."""
        encoded = descriptor.partition(".")[2]
        try:
            identity_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        with self.lock:
            data = self.org_data(org)
            if identity_id in data.members and subject_descriptor_for(identity_id) == descriptor:
                return self.identities[identity_id]
        return None

    def is_member(self, identity_id: str, org: str | Org) -> bool:
        with self.lock:
            return identity_id in self.org_data(org).members

    # --- personal access tokens ----------------------------------------------------------------------------

    def issue_pat(
        self,
        identity: Identity | str,
        *,
        scopes: str | Iterable[str] = "vso.work_write",
        valid_to: datetime | None = None,
        valid_from: datetime | None = None,
        orgs: Iterable[str] | None = ("fabrikam",),
        display_name: str = "almlink",
        token: str | None = None,
    ) -> str:
        identity_id = identity.id if isinstance(identity, Identity) else identity
        now = self.now()
        scope_text = scopes if isinstance(scopes, str) else " ".join(scopes)
        text = token or "".join(secrets.choice(_PAT_ALPHABET) for _ in range(_PAT_LENGTH))
        record = PatRecord(
            token=text,
            authorization_id=str(uuid.uuid4()),
            identity_id=identity_id,
            display_name=display_name,
            scopes=" ".join(scope_text.split()),
            valid_from=_aware(valid_from, "valid_from") if valid_from else now,
            valid_to=_aware(valid_to, "valid_to") if valid_to else now + timedelta(days=365),
            orgs=tuple(orgs) if orgs is not None else None,
        )
        with self.lock:
            if identity_id not in self.identities:
                raise KeyError(f"no identity {identity_id}")
            for name in record.orgs or ():
                self.org_data(name)
            if _digest(text) in self._pats:
                raise ValueError("token already issued")
            self._pats[_digest(text)] = record
        return text

    def pat(self, token: str) -> PatRecord | None:
        with self.lock:
            return self._pats.get(_digest(token))

    def pat_info(self, token: str) -> PatRecord:
        record = self.pat(token)
        if record is None:
            raise KeyError("unknown token")
        return record

    def _update_pat(self, token: str, **changes: Any) -> PatRecord:
        with self.lock:
            record = replace(self.pat_info(token), **changes)
            self._pats[_digest(token)] = record
            return record

    def revoke_pat(self, token: str) -> PatRecord:
        return self._update_pat(token, revoked=True)

    def expire_pat(self, token: str) -> PatRecord:
        return self._update_pat(token, valid_to=self.now() - timedelta(seconds=1))

    def reassign_pat(self, token: str, identity: Identity | str) -> PatRecord:
        """Make a token act as another identity: a test's way to see a change recorded under the wrong name.

        Azure DevOps never does this; it stands for a token whose owner the app learned wrongly.
        """
        identity_id = identity.id if isinstance(identity, Identity) else identity
        with self.lock:
            if identity_id not in self.identities:
                raise KeyError(f"no identity {identity_id}")
        return self._update_pat(token, identity_id=identity_id)

    def pats_of(self, identity_id: str) -> list[PatRecord]:
        with self.lock:
            found = [p for p in self._pats.values() if p.identity_id == identity_id]
        return sorted(found, key=lambda p: p.valid_from)  # stable: tokens of one instant stay in issue order

    # --- projects ------------------------------------------------------------------------------------------

    def add_project(
        self,
        org: str | Org,
        name: str,
        *,
        description: str = "",
        project_id: str | None = None,
        process: str = "Scrum",
    ) -> Project:
        if process not in wi.PROCESSES:
            raise ValueError(f"process must be one of {sorted(wi.PROCESSES)}, not {process!r}")
        project = Project(id=project_id or str(uuid.uuid4()), name=name, description=description, process=process)
        with self.lock:
            data = self.org_data(org)
            if self.find_project(data, name):
                raise ValueError(f"project {name!r} exists")
            data.projects[project.id] = project
        return project

    def find_project(self, data: OrgData, id_or_name: str) -> Project | None:
        with self.lock:
            key = id_or_name.strip().lower()
            for project in data.projects.values():
                if key in {project.id.lower(), project.name.lower()}:
                    return project
        return None

    def project_or_404(self, data: OrgData, id_or_name: str) -> Project:
        project = self.find_project(data, id_or_name)
        if project is None:
            raise project_not_found(id_or_name)
        return project

    # --- work items ----------------------------------------------------------------------------------------

    def live_item(self, data: OrgData, item_id: int) -> wi.WorkItemRecord:
        with self.lock:
            record = data.work_items.get(item_id)
            if record is None or record.deleted is not None:
                raise item_not_found(item_id)
            return record

    def create_item(
        self,
        data: OrgData,
        project: Project,
        type_name: str,
        operations: Any,
        *,
        by: str,
        validate_only: bool = False,
        bypass_rules: bool = False,
        when: datetime | None = None,
    ) -> wi.WorkItemRecord:
        """POST .../workitems/${type}: a new item from a JSON Patch document (docs/azure-devops-behaviours.md §5.1)."""
        work_item_type = wi.find_type(type_name, project.process)
        if work_item_type is None:
            raise wi.type_not_found(type_name, project)
        with self.lock:
            now = when or self.now()
            base = wi.Draft(fields=wi.new_item_fields(work_item_type, project, by=by, now=now), relations=[])
            # Unsaved items have the temporary id -1 in the service's messages.
            draft = self._patched(
                data,
                project,
                work_item_type,
                base,
                operations,
                item_id=-1,
                rev=0,
                previous_state=None,
                bypass_rules=bypass_rules,
            )
            if validate_only:
                # validateOnly consumes no id and stores nothing (docs/azure-devops-behaviours.md §4.2); the answer's id
                # is -1, rev 0 (not confirmed).
                revision = wi.next_revision([], draft, by=by, now=now, watermark=0, state_before=None)
                return wi.WorkItemRecord(id=-1, project_id=project.id, revisions=[replace(revision, rev=0)])
            data.watermark += 1
            revision = wi.next_revision([], draft, by=by, now=now, watermark=data.watermark, state_before=None)
            record = wi.WorkItemRecord(
                id=data.next_id, project_id=project.id, revisions=[revision], relations=draft.relations
            )
            data.work_items[record.id] = record
            data.next_id += 1
            return record

    def _patched(
        self,
        data: OrgData,
        project: Project,
        work_item_type: wi.WorkItemType,
        base: wi.Draft,
        operations: Any,
        *,
        item_id: int,
        rev: int,
        previous_state: str | None,
        bypass_rules: bool,
    ) -> wi.Draft:
        """Create and update alike: the JSON Patch applied to `base`, then the type's rules."""
        context = wi.PatchContext(
            item_id=item_id, rev=rev, project=project, members=self.members(data.org), bypass_rules=bypass_rules
        )
        draft = wi.apply_patch(base, operations, context)
        wi.apply_rules(draft, work_item_type, context, previous_state=previous_state)
        return draft

    def update_item(
        self,
        data: OrgData,
        item_id: int,
        operations: Any,
        *,
        by: str,
        validate_only: bool = False,
        bypass_rules: bool = False,
        relation_only_bumps_rev: bool = False,
        when: datetime | None = None,
    ) -> wi.WorkItemRecord:
        """PATCH .../workitems/{id}: all operations or none (docs/azure-devops-behaviours.md §5.3)."""
        with self.lock:
            record = self.live_item(data, item_id)
            project = data.projects[record.project_id]
            work_item_type = wi.find_type(record.type_name, project.process)
            if work_item_type is None:  # items are only ever created with a known type
                raise RuntimeError(f"work item {record.id} has an unknown type {record.type_name!r}")
            current = record.current
            state_before = current.fields.get("System.State")
            base = wi.Draft(fields=wi.carry_forward(current), relations=record.relations)
            draft = self._patched(
                data,
                project,
                work_item_type,
                base,
                operations,
                item_id=record.id,
                rev=current.rev,
                previous_state=state_before,
                bypass_rules=bypass_rules,
            )
            if validate_only:
                # The spec example: "ValidationOnly won't patch this title or increase Rev"
                # (docs/azure-devops-behaviours.md §4.2).
                return record
            new_revision = draft.fields_changed or (draft.relations_changed and relation_only_bumps_rev)
            if draft.relations_changed:
                record.relations = draft.relations
            if new_revision:
                data.watermark += 1
                record.revisions.append(
                    wi.next_revision(
                        record.revisions,
                        draft,
                        by=by,
                        now=when or self.now(),
                        watermark=data.watermark,
                        state_before=state_before,
                    )
                )
            return record

    def create_many(self, data: OrgData, project: Project, type_name: str, titles: list[str], *, by: str) -> list[int]:
        """Many new items at once, alike but for their titles: the first goes through create_item and the others
        copy its revision. For tests of large projects, where 25,000 JSON Patch runs would take many seconds."""
        if not titles:
            return []
        with self.lock:
            first = self.create_item(
                data, project, type_name, [{"op": "add", "path": "/fields/System.Title", "value": titles[0]}], by=by
            )
            template = first.current
            ids = [first.id]
            for title in titles[1:]:
                data.watermark += 1
                fields = dict(template.fields)
                fields["System.Title"] = title
                record = wi.WorkItemRecord(
                    id=data.next_id,
                    project_id=project.id,
                    revisions=[replace(template, fields=fields, watermark=data.watermark)],
                )
                data.work_items[record.id] = record
                ids.append(record.id)
                data.next_id += 1
            return ids

    def delete_item(self, data: OrgData, item_id: int, *, by: str, destroy: bool) -> wi.WorkItemRecord:
        """DELETE .../workitems/{id}: to the recycle bin, or gone for good with destroy=true
        (docs/azure-devops-behaviours.md §5.1)."""
        with self.lock:
            record = data.work_items.get(item_id)
            if record is None or (record.deleted is not None and not destroy):
                raise item_not_found(item_id)
            if destroy:
                del data.work_items[item_id]
            if record.deleted is None:
                record.deleted = wi.Deletion(by=by, date=self.now())
            return record

    def deleted_item(self, data: OrgData, item_id: int) -> wi.WorkItemRecord:
        with self.lock:
            record = data.work_items.get(item_id)
            if record is None or record.deleted is None:
                raise item_not_found(item_id)
            return record

    def restore_item(self, data: OrgData, item_id: int) -> wi.WorkItemRecord:
        with self.lock:
            record = self.deleted_item(data, item_id)
            record.deleted = None
            return record

    def destroy_deleted(self, data: OrgData, item_id: int) -> None:
        with self.lock:
            self.deleted_item(data, item_id)
            del data.work_items[item_id]

    # --- demo data -----------------------------------------------------------------------------------------

    def load_demo(self, demo: Mapping[str, Any]) -> None:
        """The demo organization, project and people (demo_identities.py) and the work items of demo.json."""
        now = self.now()
        org = self.add_org(people.ORGANIZATION, org_id=people.ORGANIZATION_ID)
        project = self.add_project(
            org, people.PROJECT, description=people.PROJECT_DESCRIPTION, project_id=people.PROJECT_ID
        )
        self.demo_org, self.demo_project = org.name, project.name
        by_email: dict[str, Identity] = {}
        for person in people.PEOPLE:
            identity = self.add_identity(org=org, display_name=person.display_name, email=person.email, id=person.id)
            by_email[identity.email] = identity
            self.issue_pat(
                identity,
                token=person.token,
                scopes=person.scopes,
                display_name=person.token_name,
                valid_from=now,
                valid_to=now + timedelta(days=person.valid_days),
                orgs=(org.name,),
            )
            self.demo.append(DemoIdentity(identity=identity, token=person.token))
            if person.organization_admin:
                self.set_org_admin(identity, org)
        creator = by_email[people.CREATOR.email]
        data = self.org_data(org)
        for spec in demo["work_items"]:
            self._load_demo_item(data, project, spec, creator=creator, by_email=by_email, now=now)

    def _load_demo_item(
        self,
        data: OrgData,
        project: Project,
        spec: Mapping[str, Any],
        *,
        creator: Identity,
        by_email: Mapping[str, Identity],
        now: datetime,
    ) -> None:
        created = now - timedelta(days=float(spec["days_ago"]))
        operations = [{"op": "add", "path": "/fields/System.Title", "value": spec["title"]}]
        assignee = by_email.get(spec.get("assigned_to") or "")
        if assignee:
            operations.append({"op": "add", "path": "/fields/System.AssignedTo", "value": assignee.email})
        for ref, value in spec.get("fields", {}).items():
            operations.append({"op": "add", "path": f"/fields/{ref}", "value": value})
        record = self.create_item(data, project, spec["type"], operations, by=creator.id, when=created)
        state = spec.get("state")
        if state and state != record.current.fields["System.State"]:
            # A second revision, made by the assignee halfway between creation and now: realistic history.
            mover = assignee or creator
            moved = created + (now - created) / 2
            self.update_item(
                data,
                record.id,
                [{"op": "add", "path": "/fields/System.State", "value": state}],
                by=mover.id,
                when=moved,
            )


def read_demo() -> dict[str, Any]:
    """ado_emulator/demo.json: the demo's work items."""
    text = resources.files("ado_emulator").joinpath("demo.json").read_text(encoding="utf-8")
    return json.loads(text)
