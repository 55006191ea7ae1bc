"""The /_emulator/ control API and the Python API around it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path

import pytest

import ado_emulator
from ado_emulator import demo_identities

PREVIEW = {"api-version": "7.1-preview.1"}
DEMO_SCOPES = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"


@pytest.fixture
def control(ado, http_for):
    http = http_for(None, suppress=False)
    base = f"{ado.base_url}/_emulator"

    def call(method: str, path: str, **kwargs):
        return http.request(method, f"{base}/{path}", **kwargs)

    return call


def test_demo_lists_the_org_and_the_three_identities(control, ado):
    response = control("GET", "demo")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["org_url"] == ado.org_url()
    assert body["project"] == "Fabrikam Fiber"
    people = {p["email"]: p for p in body["identities"]}
    assert set(people) == {"almlink-svc@fabrikam.example", "alice@fabrikam.example", "bob@fabrikam.example"}
    assert people["alice@fabrikam.example"]["name"] == "Alice Example"
    for person in people.values():
        assert person["scopes"] == DEMO_SCOPES
        assert re.fullmatch(r"[a-z0-9]+", person["pat"])
        assert "not0a0real0secret" in person["pat"]
        valid_to = datetime.fromisoformat(person["valid_to"].replace("Z", "+00:00"))
        assert timedelta(days=364) < valid_to - datetime.now(UTC) <= timedelta(days=365)
    assert body == ado.demo_info()


def test_demo_pats_are_the_fixed_strings_of_the_demo_identities(ado):
    assert [p.token for p in demo_identities.PEOPLE] == [p["pat"] for p in ado.demo_info()["identities"]]
    demo = json.loads((Path(ado_emulator.__file__).parent / "demo.json").read_text(encoding="utf-8"))
    assert "identities" not in demo
    assert len(demo["work_items"]) >= 30
    assert {i["type"] for i in demo["work_items"]} >= {"Product Backlog Item", "Bug", "Task", "Feature"}


def test_control_calls_are_not_logged_and_need_no_auth(control, ado):
    assert control("GET", "demo").status_code == HTTPStatus.OK
    assert ado.requests == []


def test_reset_restores_the_demo_state(control, ado, svc_identity):
    ado.add_work_item("fabrikam", "Fabrikam Fiber", title="Temporary", by=svc_identity)
    ado.set_fault("status", status=500)
    response = control("POST", "reset")
    assert response.status_code == HTTPStatus.OK
    with pytest.raises(KeyError):
        ado.work_item("fabrikam", 32)
    assert ado.faults() == []


def test_identities_and_pats_over_http(control, ado, http_for):
    identity = control(
        "POST",
        "identities",
        json={"org": "fabrikam", "display_name": "Carol Example", "email": "carol@fabrikam.example"},
    ).json()
    assert identity["subject_descriptor"].startswith("aad.")
    assert identity["orgs"] == ["fabrikam"]
    pat = control(
        "POST", "pats", json={"email": "carol@fabrikam.example", "scopes": "vso.work", "valid_days": 30}
    ).json()
    assert re.fullmatch(r"[a-z2-7]{52}", pat["token"])
    assert pat["scopes"] == "vso.work"
    assert pat["orgs"] == ["fabrikam"]
    data = http_for(pat["token"]).get(f"{ado.org_url()}/_apis/connectionData", params=PREVIEW)
    assert data.json()["authenticatedUser"]["id"] == identity["id"]


def test_pats_for_all_orgs_and_with_an_explicit_expiry(control):
    valid_to = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    pat = control(
        "POST",
        "pats",
        json={"email": "bob@fabrikam.example", "orgs": None, "valid_to": valid_to.isoformat(), "display_name": "ci"},
    ).json()
    assert pat["orgs"] is None
    assert pat["display_name"] == "ci"
    assert datetime.fromisoformat(pat["valid_to"].replace("Z", "+00:00")) == valid_to


def test_revoke_and_expire_over_http(control, ado, alice_pat, bob_pat, http_for):
    revoked = control("POST", "pats/revoke", json={"token": alice_pat}).json()
    expired = control("POST", "pats/expire", json={"token": bob_pat}).json()
    assert revoked["revoked"] is True
    assert "token" not in revoked
    assert ado.pat_info(bob_pat).valid_to < datetime.now(UTC)
    assert expired["revoked"] is False
    answer = http_for(alice_pat).get(f"{ado.org_url()}/_apis/connectionData", params=PREVIEW)
    assert answer.status_code == HTTPStatus.UNAUTHORIZED
    assert control("POST", "pats/revoke", json={"token": "unknown"}).status_code == HTTPStatus.NOT_FOUND


def test_faults_over_http(control, ado, alice_http):
    created = control("POST", "faults", json={"kind": "status", "status": 503, "count": 1, "path": "connectionData"})
    assert created.status_code == HTTPStatus.OK
    assert control("GET", "faults").json()[0]["kind"] == "status"
    assert alice_http.get(f"{ado.org_url()}/_apis/connectionData", params=PREVIEW).status_code == 503
    control("POST", "faults", json={"kind": "status", "status": 500})
    assert control("DELETE", "faults").status_code == HTTPStatus.OK
    assert alice_http.get(f"{ado.org_url()}/_apis/connectionData", params=PREVIEW).status_code == HTTPStatus.OK
    assert control("POST", "faults", json={"kind": "nope"}).status_code == HTTPStatus.BAD_REQUEST


def test_work_item_and_revisions_over_http(control):
    item = control("GET", "workitems/fabrikam/1").json()
    revisions = control("GET", "workitems/fabrikam/1/revisions").json()
    assert item["id"] == 1
    assert [r["rev"] for r in revisions] == [1, 2]
    assert set(revisions[0]) == {"rev", "fields", "changed_by", "changed_date"}
    assert control("GET", "workitems/fabrikam/999/revisions").status_code == HTTPStatus.NOT_FOUND


def test_request_log_over_http(control, ado, alice_http, alice_identity):
    alice_http.get(f"{ado.org_url()}/_apis/connectionData", params=PREVIEW)
    log = control("GET", "requests").json()
    assert len(log) == 1
    assert log[0]["method"] == "GET"
    assert log[0]["path"] == "/fabrikam/_apis/connectionData"
    assert log[0]["query"] == PREVIEW
    assert log[0]["identity_id"] == alice_identity.id
    assert log[0]["ended"] >= log[0]["started"]
    control("DELETE", "requests")
    assert ado.requests == []


def test_orgs_members_and_behaviour_over_http(control, ado):
    org = control("POST", "orgs", json={"name": "contoso", "public_projects": True}).json()
    assert org["url"] == f"{ado.base_url}/contoso"
    member = control("POST", "members", json={"email": "alice@fabrikam.example", "org": "contoso"}).json()
    assert sorted(member["orgs"]) == ["contoso", "fabrikam"]
    behaviour = control("POST", "behaviour", json={"allow_get_without_api_version": False}).json()
    assert behaviour["allow_get_without_api_version"] is False
    assert control("POST", "behaviour", json={"no_such_knob": 1}).status_code == HTTPStatus.BAD_REQUEST


def test_unknown_control_route_is_404(control):
    assert control("GET", "nothing-here").status_code == HTTPStatus.NOT_FOUND


def test_issue_pat_defaults(ado, alice_identity):
    token = ado.issue_pat(alice_identity)
    record = ado.pat_info(token)
    assert re.fullmatch(r"[a-z2-7]{52}", token)
    assert record.scopes == "vso.work_write"
    assert record.orgs == ("fabrikam",)
    assert record.display_name == "almlink"
    assert timedelta(days=364) < record.valid_to - datetime.now(UTC) <= timedelta(days=365)
    assert token not in repr(record)


def test_naive_datetimes_are_refused(ado, alice_identity):
    with pytest.raises(ValueError, match="timezone-aware"):
        ado.issue_pat(alice_identity, valid_to=datetime(2030, 1, 1))  # noqa: DTZ001 - the point of the test


def test_many_work_items_are_created_at_once_by_the_control_api(control, ado):
    response = control(
        "POST",
        "workitems/fabrikam",
        json={
            "project": "Fabrikam Fiber",
            "count": 500,
            "type": "Bug",
            "title": "Bulk {n}",
            "email": "bob@fabrikam.example",
        },
    )
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["count"] == 500
    last = ado.work_item("fabrikam", body["last_id"])
    assert last["fields"]["System.Title"] == "Bulk 499"
    assert last["fields"]["System.WorkItemType"] == "Bug"
    assert last["fields"]["System.State"] == "New"
    assert last["fields"]["System.CreatedBy"]["uniqueName"] == "bob@fabrikam.example"
    assert body["last_id"] - body["first_id"] == 499
