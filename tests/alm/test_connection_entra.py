"""A connection's Sign in with Microsoft settings in the admin, and the connection acting as its service principal."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import connection as db
from django.urls import reverse

from ado_emulator.entra import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from alm.models import AlmConnection
from tests.alm.conftest import PROJECT
from tests.entra_helpers import change_title, configure_entra, entra_settings  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("entra_settings")]

ADD_URL = reverse("admin:alm_almconnection_add")


def form_data(ado, **overrides) -> dict[str, str]:
    values = ado.entra.config()
    data = {
        "name": "Fabrikam",
        "kind": "services",
        "url": ado.org_url("fabrikam"),
        "default_project": PROJECT,
        "token": "",
        "is_default": "on",
        "allow_service_account_fallback": "on",
        "credential_types": "both",
        "entra_tenant_id": values["tenant_id"],
        "entra_client_id": values["client_id"],
        "entra_secret": values["client_secret"],
        "service_identity": "token",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def raw_secret_column(pk: int) -> bytes:
    with db.cursor() as cursor:
        cursor.execute("SELECT entra_client_secret FROM alm_almconnection WHERE id = %s", [pk])
        return bytes(cursor.fetchone()[0])


def test_admin_saves_the_app_registration_with_the_secret_encrypted_and_never_shown(admin_client, ado, service_token):
    response = admin_client.post(ADD_URL, form_data(ado, token=service_token))
    assert response.status_code == HTTPStatus.FOUND, response.context["adminform"].form.errors
    saved = AlmConnection.objects.get()
    assert saved.offers_entra
    assert saved.offers_tokens
    assert saved.entra_client_secret == DEMO_CLIENT_SECRET
    assert DEMO_CLIENT_SECRET.encode() not in raw_secret_column(saved.pk)
    page = admin_client.get(reverse("admin:alm_almconnection_change", args=[saved.pk])).content.decode()
    assert DEMO_CLIENT_SECRET not in page
    assert "A client secret is saved (hidden)" in page
    assert reverse("entra_callback") in page
    assert "vso.work_full" in page
    assert "vso.pats_manage" in page


def test_wrong_client_secret_is_refused_with_entras_reason(admin_client, ado, service_token):
    response = admin_client.post(ADD_URL, form_data(ado, token=service_token, entra_secret="not-the-secret"))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "AADSTS7000215" in page
    assert "not-the-secret" not in page
    assert not AlmConnection.objects.exists()


def test_server_connection_offers_no_entra_option(admin_client, ado, service_token):
    server = ado.add_org("tfs", kind="server", collection_path="tfs/DefaultCollection")
    response = admin_client.post(
        ADD_URL, form_data(ado, token=service_token, kind="server", url=ado.org_url(server.name))
    )
    assert response.status_code == HTTPStatus.OK
    assert "Azure DevOps Server has no Sign in with Microsoft" in response.content.decode()
    assert not AlmConnection.objects.exists()


def test_client_id_must_be_a_guid(admin_client, ado, service_token):
    response = admin_client.post(ADD_URL, form_data(ado, token=service_token, entra_client_id="almlink"))
    assert "The application (client) ID is a GUID" in response.content.decode()


def test_connection_acting_as_service_principal_needs_no_service_token(admin_client, ado):
    ado.entra.add_service_principal()
    response = admin_client.post(ADD_URL, form_data(ado, service_identity="entra_app"))
    assert response.status_code == HTTPStatus.FOUND, response.context["adminform"].form.errors
    saved = AlmConnection.objects.get()
    assert saved.acts_as_service_principal
    assert not saved.service_token
    assert saved.last_test_ok is True
    assert saved.last_test_identity_name == ado.entra.apps[DEMO_CLIENT_ID].name


def test_service_principal_acts_as_the_fallback_for_users_without_a_credential(ado, alice):
    ado.entra.add_service_principal()
    connection = AlmConnection.objects.create(
        name="Fabrikam", kind="services", url=ado.org_url("fabrikam"), default_project=PROJECT, is_default=True
    )
    configure_entra(connection, ado, service_identity="entra_app")
    actor, _item = change_title(alice, connection, ado, "Changed by the app")
    assert actor.kind == "service_account"
    changed_by = ado.work_item_revisions("fabrikam", 1)[-1]["changed_by"]
    assert changed_by["id"] == ado.entra.apps[DEMO_CLIENT_ID].service_principal_id


def test_test_connection_also_tests_the_app_registration(admin_client, ado, service_token):
    connection = AlmConnection.objects.create(
        name="Fabrikam", kind="services", url=ado.org_url("fabrikam"), service_token=service_token
    )
    configure_entra(connection, ado)
    response = admin_client.post(reverse("admin:alm_almconnection_test", args=[connection.pk]), follow=True)
    assert "Entra ID issued the application a token" in response.content.decode()
    configure_entra(connection, ado, entra_client_secret="wrong")
    response = admin_client.post(reverse("admin:alm_almconnection_test", args=[connection.pk]), follow=True)
    assert "Sign in with Microsoft is not ready" in response.content.decode()
