"""The audit log in the admin: read-only, filterable by user and by Azure DevOps identity."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from workitems.models import AuditRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(alice, bob, connection):
    for user, work_item_id, action, actor_kind, ado_identity in (
        (alice, 7, "update", "user", "Alice Example"),
        (bob, 8, "delete", "service_account", "ALM Service Account"),
    ):
        AuditRecord.objects.create(
            user=user,
            connection=connection,
            work_item_id=work_item_id,
            action=action,
            outcome="success",
            actor_kind=actor_kind,
            ado_identity=ado_identity,
        )


def test_audit_list_filters_by_user_and_identity(admin_client, records, alice):
    url = reverse("admin:workitems_auditrecord_changelist")
    by_user = admin_client.get(url, {"user__id__exact": alice.pk}).content.decode()
    assert "Alice Example" in by_user
    assert "ALM Service Account</td>" not in by_user
    by_identity = admin_client.get(url, {"ado_identity": "ALM Service Account"}).content.decode()
    assert "ALM Service Account" in by_identity
    assert ">7<" not in by_identity


def test_audit_records_cannot_be_added_changed_or_deleted(admin_client, records):
    record = AuditRecord.objects.first()
    assert admin_client.get(reverse("admin:workitems_auditrecord_add")).status_code == HTTPStatus.FORBIDDEN
    change = admin_client.post(reverse("admin:workitems_auditrecord_change", args=[record.pk]), {"outcome": "failed"})
    assert change.status_code in {HTTPStatus.FORBIDDEN, HTTPStatus.OK}
    delete = admin_client.post(reverse("admin:workitems_auditrecord_delete", args=[record.pk]), {"post": "yes"})
    assert delete.status_code == HTTPStatus.FORBIDDEN
    record.refresh_from_db()
    assert record.outcome == "success"
