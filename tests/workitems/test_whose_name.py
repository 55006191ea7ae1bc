"""Whose name is on a change: foreign tokens never act, tokens stay at their address, Azure DevOps has the last word."""

from __future__ import annotations

import base64
import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from alm.models import AlmConnection
from profiles.lifecycle import check_all_tokens
from profiles.models import AlmCredential
from tests.helpers import SERVICE_EMAIL, demo_identity, demo_item_ids, text_of
from workitems.models import AuditRecord

pytestmark = pytest.mark.django_db
CREDENTIALS = reverse("alm_credentials")


def _save(client, connection, token, action="save"):
    return client.post(CREDENTIALS, {"connection": connection.pk, "token": token, "action": action})


def _edit(client, item_id, title):
    page = client.get(reverse("work_item_edit", args=[item_id])).content.decode()
    rev = re.search(r'name="rev" value="(\d+)"', page).group(1)
    actor = re.search(r'name="actor" value="([a-z_]*)"', page).group(1)
    state = re.search(r'<option value="([^"]+)" selected', page).group(1)
    return client.post(
        reverse("work_item_edit", args=[item_id]), {"title": title, "state": state, "rev": rev, "actor": actor}
    )


def _changed_by(ado, item_id) -> str:
    return ado.work_item("fabrikam", item_id)["fields"]["System.ChangedBy"]["uniqueName"]


def test_foreign_token_saved_during_an_outage_never_acts_and_is_never_marked_working(
    alice_client, alice, connection, bob_pat, ado
):
    ado.set_fault("status", status=503)
    _save(alice_client, connection, bob_pat)
    _save(alice_client, connection, bob_pat, "save_unverified")
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.UNVERIFIED
    ado.clear_faults()
    item_id = demo_item_ids(ado)[0]

    page = text_of(alice_client.get(reverse("work_item_edit", args=[item_id])).content.decode())
    response = _edit(alice_client, item_id, "Renamed while Bob's token is saved")

    assert "as you," not in page
    assert response.status_code == HTTPStatus.FOUND
    assert _changed_by(ado, item_id) == SERVICE_EMAIL  # visibly the service account, never Bob
    credential = AlmCredential.objects.get(user=alice)
    assert credential.status == AlmCredential.Status.FOREIGN
    assert AuditRecord.objects.get().recorded_as.endswith(f"<{SERVICE_EMAIL}>")
    credentials_page = text_of(alice_client.get(CREDENTIALS).content.decode())
    assert "Another person's token" in credentials_page
    assert "belongs to Bob Example" in credentials_page


def test_test_connection_of_a_saved_foreign_token_marks_it_foreign_not_working(
    alice_client, alice, connection, bob_pat, ado
):
    ado.set_fault("status", status=503)
    _save(alice_client, connection, bob_pat, "save_unverified")
    ado.clear_faults()

    alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": "", "action": "test"})
    check_all_tokens(workers=1)

    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.FOREIGN
    assert "as you," not in text_of(alice_client.get(reverse("work_items")).content.decode())


def test_allowed_foreign_token_is_named_never_as_you(alice_client, connection, bob_pat, ado, settings):
    settings.ALM_ALLOW_FOREIGN_TOKENS = True
    _save(alice_client, connection, bob_pat)
    item_id = demo_item_ids(ado)[0]

    page = text_of(alice_client.get(reverse("work_item_edit", args=[item_id])).content.decode())
    follow = _edit(alice_client, item_id, "Renamed with Bob's token")

    assert "recorded in Azure DevOps as Bob Example, the owner of the token you saved" in page
    assert "as you," not in page
    assert follow.status_code == HTTPStatus.FOUND
    message = text_of(alice_client.get(follow["Location"]).content.decode())
    assert "as Bob Example, the owner of the token you saved" in message
    assert _changed_by(ado, item_id) == "bob@fabrikam.example"


def test_change_recorded_under_another_identity_is_shown_audited_and_marks_the_token_foreign(
    alice_client, alice, alice_credential, alice_pat, ado
):
    item_id = demo_item_ids(ado)[0]
    ado.reassign_pat(alice_pat, demo_identity(ado, "bob@fabrikam.example")["id"])

    response = _edit(alice_client, item_id, "Renamed by a token that is Bob's now")

    assert response.status_code == HTTPStatus.OK
    assert "recorded this change under the name Bob Example <bob@fabrikam.example>, not as you" in text_of(
        response.content.decode()
    )
    record = AuditRecord.objects.get()
    assert (record.outcome, record.ado_identity, record.recorded_as) == (
        "mismatch",
        "Alice Example",
        "Bob Example <bob@fabrikam.example>",
    )
    assert record.recorded_as_id == demo_identity(ado, "bob@fabrikam.example")["id"]
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.FOREIGN


def test_delete_recorded_under_another_identity_is_detected(alice_client, alice, alice_credential, alice_pat, ado):
    item_id = demo_item_ids(ado)[0]
    ado.reassign_pat(alice_pat, demo_identity(ado, "bob@fabrikam.example")["id"])

    alice_client.post(reverse("work_item_delete", args=[item_id]), {"actor": "user"})

    assert AuditRecord.objects.get().outcome == "mismatch"
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.FOREIGN


def _carries(authorizations: list[str], token: str) -> bool:
    encoded = base64.b64encode(f":{token}".encode()).decode()
    return any(token in value or encoded in value for value in authorizations)


def test_after_a_move_no_user_token_reaches_the_new_address_until_its_owner_retests(
    admin_client, alice_client, alice, alice_credential, alice_pat, connection, listener, ado
):
    new_service_token = demo_identity(ado, SERVICE_EMAIL)["pat"]
    form = {
        "name": connection.name,
        "kind": "services",
        "url": listener.url(),
        "default_project": connection.default_project,
        "token": new_service_token,
        "is_default": "on",
        "allow_service_account_fallback": "on",
        "save_anyway": "on",
    }
    admin_client.post(reverse("admin:alm_almconnection_change", args=[connection.pk]), form)
    connection.refresh_from_db()
    assert connection.url == listener.url()

    for page in ("home", "work_items", "alm_credentials"):
        alice_client.get(reverse(page))
    alice_client.get(reverse("work_item_edit", args=[demo_item_ids(ado)[0]]))
    check_all_tokens(workers=1)

    assert listener.authorizations  # the service token (typed again) was used there
    assert not _carries(listener.authorizations, alice_pat)
    assert "Test again for the new address" in text_of(alice_client.get(CREDENTIALS).content.decode())
    assert 'data-state="retest"' in alice_client.get(reverse("home")).content.decode()

    alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": "", "action": "test"})
    assert _carries(listener.authorizations, alice_pat)  # her own Test Connection, and only that


def test_client_refuses_to_send_a_saved_token_elsewhere(alice_credential, connection, listener):
    from alm.exceptions import TokenNotBound
    from alm.services import client_for

    AlmConnection.objects.filter(pk=connection.pk).update(url=listener.url())
    connection.refresh_from_db()

    with pytest.raises(TokenNotBound):
        client_for(connection=connection, token=alice_credential.token, bound_to=alice_credential.origin)
    with pytest.raises(TokenNotBound):
        client_for(connection=connection)  # the service token was entered for the old address
    assert listener.authorizations == []


def test_url_or_token_change_leaves_an_admin_log_entry(admin_client, connection, ado):
    from django.contrib.admin.models import LogEntry

    token = demo_identity(ado, SERVICE_EMAIL)["pat"]
    form = {
        "name": connection.name,
        "kind": "services",
        "url": connection.url,
        "default_project": connection.default_project,
        "token": token,
        "is_default": "on",
        "allow_service_account_fallback": "on",
    }
    admin_client.post(reverse("admin:alm_almconnection_change", args=[connection.pk]), form)

    entry = LogEntry.objects.get(object_id=str(connection.pk))
    assert "token" in entry.get_change_message().lower()
    assert token not in entry.change_message
