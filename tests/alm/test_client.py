"""The Azure DevOps client against the emulator over real HTTP: answers, failures, routing, concurrency."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alm.check import check_token
from alm.client import AdoClient, is_trusted_location
from alm.exceptions import (
    Conflict,
    NotFound,
    PermissionMissing,
    RequestTimedOut,
    ServiceFailing,
    Throttled,
    TokenExpired,
    TokenRejected,
    UnexpectedAnswer,
    Unreachable,
)
from alm.scopes import PERMISSIONS_BY_KEY, REQUIRED_PERMISSIONS, WORK_ITEMS
from tests.alm.conftest import ALL_SCOPES, PROJECT
from tests.security.support import closed_port

_test_started = [0.0]


@pytest.fixture(autouse=True)
def _note_test_start(ado):
    _test_started[0] = time.monotonic()


def this_tests_requests(ado):
    """This test's requests. The emulator logs a request before answering it, so every answered request is
    already there; a request of an earlier test still hanging in a fault is logged when it wakes, hence the filter."""
    return [record for record in ado.requests if record.started >= _test_started[0]]


def api_paths(ado, method: str | None = None) -> list[str]:
    return [record.path for record in this_tests_requests(ado) if method is None or record.method == method]


# --- Who am I --------------------------------------------------------------------------------------------


def test_connection_data_names_the_token_owner(ado, make_client, service_token, demo):
    identity = make_client(service_token).connection_data()

    assert identity.display_name == "ALM Service Account"
    assert identity.email == "almlink-svc@fabrikam.example"
    assert identity.id == demo["ALM Service Account"]["id"]
    assert identity.subject_descriptor == demo["ALM Service Account"]["subject_descriptor"]


def test_every_call_carries_api_version(ado, make_client, service_token):
    check_token(make_client(service_token), project=PROJECT)

    records = this_tests_requests(ado)
    assert all(record.query.get("api-version") for record in records)


def test_last_activity_id_is_kept_for_audit(make_client, service_token):
    client = make_client(service_token)
    client.connection_data()

    assert uuid.UUID(client.last_activity_id)


# --- Token failures --------------------------------------------------------------------------------------


def test_unknown_token_is_rejected_as_not_accepted(make_client):
    with pytest.raises(TokenRejected) as caught:
        make_client("x" * 52).connection_data()

    assert caught.value.reason == "unknown"
    assert "unknown, revoked, or made for another organization" in caught.value.message


def test_revoked_token_is_rejected_as_revoked(ado, make_client, alice_token):
    ado.revoke_pat(alice_token)

    with pytest.raises(TokenRejected) as caught:
        make_client(alice_token).connection_data()

    assert caught.value.reason == "revoked"
    assert "revoked" in caught.value.message


def test_expired_token_raises_token_expired(ado, make_client, alice_token):
    ado.expire_pat(alice_token)

    with pytest.raises(TokenExpired) as caught:
        check_token(make_client(alice_token), project=PROJECT)

    assert "expired" in caught.value.message


def test_token_made_for_another_organization_is_rejected(ado, make_client, carol):
    ado.add_org("contoso")
    ado.add_member(carol, "contoso")
    token = ado.issue_pat(carol, scopes=ALL_SCOPES, orgs=("contoso",))

    with pytest.raises(TokenRejected) as caught:
        make_client(token).connection_data()

    assert caught.value.reason == "unknown"


def test_anonymous_identity_of_public_organization_is_rejected(ado, make_client):
    ado.add_org("opensource", public_projects=True)

    with pytest.raises(TokenRejected) as caught:
        make_client("y" * 52, url=ado.org_url("opensource")).connection_data()

    assert caught.value.reason == "anonymous"
    assert "anonymous" in caught.value.message


def test_sign_in_page_is_a_rejection_never_success(ado, make_client, service_token):
    ado.set_fault("sign_in", path="connectionData")

    with pytest.raises(TokenRejected) as caught:
        make_client(service_token).connection_data()

    assert caught.value.reason == "sign_in_page"


def test_token_with_spaces_is_refused_before_any_call(ado, make_client):
    with pytest.raises(TokenRejected) as caught:
        make_client("not a token")

    assert caught.value.reason == "malformed"
    assert this_tests_requests(ado) == []


# --- Answers that are errors -----------------------------------------------------------------------------


def test_missing_scope_on_a_call_names_the_permission(ado, make_client, carol):
    token = ado.issue_pat(carol, scopes="vso.profile")

    with pytest.raises(PermissionMissing) as caught:
        make_client(token).get_work_item(1, project=PROJECT)

    assert caught.value.permission is WORK_ITEMS
    assert "Work Items (Read, write, & manage)" in caught.value.message


def test_unknown_work_item_is_not_found(make_client, service_token):
    with pytest.raises(NotFound) as caught:
        make_client(service_token).get_work_item(987654, project=PROJECT)

    assert "Work item 987654" in caught.value.message


def test_stale_revision_is_a_conflict_with_the_current_revision(make_client, service_token):
    client = make_client(service_token)
    item = client.get_work_item(3, project=PROJECT)
    client.update_work_item(3, rev=item.rev, fields={"System.Title": "First edit"}, project=PROJECT)

    with pytest.raises(Conflict) as caught:
        client.update_work_item(3, rev=item.rev, fields={"System.Title": "Second edit"}, project=PROJECT)

    assert caught.value.current_rev == item.rev + 1
    assert client.get_work_item(3, project=PROJECT).title == "First edit"


def test_throttled_read_reports_retry_after(ado, make_client, service_token):
    ado.set_fault("throttle", path="connectionData", retry_after=30)

    with pytest.raises(Throttled) as caught:
        make_client(service_token).connection_data()

    assert caught.value.retry_after == 30
    assert "30 seconds" in caught.value.message


def test_read_is_retried_once_after_a_short_retry_after(ado, make_client, service_token):
    waits: list[float] = []
    ado.set_fault("throttle", path="connectionData", retry_after=2, count=1)

    identity = make_client(service_token, sleep=waits.append).connection_data()

    assert identity.display_name == "ALM Service Account"
    assert waits == [2.0]
    # Logged as answered, so the order of the two entries may vary.
    assert sorted(record.status for record in this_tests_requests(ado)) == [200, 429]


def test_read_throttled_twice_gives_up_after_one_retry(ado, make_client, service_token):
    ado.set_fault("throttle", path="connectionData", retry_after=1)

    with pytest.raises(Throttled):
        make_client(service_token, sleep=lambda seconds: None).connection_data()

    assert len(this_tests_requests(ado)) == 2


def test_write_is_never_retried(ado, make_client, service_token):
    waits: list[float] = []
    ado.set_fault("throttle", method="PATCH", retry_after=1)

    with pytest.raises(Throttled):
        make_client(service_token, sleep=waits.append).update_work_item(
            3, rev=1, fields={"System.Title": "x"}, project=PROJECT
        )

    assert waits == []
    assert len(api_paths(ado, "PATCH")) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_mean_azure_devops_is_failing(ado, make_client, service_token, status):
    ado.set_fault("status", path="connectionData", status=status)

    with pytest.raises(ServiceFailing) as caught:
        make_client(service_token).connection_data()

    assert caught.value.status == status
    assert f"HTTP {status}" in caught.value.message


def test_stopped_collection_message_is_passed_on(ado, make_client, service_token):
    ado.set_fault("status", path="connectionData", status=503)

    with pytest.raises(ServiceFailing) as caught:
        make_client(service_token).connection_data()

    assert "TF24668" in caught.value.message


def test_hanging_server_times_out_quickly(ado, make_client, service_token):
    # The hang outlasts the timeout tenfold: without the timeout the call would get its answer, not this error.
    ado.set_fault("hang", path="connectionData", seconds=3)

    with pytest.raises(RequestTimedOut) as caught:
        make_client(service_token, timeout=0.3).connection_data()

    assert "0.3 seconds" in caught.value.message


def test_refused_connection_is_unreachable(make_client, service_token):
    with pytest.raises(Unreachable) as caught:
        make_client(service_token, url=f"http://127.0.0.1:{closed_port()}/fabrikam").connection_data()

    assert caught.value.reason == "refused"


def test_unknown_host_is_unreachable_by_dns(make_client, service_token):
    with pytest.raises(Unreachable) as caught:
        make_client(service_token, url="http://nonexistent.invalid/fabrikam").connection_data()

    assert caught.value.reason == "dns"


def test_tls_to_a_plain_http_port_is_unreachable_by_tls(ado, make_client, service_token):
    with pytest.raises(Unreachable) as caught:
        make_client(service_token, url=ado.org_url("fabrikam").replace("http://", "https://")).connection_data()

    assert caught.value.reason == "tls"


def test_connection_reset_is_unreachable(ado, make_client, service_token):
    ado.set_fault("reset", path="connectionData")

    with pytest.raises(Unreachable) as caught:
        make_client(service_token).connection_data()

    assert caught.value.reason == "connection_lost"


def test_malformed_json_is_an_unexpected_answer(ado, make_client, service_token):
    ado.set_fault("malformed_json", path="connectionData")

    with pytest.raises(UnexpectedAnswer) as caught:
        make_client(service_token).connection_data()

    assert "not valid JSON" in caught.value.message


def test_truncated_answer_is_an_unexpected_answer(ado, make_client, service_token):
    ado.set_fault("truncated", path="connectionData")

    with pytest.raises(UnexpectedAnswer) as caught:
        make_client(service_token).connection_data()

    assert "cut off" in caught.value.message


# --- Checking a token: the five probes -------------------------------------------------------------------


def test_demo_service_account_holds_all_five_permissions(make_client, service_token):
    report = check_token(make_client(service_token), project=PROJECT)

    assert report.ok
    assert report.identity.display_name == "ALM Service Account"
    assert [result.permission for result in report.permissions] == list(REQUIRED_PERMISSIONS)
    assert report.missing == ()


@pytest.mark.parametrize("permission", REQUIRED_PERMISSIONS, ids=lambda permission: permission.key)
def test_each_probe_detects_its_permission_absent(ado, make_client, carol, permission):
    scopes = " ".join(other.scope for other in REQUIRED_PERMISSIONS if other is not permission)
    report = check_token(make_client(ado.issue_pat(carol, scopes=scopes)), project=PROJECT)

    assert report.missing == (permission,)
    assert not report.ok
    result = next(result for result in report.permissions if result.permission is permission)
    assert permission.ado_name in result.detail


@pytest.mark.parametrize("permission", REQUIRED_PERMISSIONS, ids=lambda permission: permission.key)
def test_each_probe_detects_its_permission_present(ado, make_client, carol, permission):
    report = check_token(make_client(ado.issue_pat(carol, scopes=permission.scope)), project=PROJECT)

    granted = {result.permission for result in report.permissions if result.granted}
    assert granted == {permission}


def test_full_access_token_holds_everything(ado, make_client, carol):
    assert check_token(make_client(ado.issue_pat(carol, scopes="app_token")), project=PROJECT).ok


def test_probes_change_nothing(ado, make_client, service_token):
    before = [ado.work_item("fabrikam", item_id)["rev"] for item_id in range(1, 6)]

    check_token(make_client(service_token), project=PROJECT)

    assert [ado.work_item("fabrikam", item_id)["rev"] for item_id in range(1, 6)] == before
    assert [project.name for project in make_client(service_token).list_projects()] == ["Fabrikam Fiber"]
    assert not any(record.method in ("PATCH", "PUT") for record in this_tests_requests(ado))


def test_project_list_follows_continuation_tokens_through_150_projects(ado, make_client, service_token):
    for n in range(149):
        ado.add_project("fabrikam", f"Project {n:03d}")
    ado.clear_requests()

    projects = make_client(service_token).list_projects()

    assert len({project.name for project in projects}) == 150
    calls = [r for r in ado.requests if r.path.endswith("/_apis/projects")]
    assert [r.query.get("continuationToken") for r in calls] == [None, "100"]


def test_token_administration_of_a_non_administrator_is_present_but_limited(ado, make_client, carol):
    report = check_token(make_client(ado.issue_pat(carol, scopes=ALL_SCOPES)), project=PROJECT)

    token_admin = next(r for r in report.permissions if r.permission.key == "token_admin")
    assert token_admin.granted is True
    assert "not an organization administrator" in token_admin.detail
    ado.set_org_admin(carol)
    again = check_token(make_client(ado.issue_pat(carol, scopes=ALL_SCOPES, display_name="second")), project=PROJECT)
    assert next(r for r in again.permissions if r.permission.key == "token_admin").detail == "Confirmed."


def test_work_write_is_reported_short_of_manage_when_the_tokens_api_tells(ado, make_client, carol):
    scopes = ALL_SCOPES.replace("vso.work_full", "vso.work_write")

    report = check_token(make_client(ado.issue_pat(carol, scopes=scopes)), project=PROJECT)

    result = next(result for result in report.permissions if result.permission is WORK_ITEMS)
    assert result.granted is False
    assert "Read, write, & manage" in result.detail


def test_work_write_is_reported_honestly_when_scopes_are_unknown(ado, make_client, carol):
    token = ado.issue_pat(carol, scopes="vso.work_write vso.project_manage")

    report = check_token(make_client(token), project=PROJECT)

    result = next(result for result in report.permissions if result.permission is WORK_ITEMS)
    assert result.granted is True
    assert "cannot tell" in result.detail
    assert report.token_scopes is None


def test_work_item_probe_uses_first_project_without_a_default(ado, make_client, service_token):
    report = check_token(make_client(service_token), project=None)

    assert report.ok
    assert "/fabrikam/Fabrikam Fiber/_apis/wit/workitems/$Task" in api_paths(ado, "POST")


# --- Expiry ----------------------------------------------------------------------------------------------


def test_expiry_read_from_the_token_named_almlink(ado, make_client, carol):
    valid_to = datetime.now(tz=UTC) + timedelta(days=30)
    ado.issue_pat(carol, scopes="vso.code", display_name="git on laptop")
    token = ado.issue_pat(carol, scopes=ALL_SCOPES, valid_to=valid_to, display_name="AlmLink")

    report = check_token(make_client(token), project=PROJECT)

    assert report.token_name == "AlmLink"
    assert abs((report.expires_on - valid_to).total_seconds()) < 1
    assert report.token_scopes == frozenset(ALL_SCOPES.split())


def test_expiry_comes_from_the_token_in_use_among_revoked_expired_and_other_tokens(ado, make_client, carol):
    now = datetime.now(tz=UTC)
    ado.revoke_pat(ado.issue_pat(carol, scopes=ALL_SCOPES, valid_to=now + timedelta(days=300)))
    ado.expire_pat(ado.issue_pat(carol, scopes=ALL_SCOPES, valid_to=now + timedelta(days=200)))
    ado.issue_pat(carol, scopes="vso.code", valid_to=now + timedelta(days=100), display_name="ci")
    valid_to = now + timedelta(days=45)
    token = ado.issue_pat(carol, scopes=ALL_SCOPES, valid_to=valid_to)

    report = check_token(make_client(token), project=PROJECT)

    assert report.token_name == "almlink"
    assert abs((report.expires_on - valid_to).total_seconds()) < 1
    assert report.expiry_note == ""


def test_expiry_of_single_unnamed_token_is_known(ado, make_client, carol):
    token = ado.issue_pat(carol, scopes=ALL_SCOPES, display_name="my token")

    report = check_token(make_client(token), project=PROJECT)

    assert report.expires_on is not None
    assert report.token_name == "my token"


def test_expiry_picked_by_scopes_among_several_unnamed_tokens(ado, make_client, carol):
    ado.issue_pat(carol, scopes="vso.tokens", display_name="other")
    token = ado.issue_pat(carol, scopes=ALL_SCOPES, display_name="mine")

    report = check_token(make_client(token), project=PROJECT)

    assert report.token_name == "mine"


def test_expiry_unknown_when_two_almlink_tokens_look_alike(ado, make_client, carol):
    ado.issue_pat(carol, scopes=ALL_SCOPES)
    token = ado.issue_pat(carol, scopes=ALL_SCOPES)

    report = check_token(make_client(token), project=PROJECT)

    assert report.expires_on is None
    assert "2 valid tokens" in report.expiry_note


def test_expiry_unknown_without_tokens_permission(ado, make_client, carol):
    scopes = ALL_SCOPES.replace("vso.tokens", "")

    report = check_token(make_client(ado.issue_pat(carol, scopes=scopes)), project=PROJECT)

    assert report.expires_on is None
    assert "Tokens permission" in report.expiry_note


# --- Service locations (ResourceAreas) -------------------------------------------------------------------


def test_cloud_services_are_found_through_resource_areas(ado, make_client, service_token):
    check_token(make_client(service_token), project=PROJECT)

    paths = api_paths(ado)
    assert "/_vssps/fabrikam/_apis/Token/SessionTokens" in paths
    assert any(path.startswith("/_vssps/fabrikam/_apis/tokenadmin/") for path in paths)
    assert "/_vsaex/fabrikam/_apis/userentitlements" in paths
    assert paths.count("/fabrikam/_apis/ResourceAreas") == 1


def test_resource_areas_are_looked_up_once_per_connection(ado, make_client, service_token, alice_token):
    check_token(make_client(service_token), project=PROJECT)
    check_token(make_client(alice_token), project=PROJECT)

    assert api_paths(ado).count("/fabrikam/_apis/ResourceAreas") == 1


def test_server_collection_checks_a_good_token_as_good_without_member_entitlements(ado, make_client, carol):
    ado.add_org("DefaultCollection", kind="server", collection_path="tfs/DefaultCollection")
    ado.add_member(carol, "DefaultCollection")
    ado.add_project("DefaultCollection", "Fabrikam Fiber")
    token = ado.issue_pat(carol, scopes=ALL_SCOPES, orgs=None)
    url = ado.org_url("DefaultCollection")
    assert url.endswith("/tfs/DefaultCollection")

    report = check_token(make_client(token, url=url, kind="server"), project=None)

    assert report.ok
    assert report.undetermined == ()
    entitlements = next(r for r in report.permissions if r.permission.key == "member_entitlements")
    assert (entitlements.granted, entitlements.applies) == (None, False)
    assert "Not applicable" in entitlements.detail
    assert all(r.granted is True for r in report.permissions if r is not entitlements)
    paths = api_paths(ado)
    assert "/tfs/DefaultCollection/_apis/userentitlements" not in paths  # Server has no such API: not asked
    assert "/tfs/DefaultCollection/_apis/ResourceAreas" in paths
    assert all(path.startswith("/tfs/DefaultCollection/") for path in paths)
    assert "/tfs/DefaultCollection/_apis/Token/SessionTokens" in paths


@pytest.mark.parametrize(
    ("location", "trusted"),
    [
        ("https://vssps.dev.azure.com/fabrikam/", True),
        ("https://vsaex.dev.azure.com/fabrikam/", True),
        ("https://dev.azure.com/fabrikam/", True),
        ("http://vssps.dev.azure.com/fabrikam/", False),
        ("https://vssps.evil.example/fabrikam/", False),
        ("https://dev.azure.com.evil.example/fabrikam/", False),
        ("https://vssps.dev.azure.com:8443/fabrikam/", False),
    ],
)
def test_token_only_travels_to_sibling_service_hosts(location, trusted):
    assert is_trusted_location("https://dev.azure.com/fabrikam", location) is trusted


def test_server_locations_must_stay_on_the_same_host_and_port():
    assert is_trusted_location("https://tfs.example:8443/tfs/Main", "https://tfs.example:8443/tfs/Main/")
    assert not is_trusted_location("https://tfs.example:8443/tfs/Main", "https://other.example:8443/tfs/Main/")


# --- Concurrency -----------------------------------------------------------------------------------------


def test_token_check_sends_its_calls_at_once(ado, make_client, service_token):
    client = make_client(service_token)
    check_token(client, project=PROJECT)  # the service locations are discovered once per connection
    ado.clear_requests()
    # Each call takes long enough that calls made one after another could not overlap by chance.
    ado.set_fault("latency", seconds=0.3)

    report = check_token(client, project=PROJECT)

    assert report.ok
    records = this_tests_requests(ado)
    assert len(records) == 6  # connectionData and the five probes
    # Every request was in flight at the same moment: they overlap (how long it took is `make bench`'s business).
    assert max(record.started for record in records) < min(record.ended for record in records)


# --- Projects and work items -----------------------------------------------------------------------------


def test_projects_are_listed(make_client, service_token):
    assert [project.name for project in make_client(service_token).list_projects()] == ["Fabrikam Fiber"]


def test_wiql_returns_ids_in_a_project_with_a_space_in_its_name(make_client, service_token):
    ids = make_client(service_token).query_work_item_ids(
        project=PROJECT,
        wiql="SELECT [System.Id] FROM WorkItems WHERE [System.WorkItemType] = 'Task' ORDER BY [System.Id]",
    )

    assert ids
    assert ids == sorted(ids)


def test_work_items_are_read_200_per_request(ado, make_client, service_token):
    wanted = list(range(1, 451))

    items = make_client(service_token).get_work_items(wanted, project=PROJECT)

    assert [item.id for item in items] == sorted(item.id for item in items)
    assert {item.id for item in items} <= set(wanted)
    assert len(items) >= 25
    batches = [record for record in this_tests_requests(ado) if record.path.endswith("/_apis/wit/workitems")]
    assert sorted(len(record.query["ids"].split(",")) for record in batches) == [50, 200, 200]


def test_work_item_fields_are_typed(make_client, service_token):
    item = make_client(service_token).get_work_item(1, project=PROJECT)

    assert item.title
    assert item.rev >= 1
    assert item.changed_by is not None
    assert item.changed_by.display_name
    assert item.changed_date is not None
    assert item.changed_date.tzinfo is not None


def test_update_is_made_as_the_token_owner(ado, make_client, alice_token, demo):
    client = make_client(alice_token)
    item = client.get_work_item(4, project=PROJECT)

    updated = client.update_work_item(4, rev=item.rev, fields={"System.Title": "Renamed by Alice"}, project=PROJECT)

    assert updated.rev == item.rev + 1
    assert updated.title == "Renamed by Alice"
    assert updated.changed_by.id == demo["Alice Example"]["id"]
    assert ado.work_item("fabrikam", 4)["fields"]["System.Title"] == "Renamed by Alice"


def test_delete_moves_the_item_to_the_recycle_bin(ado, make_client, service_token):
    make_client(service_token).delete_work_item(5, project=PROJECT)

    with pytest.raises(KeyError):
        ado.work_item("fabrikam", 5)
    assert ado.work_item_revisions("fabrikam", 5)  # still there, restorable
    delete = next(record for record in this_tests_requests(ado) if record.method == "DELETE")
    assert "destroy" not in delete.query


def test_client_repr_hides_the_token(make_client, service_token):
    client = make_client(service_token)

    assert service_token not in repr(client)
    assert "redacted" in repr(client)


def test_permission_lookup_by_key():
    assert PERMISSIONS_BY_KEY["work_items"] is WORK_ITEMS


def test_client_refuses_a_relative_url():
    with pytest.raises(ValueError, match="absolute"):
        AdoClient("dev.azure.com/fabrikam", "a" * 52, timeout=1)


# --- Redirects are never followed ------------------------------------------------------------------------


@pytest.fixture
def redirecting_server():
    """A loopback server standing for a proxy or misconfigured host that answers every call with a redirect."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            target = "/_signin?realm=x" if "signin" in self.path else "/elsewhere/_apis/connectionData"
            if self.path.startswith("/elsewhere"):
                target = "/"
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}{target}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_redirect_is_not_followed_so_the_token_stays_put(redirecting_server, make_client, service_token):
    base, seen = redirecting_server

    with pytest.raises(UnexpectedAnswer) as caught:
        make_client(service_token, url=f"{base}/fabrikam").connection_data()

    assert "redirect" in caught.value.message
    assert seen == ["/fabrikam/_apis/connectionData?api-version=7.1-preview.1"]


def test_redirect_to_a_sign_in_page_is_a_rejection(redirecting_server, make_client, service_token):
    base, _seen = redirecting_server

    with pytest.raises(TokenRejected) as caught:
        make_client(service_token, url=f"{base}/signin").connection_data()

    assert caught.value.reason == "sign_in_page"


def test_rate_limit_warning_on_success_is_logged_not_raised(ado, make_client, service_token, caplog):
    ado.set_fault("flag", path="connectionData", retry_after=5, resource="ATCPU")

    assert make_client(service_token).connection_data().display_name == "ALM Service Account"
    assert any("rate limit" in record.getMessage() for record in caplog.records)


def test_unknown_default_project_leaves_work_items_undetermined(make_client, service_token):
    report = check_token(make_client(service_token), project="No Such Project")

    result = next(result for result in report.permissions if result.permission is WORK_ITEMS)
    assert result.granted is None
    assert "No Such Project" in result.detail
    assert not report.ok
    assert report.undetermined == (WORK_ITEMS,)
