"""Authentication and scope answers of the emulator (docs/azure-devops-behaviours.md §1, 3, 4)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from urllib.parse import unquote

import pytest

from ado_emulator import ANONYMOUS_ID

PREVIEW = {"api-version": "7.1-preview.1"}
V71 = {"api-version": "7.1"}
NIL = "00000000-0000-0000-0000-000000000000"


def connection_data(http, org_url):
    return http.get(f"{org_url}/_apis/connectionData", params=PREVIEW)


def test_any_user_name_is_accepted_with_the_pat_as_password(http_for, alice_pat, org_url):
    for user in ("", "kiro", "PAT"):
        assert connection_data(http_for(alice_pat, user=user), org_url).status_code == HTTPStatus.OK


def test_unknown_token_with_suppress_is_an_empty_401(http_for, org_url):
    response = connection_data(http_for("nosuchtoken0000000000000000000000000000000000000000"), org_url)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.content == b""
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="')
    assert "X-TFS-ProcessId" in response.headers
    assert "ActivityId" in response.headers
    assert "X-VSS-UserData" not in response.headers


def test_unknown_token_without_suppress_gets_the_203_sign_in_page(http_for, org_url):
    http = http_for("nosuchtoken", suppress=False)
    for response in (
        connection_data(http, org_url),
        http.post(f"{org_url}/_apis/wit/wiql", params=V71, json={"query": "SELECT [System.Id] FROM WorkItems"}),
    ):
        assert response.status_code == HTTPStatus.NON_AUTHORITATIVE_INFORMATION
        assert response.headers["Content-Type"].startswith("text/html")
        assert "Sign in" in response.text


def test_server_answers_a_bad_token_with_basic_and_ntlm_never_the_sign_in_page(ado, http_for, svc_identity):
    ado.add_org("DefaultCollection", kind="server", collection_path="tfs/DefaultCollection")
    url = ado.org_url("DefaultCollection")
    for suppress in (False, True):
        response = connection_data(http_for("nosuchtoken", suppress=suppress), url)
        assert response.status_code == HTTPStatus.UNAUTHORIZED
        assert response.content == b""
        challenges = response.raw.headers.getlist("WWW-Authenticate")
        assert challenges[0].startswith("Basic realm=")
        assert challenges[1] == "NTLM"


def test_unknown_token_without_suppress_on_patch_is_401_tf400813(http_for, org_url, patch_body):
    http = http_for("nosuchtoken", suppress=False)
    response = http.patch(
        f"{org_url}/_apis/wit/workitems/1", params=V71, **patch_body({"op": "test", "path": "/rev", "value": 1})
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["message"].startswith("TF400813:")


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b":demo0alice0pat0not0a0real0secret00000000000000000000").decode() + "=",
        "Bearer demo0alice0pat0not0a0real0secret00000000000000000000",
        "Negotiate abc",
    ],
    ids=["garbage", "no-colon", "non-canonical-padding", "bearer", "other-scheme"],
)
def test_malformed_authorization_is_treated_as_an_unknown_token(http_for, org_url, header):
    http = http_for(None)
    http.headers["Authorization"] = header
    response = connection_data(http, org_url)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.content == b""


def test_missing_authorization_is_401_with_the_anonymous_body(http_for, org_url):
    response = connection_data(http_for(None), org_url)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["message"] == (
        "TF400813: Resource not available for anonymous access. Client authentication required."
    )
    assert response.json()["typeKey"] == "UnauthorizedRequestException"


def test_expired_token_gets_access_check_body_and_service_error_header(ado, alice_pat, alice_http, org_url):
    ado.expire_pat(alice_pat)
    response = connection_data(alice_http, org_url)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    body = response.json()
    assert body["message"] == "Access Denied: The Personal Access Token used has expired."
    assert body["typeKey"] == "AccessCheckException"
    assert list(body) == [
        "$id",
        "customProperties",
        "innerException",
        "message",
        "typeName",
        "typeKey",
        "errorCode",
        "eventId",
    ]
    assert body["customProperties"]["RequestedPermissions"] == 0
    assert (
        response.headers["X-TFS-ServiceError"]
        == "Access%20Denied%3A%20The%20Personal%20Access%20Token%20used%20has%20expired."
    )
    assert "X-VSS-UserData" not in response.headers


def test_revoked_token_gets_401_with_a_configurable_message(ado, alice_pat, alice_http, org_url):
    ado.revoke_pat(alice_pat)
    first = connection_data(alice_http, org_url)
    ado.configure(revoked_message="Access Denied: custom.")
    second = connection_data(alice_http, org_url)
    assert first.status_code == HTTPStatus.UNAUTHORIZED
    assert first.json()["message"] == "Access Denied: The Personal Access Token used has been revoked."
    assert first.json()["typeKey"] == "AccessCheckException"
    assert unquote(second.headers["X-TFS-ServiceError"]) == "Access Denied: custom."


def test_token_for_another_org_is_like_an_unknown_one(ado, http_for, alice_identity):
    ado.add_org("contoso")
    ado.add_member(alice_identity, "contoso")
    only_contoso = ado.issue_pat(alice_identity, orgs=("contoso",))
    response = connection_data(http_for(only_contoso), ado.org_url())
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.content == b""
    assert connection_data(http_for(only_contoso), ado.org_url("contoso")).status_code == HTTPStatus.OK


def test_all_orgs_token_works_where_the_identity_is_a_member_only(ado, http_for, alice_identity):
    ado.add_org("contoso")
    everywhere = ado.issue_pat(alice_identity, orgs=None)
    assert connection_data(http_for(everywhere), ado.org_url()).status_code == HTTPStatus.OK
    assert connection_data(http_for(everywhere), ado.org_url("contoso")).status_code == HTTPStatus.UNAUTHORIZED
    ado.add_member(alice_identity, "contoso")
    assert connection_data(http_for(everywhere), ado.org_url("contoso")).status_code == HTTPStatus.OK


def test_token_not_valid_yet_is_rejected(ado, http_for, alice_identity):
    later = ado.issue_pat(alice_identity, valid_from=datetime.now(UTC) + timedelta(days=1))
    assert connection_data(http_for(later), ado.org_url()).status_code == HTTPStatus.UNAUTHORIZED


def test_missing_scope_is_an_empty_401(ado, http_for, alice_identity, org_url):
    token = ado.issue_pat(alice_identity, scopes="vso.tokens")
    response = http_for(token).get(f"{org_url}/_apis/wit/workitems/1", params=V71)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.content == b""
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_any_scope_can_call_connection_data(ado, http_for, alice_identity, org_url):
    token = ado.issue_pat(alice_identity, scopes="vso.tokens")
    assert connection_data(http_for(token), org_url).status_code == HTTPStatus.OK


def test_work_full_covers_patching_work_items(ado, http_for, alice_identity, org_url, patch_body):
    token = ado.issue_pat(alice_identity, scopes="vso.work_full")
    response = http_for(token).patch(
        f"{org_url}/_apis/wit/workitems/1",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.Title", "value": "Renamed"}),
    )
    assert response.status_code == HTTPStatus.OK


def test_work_read_scope_cannot_patch_but_can_read(ado, http_for, alice_identity, org_url, patch_body):
    token = ado.issue_pat(alice_identity, scopes="vso.work")
    http = http_for(token)
    patch = http.patch(
        f"{org_url}/_apis/wit/workitems/1",
        params=V71,
        **patch_body({"op": "add", "path": "/fields/System.Title", "value": "Renamed"}),
    )
    assert patch.status_code == HTTPStatus.UNAUTHORIZED
    assert http.get(f"{org_url}/_apis/wit/workitems/1", params=V71).status_code == HTTPStatus.OK
    # vso.work inherits vso.profile through vso.hooks_write (docs/azure-devops-behaviours.md §4.2): it can list
    # projects.
    assert http.get(f"{org_url}/_apis/projects", params=V71).status_code == HTTPStatus.OK


def test_project_manage_probe_tells_manage_from_read(ado, http_for, alice_identity, org_url):
    read = http_for(ado.issue_pat(alice_identity, scopes="vso.project"))
    write = http_for(ado.issue_pat(alice_identity, scopes="vso.project_write"))
    manage = http_for(ado.issue_pat(alice_identity, scopes="vso.project_manage"))
    url = f"{org_url}/_apis/projects/{NIL}"
    assert read.delete(url, params=V71).status_code == HTTPStatus.UNAUTHORIZED
    assert write.delete(url, params=V71).status_code == HTTPStatus.UNAUTHORIZED
    assert manage.delete(url, params=V71).status_code == HTTPStatus.NOT_FOUND


def test_token_scopes_are_checked_on_the_service_hosts(ado, http_for, alice_identity, bob_identity):
    work_only = http_for(ado.issue_pat(alice_identity, scopes="vso.work_full"))
    tokens = http_for(ado.issue_pat(alice_identity, scopes="vso.tokens"))
    admin = http_for(ado.issue_pat(alice_identity, scopes="vso.tokenadministration"))
    entitlements = http_for(ado.issue_pat(alice_identity, scopes="vso.memberentitlementmanagement"))
    sessions = f"{ado.base_url}/_vssps/fabrikam/_apis/Token/SessionTokens"
    pats = f"{ado.base_url}/_vssps/fabrikam/_apis/tokenadmin/personalaccesstokens/{bob_identity.subject_descriptor}"
    users = f"{ado.base_url}/_vsaex/fabrikam/_apis/userentitlements"
    old = {"api-version": "5.0-preview.1"}
    assert work_only.get(sessions, params=old).status_code == HTTPStatus.UNAUTHORIZED
    assert tokens.get(sessions, params=old).status_code == HTTPStatus.OK
    assert tokens.get(pats, params=V71).status_code == HTTPStatus.UNAUTHORIZED
    assert admin.get(pats, params=V71).status_code == HTTPStatus.OK
    assert admin.get(users, params=V71).status_code == HTTPStatus.UNAUTHORIZED
    assert entitlements.get(users, params=V71).status_code == HTTPStatus.OK


def test_full_access_token_reaches_everything(ado, http_for, alice_identity, org_url):
    http = http_for(ado.issue_pat(alice_identity, scopes="app_token"))
    assert http.delete(f"{org_url}/_apis/projects/{NIL}", params=V71).status_code == HTTPStatus.NOT_FOUND
    assert http.get(f"{ado.base_url}/_vsaex/fabrikam/_apis/userentitlements", params=V71).status_code == HTTPStatus.OK


def test_public_org_gives_anonymous_only_connection_data(ado, http_for):
    ado.add_org("opensource", public_projects=True)
    url = ado.org_url("opensource")
    for http in (http_for(None), http_for("garbage")):
        data = connection_data(http, url)
        assert data.status_code == HTTPStatus.OK
        assert data.json()["authenticatedUser"]["id"] == ANONYMOUS_ID
        assert "X-VSS-UserData" not in data.headers
        projects = http.get(f"{url}/_apis/projects", params=V71)
        assert projects.status_code == HTTPStatus.UNAUTHORIZED
        assert projects.json()["message"].startswith("TF400813: Resource not available for anonymous access")


def test_public_org_still_authenticates_a_good_token(ado, http_for, alice_identity):
    ado.add_org("opensource", public_projects=True)
    ado.add_member(alice_identity, "opensource")
    token = ado.issue_pat(alice_identity, orgs=None)
    data = connection_data(http_for(token), ado.org_url("opensource"))
    assert data.json()["authenticatedUser"]["id"] == alice_identity.id


def test_request_log_holds_no_token_or_authorization(ado, alice_pat, alice_http, org_url, alice_identity):
    connection_data(alice_http, org_url)
    entry = ado.requests[-1]
    assert entry.identity_id == alice_identity.id
    assert entry.status == HTTPStatus.OK
    assert alice_pat not in repr(ado.requests)
    assert alice_pat not in repr(ado.pat_info(alice_pat))
    assert "authorization" not in repr(entry).lower()
