"""What people type that ends up in e-mail headers and spreadsheets: connection names, exported cells."""

from __future__ import annotations

import csv
import io
from http import HTTPStatus

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from alm.models import AlmConnection
from profiles.lifecycle import check_all_tokens
from profiles.models import TokenNotice

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "Fabrikam\r\nBcc: everyone@example.com",
        "Fabrikam\nFiber",
        "Tab\there",
        "Null\x00",
        "Bell\x07",
        "Next\x85line",
        "Line\u2028separator",
    ],
)
def test_connection_name_with_control_characters_is_refused(name):
    connection = AlmConnection(name=name, kind="services", url="https://dev.azure.com/fabrikam", service_token="x")

    with pytest.raises(ValidationError) as caught:
        connection.full_clean()

    assert "name" in caught.value.message_dict
    assert "control characters" in caught.value.message_dict["name"][0]


def test_connection_name_in_other_scripts_and_punctuation_is_accepted():
    name = "Fabrikam \u2013 \u00c9quipe \u201cOps\u201d (\u5317\u4eac)"  # en dash, accents, quotes, Han
    connection = AlmConnection(name=name, kind="services", url="https://dev.azure.com/fabrikam", service_token="x")
    connection.full_clean()


def test_one_failing_e_mail_never_stops_the_others(ado, admin_user, django_user_model):
    """A name saved before the check existed (or by a script) breaks its own e-mail's header, and only that one."""
    admin_user.email = "ops@fabrikam.example"
    admin_user.save()
    broken = AlmConnection.objects.create(
        name="Broken\r\nBcc: everyone@example.com",
        kind="services",
        url=ado.org_url("fabrikam"),
        service_token="not-a-token-the-emulator-knows",
    )
    fine = AlmConnection.objects.create(
        name="Fine", kind="services", url=f"{ado.base_url}/other", service_token="also-not-a-known-token"
    )

    summary = check_all_tokens(sleep=lambda _seconds: None)

    subjects = [message.subject for message in mail.outbox]
    assert subjects == [f"almlink: the service account token of {fine.name} no longer works"]
    assert summary.emails == 1
    # Its notice is tried again on the next run: nothing was recorded as sent.
    assert not TokenNotice.objects.filter(connection=broken).exists()


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_export_neutralizes_every_formula_start(admin_client, django_user_model, connection, start):
    # User names come from an administrator or an identity provider: not necessarily Django's validator.
    django_user_model.objects.create_user(f"{start}cmd|' /C calc'!A0", email="m@fabrikam.example")

    response = admin_client.get(reverse("admin:profiles_credential_overview"), {"format": "csv"})

    assert response.status_code == HTTPStatus.OK
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    cells = [cell for row in rows for cell in row if "calc" in cell]
    assert cells, rows
    assert all(cell.startswith("'") for cell in cells), cells
