"""The control API under /_emulator/: JSON in and out, no authentication, never logged.

For browser tests and scripts in other processes that cannot reach the Python object:

    GET    /_emulator/demo                              demo org URL, identities and their PATs
    POST   /_emulator/reset                             back to the initial state (answers like /demo)
    POST   /_emulator/orgs                              {name, kind, public_projects, collection_path, max_api_version}
    POST   /_emulator/identities                        {org, display_name, email, id?}
    POST   /_emulator/members                           {email | identity_id, org}
    POST   /_emulator/pats                              {email | identity_id, scopes, valid_to?, valid_days?, orgs?,
                                                         display_name?}
    POST   /_emulator/pats/revoke, /_emulator/pats/expire  {token}
    POST   /_emulator/pats/reassign  {token, identity_id}   (the token acts as another identity from then on)
    GET    /_emulator/faults, POST /_emulator/faults {kind, path?, method?, count?, ...}, DELETE /_emulator/faults
    POST   /_emulator/behaviour                         {field: value, ...} (see model.Behaviour)
    POST   /_emulator/workitems/{org}                   {project, count, type?, title? ("Item {n}"), email|identity_id}
    GET    /_emulator/workitems/{org}/{id}              the item as served
    GET    /_emulator/workitems/{org}/{id}/revisions    every revision
    GET    /_emulator/requests, DELETE /_emulator/requests
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ado_emulator.errors import Reply, json_reply
from ado_emulator.model import Identity, PatRecord
from ado_emulator.workitems import iso

if TYPE_CHECKING:
    from ado_emulator.server import Emulator


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def identity_json(emu: Emulator, identity: Identity) -> dict[str, Any]:
    return {
        "id": identity.id,
        "display_name": identity.display_name,
        "email": identity.email,
        "descriptor": identity.descriptor,
        "subject_descriptor": identity.subject_descriptor,
        "orgs": [d.org.name for d in list(emu.state.orgs.values()) if identity.id in d.members],
    }


def pat_json(record: PatRecord, *, with_token: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"token": record.token} if with_token else {}
    body.update(
        {
            "authorization_id": record.authorization_id,
            "identity_id": record.identity_id,
            "display_name": record.display_name,
            "scopes": record.scopes,
            "valid_from": iso(record.valid_from),
            "valid_to": iso(record.valid_to),
            "orgs": list(record.orgs) if record.orgs is not None else None,
            "revoked": record.revoked,
        }
    )
    return body


def _parse_when(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    # A time without an offset is taken as UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _identity_from(emu: Emulator, body: dict[str, Any]) -> Identity:
    identity = None
    if body.get("identity_id"):
        identity = emu.state.identity(str(body["identity_id"]))
    elif body.get("email"):
        identity = emu.state.identity_by_email(str(body["email"]))
    if identity is None:
        raise ControlError(404, "no such identity (send email or identity_id)")
    return identity


def _body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ControlError(400, f"body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


def _required(body: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if not body.get(n)]
    if missing:
        raise ControlError(400, f"missing: {', '.join(missing)}")


def handle(emu: Emulator, method: str, segments: list[str], raw_body: bytes) -> Reply:
    try:
        return json_reply(200, _dispatch(emu, method, segments, _body(raw_body)))
    except ControlError as error:
        return json_reply(error.status, {"error": str(error)})
    except KeyError as error:
        return json_reply(404, {"error": str(error)})
    except (ValueError, TypeError) as error:
        return json_reply(400, {"error": str(error)})


def _dispatch(emu: Emulator, method: str, segments: list[str], body: dict[str, Any]) -> Any:
    route = (method, *[s.lower() for s in segments])
    match route:
        case ("GET", "demo"):
            return emu.demo_info()
        case ("POST", "reset"):
            emu.reset()
            return emu.demo_info()
        case ("POST", "orgs"):
            _required(body, "name")
            org = emu.add_org(
                str(body["name"]),
                kind=body.get("kind", "services"),
                public_projects=bool(body.get("public_projects", False)),
                collection_path=body.get("collection_path"),
                max_api_version=body.get("max_api_version"),
            )
            return {**asdict(org), "url": emu.org_url(org.name)}
        case ("POST", "identities"):
            _required(body, "display_name", "email")
            identity = emu.add_identity(
                org=body.get("org", "fabrikam"),
                display_name=str(body["display_name"]),
                email=str(body["email"]),
                id=body.get("id"),
            )
            return identity_json(emu, identity)
        case ("POST", "members"):
            _required(body, "org")
            identity = _identity_from(emu, body)
            emu.add_member(identity, str(body["org"]))
            return identity_json(emu, identity)
        case ("POST", "pats"):
            return _issue(emu, body)
        case ("POST", "pats", "reassign"):
            _required(body, "token")
            _required(body, "identity_id")
            token = str(body["token"])
            if emu.state.pat(token) is None:
                raise ControlError(404, "unknown token")
            try:
                record = emu.state.reassign_pat(token, str(body["identity_id"]))
            except KeyError:
                raise ControlError(404, "unknown identity") from None
            return pat_json(record, with_token=False)
        case ("POST", "pats", "revoke" | "expire" as action):
            _required(body, "token")
            token = str(body["token"])
            if emu.state.pat(token) is None:
                raise ControlError(404, "unknown token")
            record = emu.state.revoke_pat(token) if action == "revoke" else emu.state.expire_pat(token)
            return pat_json(record, with_token=False)
        case ("GET", "faults"):
            return emu.faults()
        case ("POST", "faults"):
            _required(body, "kind")
            options = {k: v for k, v in body.items() if k != "kind"}
            fault_id = emu.set_fault(str(body["kind"]), **options)
            return {"id": fault_id}
        case ("DELETE", "faults"):
            emu.clear_faults()
            return {"cleared": True}
        case ("POST", "behaviour"):
            emu.configure(**body)
            return asdict(emu.behaviour)
        case ("POST", "workitems", org):
            # Many alike items at once, created by the identity named by email or identity_id.
            _required(body, "project", "count")
            ids = emu.add_many_work_items(
                org,
                str(body["project"]),
                int(body["count"]),
                type=str(body.get("type", "Task")),
                title=str(body.get("title", "Item {n}")),
                by=_identity_from(emu, body),
            )
            return {"count": len(ids), "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None}
        case ("GET", "workitems", org, item_id):
            return emu.work_item(org, int(item_id))
        case ("GET", "workitems", org, item_id, "revisions"):
            return emu.work_item_revisions(org, int(item_id))
        case ("GET", "requests"):
            return [asdict(r) for r in emu.requests]
        case ("DELETE", "requests"):
            emu.clear_requests()
            return {"cleared": True}
    raise ControlError(404, f"no control route {method} /_emulator/{'/'.join(segments)}")


def _issue(emu: Emulator, body: dict[str, Any]) -> dict[str, Any]:
    identity = _identity_from(emu, body)
    valid_to = None
    if body.get("valid_to"):
        valid_to = _parse_when(str(body["valid_to"]))
    elif body.get("valid_days") is not None:
        valid_to = emu.state.now() + timedelta(days=float(body["valid_days"]))
    # A missing "orgs" means the default organization; an explicit null means all accessible ones.
    orgs = body.get("orgs", ("fabrikam",))
    token = emu.issue_pat(
        identity,
        scopes=body.get("scopes", "vso.work_write"),
        valid_to=valid_to,
        valid_from=_parse_when(str(body["valid_from"])) if body.get("valid_from") else None,
        orgs=orgs,
        display_name=str(body.get("display_name", "almlink")),
    )
    return pat_json(emu.pat_info(token), with_token=True)
