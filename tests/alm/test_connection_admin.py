"""The ALM connection in the Django admin, through the real test client and the emulator."""

from __future__ import annotations

import base64
from html import unescape
from http import HTTPStatus

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from alm.models import AlmConnection
from alm.scopes import REQUIRED_PERMISSIONS
from tests.alm.conftest import ALL_SCOPES, PROJECT
from tests.helpers import FIVE_PERMISSIONS

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:alm_almconnection_add")
LIST_URL = reverse("admin:alm_almconnection_changelist")


def change_url(connection: AlmConnection) -> str:
    return reverse("admin:alm_almconnection_change", args=[connection.pk])


def check_url(connection: AlmConnection) -> str:
    return reverse("admin:alm_almconnection_test", args=[connection.pk])


def form_data(ado, **overrides) -> dict[str, str]:
    data = {
        "name": "Fabrikam",
        "kind": "services",
        "url": ado.org_url("fabrikam") + "/",
        "default_project": PROJECT,
        "token": "",
        "is_default": "on",
        "allow_service_account_fallback": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def secret_forms(token: str) -> list[str]:
    return [token, base64.b64encode(f":{token}".encode()).decode()]


def assert_no_secret(html: str, *tokens: str) -> None:
    for token in tokens:
        for secret in secret_forms(token):
            assert secret not in html


@pytest.fixture
def connection(ado, service_token) -> AlmConnection:
    return AlmConnection.objects.create(
        name="Fabrikam",
        kind="services",
        url=ado.org_url("fabrikam"),
        service_token=service_token,
        default_project=PROJECT,
    )


def request_paths(ado) -> list[str]:
    return [record.path for record in ado.requests]


# --- Create ----------------------------------------------------------------------------------------------


def test_create_tests_the_token_and_stores_the_outcome(admin_client, ado, service_token):
    response = admin_client.post(ADD_URL, form_data(ado, token=service_token))

    assert response.status_code == HTTPStatus.FOUND
    connection = AlmConnection.objects.get()
    assert connection.url == ado.org_url("fabrikam")
    assert connection.service_token == service_token
    assert connection.is_default
    assert connection.last_test_ok is True
    assert connection.last_test_identity_name == "ALM Service Account"
    assert connection.last_test_identity_email == "almlink-svc@fabrikam.example"
    assert sorted(connection.last_test_permissions) == sorted(p.key for p in REQUIRED_PERMISSIONS)
    assert connection.last_test_expires_on is not None
    assert connection.service_account_name == "ALM Service Account"


def test_create_requires_a_token(admin_client, ado):
    response = admin_client.post(ADD_URL, form_data(ado))

    assert response.status_code == HTTPStatus.OK
    assert "This field is required." in response.content.decode()
    assert not AlmConnection.objects.exists()


def test_failing_token_asks_for_confirmation_before_saving(admin_client, ado, carol):
    token = ado.issue_pat(carol, scopes=ALL_SCOPES.replace("vso.tokenadministration", ""))

    response = admin_client.post(ADD_URL, form_data(ado, token=token))

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert not AlmConnection.objects.exists()
    assert "The token failed its test" in html
    assert "Token Administration (Read &amp; manage)" in html
    assert 'name="save_anyway"' in html
    assert_no_secret(html, token)


def test_save_anyway_stores_a_failing_token(admin_client, ado, carol):
    token = ado.issue_pat(carol, scopes="vso.work_full")

    response = admin_client.post(ADD_URL, form_data(ado, token=token, save_anyway="on"))

    assert response.status_code == HTTPStatus.FOUND
    connection = AlmConnection.objects.get()
    assert connection.service_token == token
    assert connection.last_test_ok is False
    assert connection.last_test_identity_name == "Carol Example"


def test_rejected_token_says_why(admin_client, ado):
    response = admin_client.post(ADD_URL, form_data(ado, token="z" * 52))

    assert "not accepted by this organization" in response.content.decode()
    assert not AlmConnection.objects.exists()


@pytest.mark.parametrize(
    ("url", "kind", "words"),
    [
        ("https://dev.azure.com/", "services", "organization name"),
        ("http://dev.azure.com/fabrikam", "services", "only reachable over https"),
        ("https://tfs.fabrikam.example/tfs/DefaultCollection", "services", "for your own server"),
        ("https://dev.azure.com/fabrikam", "server", "choose the kind"),
        ("http://tfs.fabrikam.example/tfs/DefaultCollection", "server", "ALM_ALLOW_INSECURE_SERVER_URLS"),
        ("https://tfs.fabrikam.example/tfs", "server", "collection"),
        ("https://user:pw@dev.azure.com/fabrikam", "services", "user name and password"),
    ],
)
def test_invalid_url_error_names_the_problem(admin_client, ado, service_token, url, kind, words):
    response = admin_client.post(ADD_URL, form_data(ado, url=url, kind=kind, token=service_token))

    assert response.status_code == HTTPStatus.OK
    assert words in response.content.decode()
    assert not AlmConnection.objects.exists()
    assert request_paths(ado) == []  # nothing is sent anywhere for an invalid URL


# --- Change and replace the token ------------------------------------------------------------------------


def test_blank_token_keeps_the_saved_one(admin_client, ado, connection, service_token):
    response = admin_client.post(change_url(connection), form_data(ado, name="Fabrikam (prod)"))

    assert response.status_code == HTTPStatus.FOUND
    connection.refresh_from_db()
    assert connection.name == "Fabrikam (prod)"
    assert connection.service_token == service_token
    assert request_paths(ado) == []  # nothing that matters for the token changed: no test


def test_replacing_the_token_tests_and_stores_the_new_one(admin_client, ado, connection, alice_token):
    response = admin_client.post(change_url(connection), form_data(ado, token=alice_token))

    assert response.status_code == HTTPStatus.FOUND
    connection.refresh_from_db()
    assert connection.service_token == alice_token
    assert connection.last_test_identity_name == "Alice Example"


def test_changing_the_url_without_the_token_is_refused_and_sends_nothing(admin_client, ado, connection, listener):
    response = admin_client.post(change_url(connection), form_data(ado, url=listener.url()))

    assert response.status_code == HTTPStatus.OK
    assert "type the service account token again" in response.content.decode()
    assert listener.authorizations == []
    connection.refresh_from_db()
    assert connection.url == ado.org_url("fabrikam")


def test_url_pasted_with_user_info_is_refused_and_not_shown_back(admin_client, ado, connection):
    response = admin_client.post(
        change_url(connection), form_data(ado, url="https://someone:secret-looking-part@dev.azure.com/fabrikam")
    )

    html = response.content.decode()
    assert "Remove the user name and password from the URL" in html
    assert "secret-looking-part" not in html
    assert 'value="https://dev.azure.com/fabrikam"' in html


def test_organization_name_error_does_not_quote_the_text(admin_client, ado, connection):
    response = admin_client.post(change_url(connection), form_data(ado, url="https://dev.azure.com/abc$defghijk"))

    assert "is not an organization name" in response.content.decode()
    assert "abc$defghijk" not in response.content.decode().replace('value="https://dev.azure.com/abc$defghijk"', "")


def test_test_button_tests_unsaved_edits_and_keeps_them(admin_client, ado, connection):
    data = form_data(ado, default_project="No Such Project", _test_connection="1")

    response = admin_client.post(change_url(connection), data)

    html = response.content.decode()
    assert "Tested only, nothing was saved" in html
    assert 'value="No Such Project"' in html
    connection.refresh_from_db()
    assert connection.default_project == PROJECT


def test_add_form_lists_the_five_permissions(admin_client):
    html = unescape(admin_client.get(reverse("admin:alm_almconnection_add")).content.decode())

    for words in FIVE_PERMISSIONS:
        assert words in html


def test_change_page_offers_replace_token_and_test_button(admin_client, connection):
    html = admin_client.get(change_url(connection)).content.decode()

    assert "Replace token" in html
    assert "Leave blank to keep the saved token" in html
    assert 'name="_test_connection"' in html
    assert "Test connection" in html


def test_token_never_appears_in_any_admin_page(admin_client, ado, connection, service_token, carol):
    narrow = ado.issue_pat(carol, scopes="vso.work_full")
    admin_client.post(check_url(connection))
    pages = [
        admin_client.get(LIST_URL),
        admin_client.get(change_url(connection)),
        admin_client.get(reverse("admin:alm_almconnection_history", args=[connection.pk])),
        admin_client.get(reverse("admin:alm_almconnection_delete", args=[connection.pk])),
        admin_client.get(ADD_URL),
        admin_client.post(ADD_URL, form_data(ado, name="Other", url=ado.org_url("fabrikam"), token=narrow)),
        admin_client.post(change_url(connection), form_data(ado, token=narrow)),
        admin_client.get(reverse("admin:index")),
    ]

    for page in pages:
        assert page.status_code == HTTPStatus.OK
        assert_no_secret(page.content.decode(), service_token, narrow)


# --- Test connection -------------------------------------------------------------------------------------


def test_test_button_shows_identity_permissions_expiry_and_time(admin_client, connection):
    response = admin_client.post(check_url(connection), follow=True)

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "ALM Service Account" in html
    for permission in REQUIRED_PERMISSIONS:
        assert f"{permission.ado_name} → {permission.access}".replace("&", "&amp;") in html
    assert html.count("✓ present") == len(REQUIRED_PERMISSIONS)
    assert "Expiry: 20" in html
    assert " ms" in html
    connection.refresh_from_db()
    assert connection.last_test_ok is True


def test_test_button_marks_missing_permission_with_a_cross(admin_client, ado, connection, carol):
    connection.service_token = ado.issue_pat(carol, scopes=ALL_SCOPES.replace("vso.project_manage", ""))
    connection.save()

    html = admin_client.post(check_url(connection), follow=True).content.decode()

    assert "✗ missing" in html
    assert "tick Project and Team → Read, write, &amp; manage" in html
    connection.refresh_from_db()
    assert connection.last_test_ok is False
    assert "project_team" not in connection.last_test_permissions


def test_test_button_reports_expired_token_with_its_date(admin_client, ado, connection, service_token):
    admin_client.post(check_url(connection))
    connection.refresh_from_db()
    expiry = connection.last_test_expires_on
    ado.expire_pat(service_token)

    html = admin_client.post(check_url(connection), follow=True).content.decode()

    assert f"expired on {expiry:%Y-%m-%d}" in html
    connection.refresh_from_db()
    assert connection.last_test_ok is False


def test_test_button_needs_post(admin_client, connection):
    assert admin_client.get(check_url(connection)).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_test_action_tests_each_selected_connection(admin_client, ado, connection, carol):
    ado.add_org("contoso")
    ado.add_member(carol, "contoso")
    other = AlmConnection.objects.create(
        name="Contoso", url=ado.org_url("contoso"), service_token=ado.issue_pat(carol, scopes="vso.work_full")
    )

    response = admin_client.post(
        LIST_URL, {"action": "test_connections", "_selected_action": [connection.pk, other.pk]}, follow=True
    )

    html = response.content.decode()
    assert "Fabrikam: token of ALM Service Account, 5/5 permissions" in html
    assert "Contoso: the test failed" in html
    assert AlmConnection.objects.get(pk=connection.pk).last_test_ok is True
    assert AlmConnection.objects.get(pk=other.pk).last_test_ok is False


# --- One active default ----------------------------------------------------------------------------------


def test_first_connection_becomes_the_default(connection):
    assert connection.is_default
    assert AlmConnection.objects.default() == connection


def test_new_default_demotes_the_old_one(admin_client, ado, connection, carol):
    ado.add_org("contoso")
    ado.add_member(carol, "contoso")
    token = ado.issue_pat(carol, scopes=ALL_SCOPES, orgs=("contoso",))
    ado.add_project("contoso", PROJECT)

    response = admin_client.post(ADD_URL, form_data(ado, name="Contoso", url=ado.org_url("contoso"), token=token))

    assert response.status_code == HTTPStatus.FOUND
    assert AlmConnection.objects.filter(is_default=True).count() == 1
    assert AlmConnection.objects.default().name == "Contoso"


def test_unticking_the_default_is_refused(admin_client, ado, connection):
    response = admin_client.post(change_url(connection), form_data(ado, is_default=None))

    assert "mark another connection as the default" in response.content.decode()
    connection.refresh_from_db()
    assert connection.is_default


def test_database_refuses_two_defaults(connection, ado):
    other = AlmConnection.objects.create(name="Other", url="https://dev.azure.com/other", service_token="t" * 52)
    assert not other.is_default

    with pytest.raises(IntegrityError), transaction.atomic():
        AlmConnection.objects.filter(pk=other.pk).update(is_default=True)


def test_deleting_the_default_promotes_another(connection):
    other = AlmConnection.objects.create(name="Other", url="https://dev.azure.com/other", service_token="t" * 52)

    connection.delete()

    other.refresh_from_db()
    assert other.is_default


def test_str_is_the_name_only(connection, service_token):
    assert str(connection) == "Fabrikam"
    assert service_token not in repr(connection)
