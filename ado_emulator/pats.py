"""The PAT lifecycle API, `https://vssps.dev.azure.com/{org}/_apis/tokens/pats` (facts 4.3, specs/tokens_7.1).

Only Microsoft Entra access tokens reach these handlers: auth.authenticate refuses a PAT here (facts 4.3), and the
scope filter wants vso.pats (GET) or vso.pats_manage (POST/PUT/DELETE) in the token's `scp`.

Answers follow the spec's shapes: PatTokenResult {"patToken", "patTokenError"} for create/get/update, PagedPatTokens
{"patTokens", "continuationToken"} for the list, and the examples (httpExamples/tokens/7.1/Pats): the token text
only in the create answer, `targetAccounts` null for an all-organizations token, 204 for a revoke. The spec
documents only a 200 answer, with errors named in `patTokenError`; so refusals are 200 with that field set (not
confirmed against the real service). Which error the organization policy "Restrict personal access token creation"
gives is not in the facts: `accessDenied` here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ado_emulator.errors import ApiError, Reply, json_reply
from ado_emulator.model import PatRecord
from ado_emulator.workitems import iso

if TYPE_CHECKING:
    from ado_emulator.api import Call

PATH = ("tokens", "pats")


def is_pat_lifecycle(rel: list[str] | tuple[str, ...]) -> bool:
    """Whether a path below the organization is the PAT lifecycle API (`_apis/tokens/pats`)."""
    lowered = [s.lower() for s in rel]
    return lowered[-3:] == ["_apis", *PATH]


def _pat_json(call: Call, record: PatRecord, *, with_token: bool) -> dict[str, Any]:
    targets = None
    if record.orgs is not None:
        targets = [call.state.org_data(name).org.id for name in record.orgs]
    return {
        "displayName": record.display_name,
        "validTo": iso(record.valid_to),
        "scope": record.scopes,
        "targetAccounts": targets,
        "validFrom": iso(record.valid_from),
        "authorizationId": record.authorization_id,
        "token": record.token if with_token else None,
    }


def _result(call: Call, record: PatRecord | None, error: str = "none", *, with_token: bool = False) -> Reply:
    token = _pat_json(call, record, with_token=with_token) if record is not None else None
    return json_reply(200, {"patToken": token, "patTokenError": error})


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _mine(call: Call, authorization_id: str | None) -> PatRecord | None:
    wanted = (authorization_id or "").lower()
    return next((p for p in call.state.pats_of(call.me.id) if p.authorization_id.lower() == wanted), None)


def _body(call: Call) -> dict[str, Any]:
    body = call.json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "The request body is not valid.", "VssPropertyValidationException")
    return body


def create(call: Call) -> Reply:
    body = _body(call)
    name = str(body.get("displayName") or "").strip()
    scope = " ".join(str(body.get("scope") or "").split())
    valid_to = _when(body.get("validTo"))
    if not name:
        return _result(call, None, "displayNameRequired")
    if not scope:
        return _result(call, None, "invalidScope")
    if valid_to is None or valid_to <= call.state.now():
        return _result(call, None, "invalidValidTo")
    if call.data.org.name.lower() in call.host.entra.pat_creation_restricted:
        return _result(call, None, "accessDenied")
    orgs = None if body.get("allOrgs") else (call.data.org.name,)
    token = call.state.issue_pat(call.me, scopes=scope, valid_to=valid_to, orgs=orgs, display_name=name)
    return _result(call, call.state.pat_info(token), with_token=True)


def get(call: Call) -> Reply:
    authorization_id = call.incoming.param("authorizationId")
    if authorization_id is None:
        return _list(call)
    record = _mine(call, authorization_id)
    return _result(call, record, "none" if record else "authorizationNotFound")


_FILTERS: dict[str, Callable[[PatRecord, datetime], bool]] = {
    "active": lambda p, now: not p.revoked and p.valid_to > now,
    "revoked": lambda p, now: p.revoked,
    "expired": lambda p, now: not p.revoked and p.valid_to <= now,
    "all": lambda p, now: True,
}


def _list(call: Call) -> Reply:
    now = call.state.now()
    keep = _FILTERS.get((call.incoming.param("displayFilterOption") or "active").lower(), _FILTERS["active"])
    records = [p for p in call.state.pats_of(call.me.id) if keep(p, now)]
    sort = (call.incoming.param("sortByOption") or "displayName").lower()
    key: Callable[[PatRecord], Any] = {
        "displaydate": lambda p: p.valid_to,
        "status": lambda p: (p.revoked, p.valid_to <= now),
    }.get(sort, lambda p: p.display_name.lower())
    ascending = (call.incoming.param("isSortAscending") or "true").lower() != "false"
    records.sort(key=key, reverse=not ascending)
    try:
        offset = int(call.incoming.param("continuationToken") or 0)
    except ValueError:
        offset = 0
    size = 100
    page = records[offset : offset + size]
    more = offset + size < len(records)
    return json_reply(
        200,
        {
            "continuationToken": str(offset + size) if more else "",
            "patTokens": [_pat_json(call, p, with_token=False) for p in page],
        },
    )


def update(call: Call) -> Reply:
    body = _body(call)
    record = _mine(call, str(body.get("authorizationId") or ""))
    if record is None:
        return _result(call, None, "authorizationNotFound")
    if record.revoked:
        # "To update a token, it must be valid (has not been revoked)" (spec, Pats_Update).
        return _result(call, None, "invalidToken")
    changes: dict[str, Any] = {}
    if body.get("displayName"):
        changes["display_name"] = str(body["displayName"]).strip()
    if body.get("scope"):
        changes["scopes"] = " ".join(str(body["scope"]).split())
    if body.get("validTo") is not None:
        valid_to = _when(body.get("validTo"))
        if valid_to is None or valid_to <= call.state.now():
            return _result(call, None, "invalidValidTo")
        changes["valid_to"] = valid_to
    if "allOrgs" in body and body["allOrgs"] is not None:
        changes["orgs"] = None if body["allOrgs"] else (call.data.org.name,)
    # The state has one way to change a stored token, keyed by its text.
    updated = call.state._update_pat(record.token, **changes)
    return _result(call, updated)


def revoke(call: Call) -> Reply:
    record = _mine(call, call.incoming.param("authorizationId"))
    if record is None:
        return _result(call, None, "authorizationNotFound")
    call.state.revoke_pat(record.token)
    return Reply(status=204)
