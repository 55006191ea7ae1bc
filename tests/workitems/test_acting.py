"""Changes reach Azure DevOps as the person who made them (against the emulator)."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from profiles.models import AlmCredential
from tests.helpers import SERVICE_EMAIL, demo_identity, demo_item_ids, text_of
from workitems.models import AuditRecord

pytestmark = pytest.mark.django_db


def _first_item(ado) -> int:
    return demo_item_ids(ado)[0]


def _edit(client, item_id, *, title, state, rev, actor=None):
    """Post the edit form as the page rendered it (with the actor it promised)."""
    if actor is None:
        page = client.get(reverse("work_item_edit", args=[item_id])).content.decode()
        found = re.search(r'name="actor" value="([a-z_]*)"', page)
        actor = found.group(1) if found else ""
    return client.post(
        reverse("work_item_edit", args=[item_id]), {"title": title, "state": state, "rev": rev, "actor": actor}
    )


def _current(ado, item_id) -> dict:
    return ado.work_item("fabrikam", item_id)


def test_edit_with_own_token_is_recorded_as_the_user(alice_client, alice_credential, ado):
    item_id = _first_item(ado)
    before = _current(ado, item_id)
    page = text_of(alice_client.get(reverse("work_item_edit", args=[item_id])).content.decode())
    assert "recorded in Azure DevOps as you, Alice Example" in page
    response = _edit(
        alice_client, item_id, title="Renamed by Alice", state=before["fields"]["System.State"], rev=before["rev"]
    )
    assert response.status_code == HTTPStatus.FOUND
    after = _current(ado, item_id)
    assert after["fields"]["System.Title"] == "Renamed by Alice"
    assert after["fields"]["System.ChangedBy"]["id"] == demo_identity(ado, "alice@fabrikam.example")["id"]
    record = AuditRecord.objects.get()
    assert (record.actor_kind, record.outcome, record.action, record.work_item_id) == (
        "user",
        "success",
        "update",
        item_id,
    )
    assert record.ado_identity == "Alice Example"


def test_edit_without_token_goes_through_service_account_visibly(alice_client, connection, ado):
    item_id = _first_item(ado)
    before = _current(ado, item_id)
    page = text_of(alice_client.get(reverse("work_item_edit", args=[item_id])).content.decode())
    assert "recorded in Azure DevOps as ALM Service Account, because you have no working personal token" in page
    _edit(alice_client, item_id, title="Renamed via service", state=before["fields"]["System.State"], rev=before["rev"])
    after = _current(ado, item_id)
    assert after["fields"]["System.ChangedBy"]["id"] == demo_identity(ado, SERVICE_EMAIL)["id"]
    assert AuditRecord.objects.get().actor_kind == "service_account"


def test_no_change_without_token_when_fallback_is_off(alice_client, connection, ado):
    connection.allow_service_account_fallback = False
    connection.save()
    item_id = _first_item(ado)
    before = _current(ado, item_id)
    response = _edit(
        alice_client, item_id, title="Should not land", state=before["fields"]["System.State"], rev=before["rev"]
    )
    assert "need your own Azure DevOps token" in response.content.decode()
    assert _current(ado, item_id)["rev"] == before["rev"]
    assert AuditRecord.objects.get().outcome == "refused"


@pytest.mark.parametrize("how", ["revoke", "expire"])
def test_token_rejected_between_load_and_save_changes_nothing(alice_client, alice, alice_credential, ado, how):
    item_id = _first_item(ado)
    before = _current(ado, item_id)
    page = alice_client.get(reverse("work_item_edit", args=[item_id])).content.decode()
    assert 'name="actor" value="user"' in page
    (ado.revoke_pat if how == "revoke" else ado.expire_pat)(alice_credential.token)
    # The page reads the item again before saving; that read falls back, the change must not.
    response = _edit(
        alice_client, item_id, title="Too late", state=before["fields"]["System.State"], rev=before["rev"], actor="user"
    )
    assert "Nothing was changed" in response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert _current(ado, item_id)["rev"] == before["rev"]
    credential = AlmCredential.objects.get(user=alice)
    assert credential.status == AlmCredential.Status.REJECTED
    assert credential.rejected_reason == ("revoked" if how == "revoke" else "expired")
    home = alice_client.get(reverse("home")).content.decode()
    assert 'id="alm-banner"' in home


def test_change_with_a_rejected_token_is_not_retried_as_service_account(alice, alice_credential, connection, ado):
    from alm import exceptions
    from workitems import services as work

    item_id = _first_item(ado)
    before = _current(ado, item_id)
    ado.revoke_pat(alice_credential.token)
    with pytest.raises(exceptions.TokenRejected):
        work.update_work_item(
            user=alice,
            connection=connection,
            work_item_id=item_id,
            rev=before["rev"],
            title="x",
            state=before["fields"]["System.State"],
        )
    assert _current(ado, item_id)["rev"] == before["rev"]
    patches = [r for r in ado.requests if r.method == "PATCH"]
    assert len(patches) == 1  # one attempt, with Alice's token, never a second as the service account
    record = AuditRecord.objects.get()
    assert (record.actor_kind, record.outcome) == ("user", "rejected")


def test_stale_revision_reports_conflict_and_shows_current_values(alice_client, alice_credential, ado):
    item_id = _first_item(ado)
    before = _current(ado, item_id)
    bob = demo_identity(ado, "bob@fabrikam.example")
    import requests

    requests.patch(
        f"{ado.org_url('fabrikam')}/_apis/wit/workitems/{item_id}?api-version=7.1",
        json=[{"op": "add", "path": "/fields/System.Title", "value": "Bob was here"}],
        headers={"Content-Type": "application/json-patch+json", "X-TFS-FedAuthRedirect": "Suppress"},
        auth=("", bob["pat"]),
        timeout=5,
    ).raise_for_status()
    response = _edit(
        alice_client, item_id, title="Alice's stale edit", state=before["fields"]["System.State"], rev=before["rev"]
    )
    html = response.content.decode()
    assert "changed in Azure DevOps meanwhile" in html
    assert "Bob was here" in html
    assert _current(ado, item_id)["fields"]["System.Title"] == "Bob was here"
    assert AuditRecord.objects.get().outcome == "conflict"


def test_delete_moves_to_recycle_bin_as_the_user(alice_client, alice_credential, ado):
    item_id = _first_item(ado)
    fields = ado.work_item("fabrikam", item_id)["fields"]
    confirmation = alice_client.get(reverse("work_item_delete", args=[item_id])).content.decode()
    assert f"Delete {fields['System.WorkItemType']} {item_id}" in confirmation
    response = alice_client.post(reverse("work_item_delete", args=[item_id]))
    assert response.status_code == HTTPStatus.FOUND
    deleted = [r for r in ado.requests if r.method == "DELETE"]
    assert deleted[-1].identity_id == demo_identity(ado, "alice@fabrikam.example")["id"]
    assert alice_client.get(reverse("work_item_edit", args=[item_id])).status_code == HTTPStatus.NOT_FOUND
    record = AuditRecord.objects.get()
    assert (record.action, record.outcome) == ("delete", "success")


def test_list_shows_items_with_changed_by(alice_client, alice_credential, ado):
    html = alice_client.get(reverse("work_items")).content.decode()
    assert "ALM Service Account" in html
    first = ado.work_item("fabrikam", _first_item(ado))
    assert first["fields"]["System.Title"] in html


def test_list_filters_by_type_and_state(alice_client, alice_credential, ado):
    html = alice_client.get(reverse("work_items"), {"type": "Bug"}).content.decode()
    assert '<td data-label="Type">Bug</td>' in html
    assert '<td data-label="Type">Task</td>' not in html


def test_thousand_items_listed_in_at_most_six_requests(alice_client, alice, alice_credential, ado, connection):
    svc = ado.add_identity(org="fabrikam", display_name="Loader", email="loader@fabrikam.example")
    project = ado.add_project("fabrikam", "Big")
    for n in range(1000):
        ado.add_work_item("fabrikam", "Big", type="Task", title=f"Item {n}", state="To Do", by=svc)
    connection.default_project = "Big"
    connection.save()
    ado.clear_requests()
    html = alice_client.get(reverse("work_items"), {"per_page": 1000}).content.decode()
    assert "1000 work items" in html
    assert "Item 999" in html
    assert "Item 0<" in html
    assert len(ado.requests) <= 6
    assert project is not None


def test_throttled_write_is_reported_with_retry_time_and_audited(alice_client, alice_credential, ado):
    item_id = _first_item(ado)
    before = _current(ado, item_id)
    ado.set_fault("throttle", method="PATCH", retry_after=2)
    response = _edit(alice_client, item_id, title="During throttling", state=before["fields"]["System.State"],
                     rev=before["rev"])
    assert "Try again in 2 seconds" in text_of(response.content.decode())
    assert _current(ado, item_id)["rev"] == before["rev"]
    assert len([r for r in ado.requests if r.method == "PATCH"]) == 1  # writes are never retried
    assert AuditRecord.objects.get().outcome == "failed"


def test_throttled_read_is_retried_once_after_retry_after(alice_client, alice_credential, ado):
    ado.set_fault("throttle", path=r"/_apis/wit/wiql$", count=1, retry_after=1)
    response = alice_client.get(reverse("work_items"))
    assert response.status_code == HTTPStatus.OK
    assert "31 work items" in text_of(response.content.decode())
    assert [r.status for r in ado.requests if r.path.endswith("/wiql")] == [429, 200]
