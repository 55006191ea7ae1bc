"""The admin lists beside the overview: credentials, audit records and notices page, and build no filter
or state by reading every row."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.profiles.test_overview import _seed, _selects_token
from workitems.models import AuditRecord

pytestmark = pytest.mark.django_db


def _get(client, name: str, **params) -> tuple[str, list[str]]:
    with CaptureQueriesContext(db) as captured:
        response = client.get(reverse(name), params)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode(), [query["sql"] for query in captured.captured_queries]


def test_credential_list_shows_each_rows_state_without_reading_tokens(admin_client, connection):
    _seed(40, connection)
    page, queries = _get(admin_client, "admin:profiles_almcredential_changelist", status__exact="rejected")
    assert page.count('<td class="field-state">rejected</td>') == 4
    reading = [sql for sql in queries if _selects_token(sql)]
    assert len(reading) == 1  # the key-note check
    assert '"token" AS "ciphertext"' in reading[0]


def test_credential_list_makes_the_same_queries_for_40_and_400_credentials(admin_client, connection):
    _seed(50, connection)
    small = _get(admin_client, "admin:profiles_almcredential_changelist")[1]
    _seed(450, connection, start=50)
    large = _get(admin_client, "admin:profiles_almcredential_changelist")[1]
    assert len(small) == len(large)


def test_audit_list_offers_filters_without_reading_every_record(admin_client, alice, connection):
    for number in range(3):
        AuditRecord.objects.create(
            user=alice, connection=connection, work_item_id=number, action="update", outcome="failed",
            actor_kind="", ado_identity="Alice Example",
        )  # fmt: skip
    AuditRecord.objects.create(
        user=alice, connection=connection, work_item_id=9, action="delete", outcome="success", actor_kind="user"
    )
    page, queries = _get(admin_client, "admin:workitems_auditrecord_changelist")
    assert not [sql for sql in queries if "DISTINCT" in sql]
    assert "?outcome=mismatch" in page
    refused, _ = _get(admin_client, "admin:workitems_auditrecord_changelist", actor_kind="none")
    assert "3 audit records" in refused
    deleted, _ = _get(admin_client, "admin:workitems_auditrecord_changelist", action="delete", outcome="success")
    assert "1 audit record" in deleted
