"""api-version handling (docs/azure-devops-behaviours.md §7)."""

from __future__ import annotations

from http import HTTPStatus

WIQL = {"query": "SELECT [System.Id] FROM WorkItems"}


def test_version_from_the_query_is_echoed_in_content_type(alice_http, org_url):
    response = alice_http.get(f"{org_url}/_apis/projects", params={"api-version": "7.1"})
    assert response.headers["Content-Type"] == "application/json; charset=utf-8; api-version=7.1"


def test_version_from_the_accept_header_is_echoed_in_content_type(alice_http, org_url):
    response = alice_http.get(f"{org_url}/_apis/projects", headers={"Accept": "application/json;api-version=7.0"})
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Content-Type"] == "application/json; charset=utf-8; api-version=7.0"


def test_accept_header_version_with_spaces_and_preview(alice_http, org_url):
    response = alice_http.get(
        f"{org_url}/_apis/connectionData", headers={"Accept": "application/json; api-version=5.0-preview.1"}
    )
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Content-Type"].endswith("api-version=5.0-preview.1")


def test_post_without_version_is_the_real_400(alice_http, org_url):
    response = alice_http.post(f"{org_url}/_apis/wit/wiql", json=WIQL)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "$id": "1",
        "innerException": None,
        "message": 'No api-version was supplied for the "POST" request. The version must be supplied either as '
        'part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter '
        '(e.g. "?api-version=1.0").',
        "typeName": "Microsoft.VisualStudio.Services.WebApi.VssVersionNotSpecifiedException, "
        "Microsoft.VisualStudio.Services.WebApi",
        "typeKey": "VssVersionNotSpecifiedException",
        "errorCode": 0,
        "eventId": 3000,
    }


def test_delete_without_version_names_the_method(alice_http, org_url):
    response = alice_http.delete(f"{org_url}/_apis/projects/00000000-0000-0000-0000-000000000000")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert 'for the "DELETE" request' in response.json()["message"]


def test_get_without_version_is_allowed_unless_configured_otherwise(ado, alice_http, org_url):
    allowed = alice_http.get(f"{org_url}/_apis/projects")
    ado.configure(allow_get_without_api_version=False)
    refused = alice_http.get(f"{org_url}/_apis/projects")
    assert allowed.status_code == HTTPStatus.OK
    assert allowed.headers["Content-Type"] == "application/json; charset=utf-8; api-version=7.1"
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert refused.json()["typeKey"] == "VssVersionNotSpecifiedException"


def test_version_above_the_services_maximum_is_out_of_range(alice_http, org_url):
    response = alice_http.get(f"{org_url}/_apis/projects", params={"api-version": "7.3"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["message"] == (
        "The requested REST API version of 7.3 is out of range for this server. "
        "The latest REST API version this server supports is 7.2."
    )


def test_server_kind_has_its_own_maximum(ado, http_for, svc_identity):
    ado.add_org("Server2022", kind="server", collection_path="tfs/Server2022", max_api_version="7.0")
    ado.add_member(svc_identity, "Server2022")
    http = http_for(ado.issue_pat(svc_identity, scopes="app_token", orgs=None))
    url = ado.org_url("Server2022")
    refused = http.get(f"{url}/_apis/projects", params={"api-version": "7.1"})
    accepted = http.get(f"{url}/_apis/projects", params={"api-version": "7.0"})
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert refused.json()["message"] == (
        "The requested REST API version of 7.1 is out of range for this server. "
        "The latest REST API version this server supports is 7.0."
    )
    assert accepted.status_code == HTTPStatus.OK


def test_preview_only_resource_needs_the_preview_flag(ado, alice_http, org_url):
    plain = alice_http.get(f"{org_url}/_apis/connectionData", params={"api-version": "7.1"})
    assert plain.status_code == HTTPStatus.BAD_REQUEST
    assert plain.json()["typeKey"] == "VssInvalidPreviewVersionException"
    assert "-preview flag must be supplied" in plain.json()["message"]
    ado.configure(require_preview_flag=False)
    assert alice_http.get(f"{org_url}/_apis/connectionData", params={"api-version": "7.1"}).status_code == 200


def test_released_resource_refuses_a_newer_plain_version_but_takes_its_preview(alice_http, org_url):
    plain = alice_http.get(f"{org_url}/_apis/projects", params={"api-version": "7.2"})
    preview = alice_http.get(f"{org_url}/_apis/projects", params={"api-version": "7.2-preview.4"})
    assert plain.status_code == HTTPStatus.BAD_REQUEST
    assert preview.status_code == HTTPStatus.OK


def test_malformed_version_is_400(alice_http, org_url):
    response = alice_http.get(f"{org_url}/_apis/projects", params={"api-version": "latest"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["typeKey"] == "VssInvalidApiResourceVersionException"


def test_errors_do_not_echo_a_version(alice_http, org_url):
    response = alice_http.get(f"{org_url}/_apis/projects/Nope", params={"api-version": "7.1"})
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_options_needs_no_version(alice_http, org_url):
    assert alice_http.options(f"{org_url}/_apis").status_code == HTTPStatus.OK
