"""Location, core, vssps and vsaex endpoints of the emulator, over real sockets."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
import uuid
from http import HTTPStatus
from pathlib import Path

from ado_emulator import ANONYMOUS_ID, Emulator

PREVIEW = {"api-version": "7.1-preview.1"}
V71 = {"api-version": "7.1"}
NIL = "00000000-0000-0000-0000-000000000000"


def test_starts_on_a_free_port_in_well_under_a_second():
    began = time.monotonic()
    emulator = Emulator(demo=True).start()
    try:
        assert time.monotonic() - began < 1.0
        assert emulator.base_url.startswith("http://127.0.0.1:")
        assert emulator.org_url() == f"{emulator.base_url}/fabrikam"
    finally:
        emulator.stop()


def test_context_manager_starts_and_stops():
    with Emulator(demo=False) as emulator:
        url = emulator.base_url
    assert url.startswith("http://127.0.0.1:")
    assert repr(emulator) == "<Emulator stopped>"


def test_connection_data_keys_match_the_real_response(alice_http, org_url, alice_identity, real_example):
    response = alice_http.get(f"{org_url}/_apis/connectionData", params=PREVIEW)
    real = real_example("real/GET__apis_ConnectionData_dev.azure.com_org_2025-01.json")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == set(real)
    assert set(body["locationServiceData"]) == set(real["locationServiceData"])
    # customDisplayName only exists when the user set one (docs/azure-devops-behaviours.md §2.1).
    assert set(body["authenticatedUser"]) == set(real["authenticatedUser"]) - {"customDisplayName"}
    user = body["authenticatedUser"]
    assert user["id"] == alice_identity.id
    assert user["providerDisplayName"] == "Alice Example"
    assert user["properties"]["Account"]["$value"] == "alice@fabrikam.example"
    assert user["descriptor"].startswith("Microsoft.IdentityModel.Claims.ClaimsIdentity;")
    assert user["descriptor"].endswith("\\alice@fabrikam.example")
    assert user["subjectDescriptor"] == alice_identity.subject_descriptor
    assert body["authorizedUser"] == user
    assert body["deploymentType"] == "hosted"


def test_authenticated_answers_carry_user_data_and_activity_ids(alice_http, org_url, alice_identity):
    response = alice_http.get(f"{org_url}/_apis/connectionData", params=PREVIEW)
    assert response.headers["X-VSS-UserData"] == f"{alice_identity.id}:alice@fabrikam.example"
    assert response.headers["ActivityId"] == response.headers["X-VSS-E2EID"]
    uuid.UUID(response.headers["ActivityId"])
    assert response.headers["Content-Type"] == "application/json; charset=utf-8; api-version=7.1-preview.1"


def test_subject_descriptor_is_aad_and_base64url_of_the_id(alice_identity):
    encoded = alice_identity.subject_descriptor.removeprefix("aad.")
    assert base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode() == alice_identity.id


def test_resource_areas_point_each_service_to_its_own_url(alice_http, ado, org_url, real_example):
    response = alice_http.get(f"{org_url}/_apis/ResourceAreas", params=PREVIEW)
    assert response.status_code == HTTPStatus.OK
    areas = {a["name"]: a for a in response.json()["value"]}
    assert areas["core"]["locationUrl"] == f"{org_url}/"
    assert areas["wit"]["locationUrl"] == f"{org_url}/"
    assert areas["Tokens"]["locationUrl"] == f"{ado.base_url}/_vssps/fabrikam/"
    assert areas["TokenAdmin"]["locationUrl"] == f"{ado.base_url}/_vssps/fabrikam/"
    assert areas["Graph"]["locationUrl"] == f"{ado.base_url}/_vssps/fabrikam/"
    assert areas["MemberEntitlementManagement"]["locationUrl"] == f"{ado.base_url}/_vsaex/fabrikam/"
    real = {
        a["name"]: a["id"] for a in real_example("real/GET__apis_ResourceAreas_dev.azure.com_org_2025-01.json")["value"]
    }
    for name in ("core", "wit", "Tokens", "TokenAdmin", "Graph", "MemberEntitlementManagement"):
        assert areas[name]["id"] == real[name]


def test_vssps_and_vsaex_apis_are_not_served_on_the_main_org_url(alice_http, org_url):
    tokens = alice_http.get(f"{org_url}/_apis/Token/SessionTokens", params={"api-version": "5.0-preview.1"})
    entitlements = alice_http.get(f"{org_url}/_apis/userentitlements", params=V71)
    assert tokens.status_code == HTTPStatus.NOT_FOUND
    assert entitlements.status_code == HTTPStatus.NOT_FOUND
    assert "was not found" in tokens.text


def test_connection_data_also_answers_on_the_service_hosts(alice_http, ado, alice_identity):
    for prefix in ("_vssps", "_vsaex"):
        response = alice_http.get(f"{ado.base_url}/{prefix}/fabrikam/_apis/connectionData", params=PREVIEW)
        assert response.status_code == HTTPStatus.OK
        assert response.json()["authenticatedUser"]["id"] == alice_identity.id


def test_options_lists_the_resource_locations_the_app_uses(alice_http, org_url, real_example):
    response = alice_http.options(f"{org_url}/_apis")
    assert response.status_code == HTTPStatus.OK
    served = {(v["area"], v["resourceName"], v["id"]): v for v in response.json()["value"]}
    real = {
        (v["area"], v["resourceName"], v["id"]): v
        for v in real_example("real/OPTIONS__apis_dev.azure.com_org_2025-01.json")["value"]
    }
    assert ("Location", "ConnectionData", "00d9565f-ed9c-4a06-9a50-00e7896ccab4") in served
    assert ("wit", "workItems", "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b") in served
    for key, location in served.items():
        assert location == real[key]


def test_options_of_one_area_lists_that_areas_locations(alice_http, ado, org_url):
    wit = alice_http.options(f"{org_url}/_apis/wit").json()["value"]
    location = alice_http.options(f"{org_url}/_apis/Location").json()["value"]
    tokens = alice_http.options(f"{ado.base_url}/_vssps/fabrikam/_apis/TokenAdmin").json()["value"]
    assert {v["area"] for v in wit} == {"wit"}
    assert "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b" in {v["id"] for v in wit}
    assert {v["resourceName"] for v in location} == {"ConnectionData", "ResourceAreas"}
    assert {v["area"] for v in tokens} == {"TokenAdmin"}


def test_server_kind_serves_its_areas_on_the_collection_url_without_member_entitlements(ado, http_for, svc_identity):
    ado.add_org("DefaultCollection", kind="server", collection_path="tfs/DefaultCollection")
    ado.add_member(svc_identity, "DefaultCollection")
    token = ado.issue_pat(svc_identity, scopes="app_token", orgs=None)
    url = ado.org_url("DefaultCollection")
    assert url == f"{ado.base_url}/tfs/DefaultCollection"
    http = http_for(token)
    areas = http.get(f"{url}/_apis/ResourceAreas", params=PREVIEW)
    assert areas.json() == {"count": 0, "value": []}
    data = http.get(f"{url}/_apis/connectionData", params=PREVIEW).json()
    assert data["deploymentType"] == "onPremises"
    tokens = http.get(f"{url}/_apis/Token/SessionTokens", params={"api-version": "5.0-preview.1"})
    assert tokens.status_code == HTTPStatus.OK
    entitlements = http.get(f"{url}/_apis/userentitlements", params={"api-version": "7.1"})
    assert entitlements.status_code == HTTPStatus.NOT_FOUND
    locations = http.options(f"{url}/_apis").json()["value"]
    assert "MemberEntitlementManagement" not in {location["area"] for location in locations}


def test_routes_ignore_case(alice_http, org_url):
    response = alice_http.get(f"{org_url.replace('fabrikam', 'FABRIKAM')}/_APIS/CONNECTIONDATA", params=PREVIEW)
    assert response.status_code == HTTPStatus.OK


def test_unknown_organization_is_404(alice_http, ado):
    response = alice_http.get(f"{ado.base_url}/contoso/_apis/connectionData", params=PREVIEW)
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_projects_list_pages_with_top_and_skip(alice_http, ado, org_url):
    ado.add_project("fabrikam", "Another Project")
    everything = alice_http.get(f"{org_url}/_apis/projects", params=V71).json()
    first = alice_http.get(f"{org_url}/_apis/projects", params={**V71, "$top": "1"}).json()
    second = alice_http.get(f"{org_url}/_apis/projects", params={**V71, "$top": "1", "$skip": "1"}).json()
    assert everything["count"] == 2
    assert first["count"] == 1
    assert [first["value"][0]["name"], second["value"][0]["name"]] == ["Another Project", "Fabrikam Fiber"]
    assert set(first["value"][0]) >= {"id", "name", "url", "state", "revision", "visibility", "lastUpdateTime"}


def test_projects_list_pages_by_100_with_continuation_tokens(alice_http, ado, org_url):
    for n in range(149):
        ado.add_project("fabrikam", f"Project {n:03d}")
    first = alice_http.get(f"{org_url}/_apis/projects", params=V71)
    token = first.headers["x-ms-continuationtoken"]
    second = alice_http.get(f"{org_url}/_apis/projects", params={**V71, "continuationToken": token})
    assert first.json()["count"] == 100
    assert second.json()["count"] == 50
    assert "x-ms-continuationtoken" not in second.headers
    names = [p["name"] for p in first.json()["value"] + second.json()["value"]]
    assert len(set(names)) == 150


def test_project_is_found_by_encoded_name_and_by_id(alice_http, org_url):
    by_name = alice_http.get(f"{org_url}/_apis/projects/Fabrikam%20Fiber", params=V71)
    assert by_name.status_code == HTTPStatus.OK
    project = by_name.json()
    by_id = alice_http.get(f"{org_url}/_apis/projects/{project['id']}", params=V71).json()
    assert by_id["name"] == "Fabrikam Fiber"
    assert project["defaultTeam"]["name"] == "Fabrikam Fiber Team"


def test_unknown_project_is_404_with_the_real_error_body(alice_http, org_url, real_example):
    response = alice_http.get(f"{org_url}/_apis/projects/Nope", params=V71)
    assert response.status_code == HTTPStatus.NOT_FOUND
    body = response.json()
    assert body["typeKey"] == "ProjectDoesNotExistWithNameException"
    assert body["message"].startswith("TF200016: The following project does not exist: Nope.")
    assert list(body) == ["$id", "innerException", "message", "typeName", "typeKey", "errorCode", "eventId"]


def test_deleting_the_nil_project_is_404_with_manage_scope(alice_http, org_url):
    response = alice_http.delete(f"{org_url}/_apis/projects/{NIL}", params=V71)
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["typeKey"] == "ProjectDoesNotExistException"


def test_deleting_a_real_project_queues_an_operation_and_removes_nothing(alice_http, org_url):
    project_id = alice_http.get(f"{org_url}/_apis/projects/Fabrikam%20Fiber", params=V71).json()["id"]
    response = alice_http.delete(f"{org_url}/_apis/projects/{project_id}", params=V71)
    assert response.status_code == HTTPStatus.ACCEPTED
    assert response.json()["status"] == "queued"
    assert alice_http.get(f"{org_url}/_apis/projects/{project_id}", params=V71).status_code == HTTPStatus.OK


def test_deleting_a_project_needs_a_project_administrator(ado, http_for, org_url, svc_identity):
    dave = ado.add_identity(display_name="Dave", email="dave@fabrikam.example")
    dave_http = http_for(ado.issue_pat(dave, scopes="vso.project_manage"))
    project_id = ado.state.find_project(ado.state.org_data("fabrikam"), "Fabrikam Fiber").id
    refused = dave_http.delete(f"{org_url}/_apis/projects/{project_id}", params=V71)
    nil = dave_http.delete(f"{org_url}/_apis/projects/{NIL}", params=V71)
    ado.set_project_admin(dave, "Fabrikam Fiber")
    allowed = dave_http.delete(f"{org_url}/_apis/projects/{project_id}", params=V71)
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused.json()["typeKey"] == "AccessCheckException"
    assert nil.status_code == HTTPStatus.NOT_FOUND
    assert allowed.status_code == HTTPStatus.ACCEPTED


def test_teams_of_a_project(alice_http, org_url, real_example):
    project_id = alice_http.get(f"{org_url}/_apis/projects/Fabrikam%20Fiber", params=V71).json()["id"]
    response = alice_http.get(f"{org_url}/_apis/projects/{project_id}/teams", params=V71)
    assert response.status_code == HTTPStatus.OK
    team = response.json()["value"][0]
    real = real_example("examples/core/7.1/teams/GET__projects__projectId__teams.json")
    assert set(real["responses"]["200"]["body"]["value"][0]) <= set(team)
    assert team["name"] == "Fabrikam Fiber Team"


def test_user_entitlements_list_members_and_page(alice_http, ado):
    url = f"{ado.base_url}/_vsaex/fabrikam/_apis/userentitlements"
    first = alice_http.get(url, params={**V71, "$top": "2"}).json()
    assert first["totalCount"] == 3
    assert len(first["members"]) == 2
    assert first["continuationToken"]
    rest = alice_http.get(url, params={**V71, "$top": "2", "continuationToken": first["continuationToken"]}).json()
    assert len(rest["members"]) == 1
    assert rest["continuationToken"] == ""
    assert rest["items"] == rest["members"]
    emails = {m["user"]["mailAddress"] for m in first["members"] + rest["members"]}
    assert emails == {"alice@fabrikam.example", "bob@fabrikam.example", "almlink-svc@fabrikam.example"}
    assert set(first["members"][0]) >= {"id", "user", "accessLevel", "projectEntitlements", "extensions"}


def test_one_user_entitlement_by_id(alice_http, ado, bob_identity):
    url = f"{ado.base_url}/_vsaex/fabrikam/_apis/userentitlements"
    bob = alice_http.get(f"{url}/{bob_identity.id}", params=V71)
    nobody = alice_http.get(f"{url}/00000000-0000-0000-0000-000000000001", params=V71)
    locations = alice_http.options(f"{ado.base_url}/_vsaex/fabrikam/_apis").json()["value"]
    assert bob.status_code == HTTPStatus.OK
    assert bob.json()["user"]["mailAddress"] == "bob@fabrikam.example"
    assert nobody.status_code == HTTPStatus.NOT_FOUND
    assert "8480c6eb-ce60-47e9-88df-eca3c801638b" in {location["id"] for location in locations}


def test_session_tokens_list_all_of_the_callers_pats_without_the_secret(alice_http, ado, alice_identity):
    ado.issue_pat(alice_identity, scopes="vso.work", display_name="second", orgs=None)
    response = alice_http.get(
        f"{ado.base_url}/_vssps/fabrikam/_apis/Token/SessionTokens",
        params={"displayFilterOption": "1", "api-version": "5.0-preview.1"},
    )
    assert response.status_code == HTTPStatus.OK
    tokens = response.json()["value"]
    assert {t["displayName"] for t in tokens} == {"almlink", "second"}
    almlink = next(t for t in tokens if t["displayName"] == "almlink")
    assert almlink["token"] is None
    assert almlink["isValid"] is True
    assert almlink["scope"] == (
        "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"
    )
    assert almlink["targetAccounts"] == [ado.state.org_data("fabrikam").org.id]
    assert next(t for t in tokens if t["displayName"] == "second")["targetAccounts"] is None
    assert {"validFrom", "validTo", "authorizationId", "userId"} <= set(almlink)


def test_session_tokens_list_revoked_and_expired_whatever_the_display_filter(alice_http, ado, alice_identity):
    revoked = ado.issue_pat(alice_identity, display_name="revoked")
    expired = ado.issue_pat(alice_identity, display_name="expired")
    ado.revoke_pat(revoked)
    ado.expire_pat(expired)
    url = f"{ado.base_url}/_vssps/fabrikam/_apis/Token/SessionTokens"
    active = alice_http.get(url, params={"displayFilterOption": "1", "api-version": "5.0-preview.1"}).json()
    everything = alice_http.get(url, params={"api-version": "5.0-preview.1"}).json()
    assert active == everything
    assert {t["displayName"] for t in active["value"]} == {"almlink", "revoked", "expired"}
    by_name = {t["displayName"]: t for t in active["value"]}
    assert by_name["revoked"]["isValid"] is False
    assert by_name["expired"]["isValid"] is True  # as in the official example: expiry shows only in validTo


PAGING = {
    "displayFilterOption": "1",
    "createdByOption": "3",
    "sortByOption": "3",
    "isSortAscending": "true",
    "startRowNumber": "1",
    "pageSize": "2",
    "pageRequestTimeStamp": "Mon, 30 Nov 2026 08:00:00 GMT",
    "api-version": "5.0-preview.1",
}


def test_paged_session_tokens_answer_next_row_number_and_session_tokens(alice_http, ado, alice_identity):
    ado.issue_pat(alice_identity, display_name="second")
    ado.issue_pat(alice_identity, display_name="third")
    url = f"{ado.base_url}/_vssps/fabrikam/_apis/Token/SessionTokens"
    first = alice_http.get(url, params=PAGING).json()
    second = alice_http.get(url, params={**PAGING, "startRowNumber": str(first["nextRowNumber"])}).json()
    assert set(first) == {"nextRowNumber", "sessionTokens"}
    assert [t["displayName"] for t in first["sessionTokens"]] == ["almlink", "second"]
    assert first["nextRowNumber"] == 3
    assert [t["displayName"] for t in second["sessionTokens"]] == ["third"]


def test_paged_session_tokens_need_every_paging_parameter(alice_http, ado):
    url = f"{ado.base_url}/_vssps/fabrikam/_apis/Token/SessionTokens"
    partial = {k: v for k, v in PAGING.items() if k != "pageRequestTimeStamp"}
    response = alice_http.get(url, params=partial)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "pageRequestTimeStamp" in response.json()["message"]


def test_token_admin_lists_a_users_pats_like_the_official_example(alice_http, ado, bob_identity, real_example):
    url = f"{ado.base_url}/_vssps/fabrikam/_apis/tokenadmin/personalaccesstokens/{bob_identity.subject_descriptor}"
    response = alice_http.get(url, params={**V71, "pageSize": "20"})
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    example = real_example(
        "examples/tokenAdmin/7.1/personalAccessTokens/GetPersonalAccessTokensForAUserInYourOrganization.json"
    )
    expected = example["responses"]["200"]["body"]
    assert set(body) == set(expected)
    assert set(body["value"][0]) == set(expected["value"][0])
    assert body["value"][0]["userId"] == bob_identity.id


def test_token_admin_is_for_organization_administrators_only(ado, http_for, bob_identity):
    dave = ado.add_identity(display_name="Dave", email="dave@fabrikam.example")
    dave_http = http_for(ado.issue_pat(dave, scopes="vso.tokenadministration"))
    url = f"{ado.base_url}/_vssps/fabrikam/_apis/tokenadmin/personalaccesstokens/{bob_identity.subject_descriptor}"
    refused = dave_http.get(url, params=V71)
    ado.set_org_admin(dave)
    allowed = dave_http.get(url, params=V71)
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert refused.json()["message"].startswith("Access Denied: Dave needs the following permission(s)")
    assert allowed.status_code == HTTPStatus.OK


def test_token_admin_pages_with_a_continuation_token(alice_http, ado, bob_identity):
    ado.issue_pat(bob_identity, display_name="two")
    url = f"{ado.base_url}/_vssps/fabrikam/_apis/tokenadmin/personalaccesstokens/{bob_identity.subject_descriptor}"
    first = alice_http.get(url, params={**V71, "pageSize": "1"}).json()
    second = alice_http.get(url, params={**V71, "pageSize": "1", "continuationToken": first["continuationToken"]})
    assert len(first["value"]) == 1
    assert second.json()["continuationToken"] is None
    assert first["value"][0]["authorizationId"] != second.json()["value"][0]["authorizationId"]


def test_token_admin_unknown_descriptor_is_404(alice_http, ado):
    nobody = "aad.MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"
    url = f"{ado.base_url}/_vssps/fabrikam/_apis/tokenadmin/personalaccesstokens/{nobody}"
    response = alice_http.get(url, params={**V71, "pageSize": "1"})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["$id"] == "1"


def test_public_project_org_answers_anonymous_identity(ado, http_for):
    ado.add_org("opensource", public_projects=True)
    response = http_for("garbage").get(f"{ado.org_url('opensource')}/_apis/connectionData", params=PREVIEW)
    assert response.status_code == HTTPStatus.OK
    assert response.json()["authenticatedUser"]["id"] == ANONYMOUS_ID


def test_the_emulator_core_does_not_import_django():
    code = "import sys, ado_emulator; sys.exit(any(m.split('.')[0] == 'django' for m in sys.modules))"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, check=False, timeout=30)  # noqa: S603 - fixed argv
    assert result.returncode == 0
