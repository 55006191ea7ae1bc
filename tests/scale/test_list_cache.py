"""The shared list of the service account's reads: fewer calls, never one person's view shown to another."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alm.models import AlmConnection
from tests.helpers import SERVICE_EMAIL, demo_identity, demo_item_ids

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _list(client: Client, query: str = "") -> str:
    response = client.get(reverse("work_items") + query)
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


def _queries_by(ado) -> list[str | None]:
    """Who ran each WIQL query since the log was last cleared (identity ids)."""
    return [r.identity_id for r in ado.requests if r.path.endswith("/_apis/wit/wiql")]


@pytest.fixture
def service_id(ado) -> str:
    return demo_identity(ado, SERVICE_EMAIL)["id"]


@pytest.fixture
def carol(django_user_model):
    return django_user_model.objects.create_user("carol", email="carol@fabrikam.example", password="x")


def test_second_person_without_token_is_served_the_stored_list(alice, carol, connection, ado, service_id):
    ado.clear_requests()
    first = _list(_signed_in(alice))
    calls = len(ado.requests)
    second = _list(_signed_in(carol))
    assert _queries_by(ado) == [service_id]
    assert len(ado.requests) == calls  # no call at all for the second person
    assert "ALM Service Account" in second
    title = ado.work_item("fabrikam", demo_item_ids(ado)[0])["fields"]["System.Title"]
    assert title in first
    assert title in second


def test_person_with_own_token_never_reads_the_stored_list(alice, bob, bob_pat, connection, ado, service_id):
    from profiles.services import save_credential

    save_credential(user=bob, connection=connection, token=bob_pat)
    _list(_signed_in(alice))  # stored, read as the service account
    ado.clear_requests()
    _list(_signed_in(bob))
    assert _queries_by(ado) == [demo_identity(ado, "bob@fabrikam.example")["id"]]


def test_read_with_own_token_is_never_stored_for_others(alice, bob, bob_pat, connection, ado, service_id):
    from profiles.services import save_credential

    save_credential(user=bob, connection=connection, token=bob_pat)
    _list(_signed_in(bob))
    ado.clear_requests()
    _list(_signed_in(alice))
    assert _queries_by(ado) == [service_id]


def test_change_through_the_app_is_shown_to_the_next_person_at_once(alice, carol, connection, ado, service_id):
    _list(_signed_in(alice))
    item_id = demo_item_ids(ado)[0]
    before = ado.work_item("fabrikam", item_id)
    response = _signed_in(alice).post(
        reverse("work_item_edit", args=[item_id]),
        {"title": "Renamed and listed", "state": before["fields"]["System.State"], "rev": before["rev"],
         "actor": "service_account"},
    )
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
    ado.clear_requests()
    assert "Renamed and listed" in _list(_signed_in(carol))
    assert _queries_by(ado) == [service_id]


def test_other_filters_and_pages_are_read_afresh(alice, carol, connection, ado, service_id):
    _list(_signed_in(alice))
    ado.clear_requests()
    _list(_signed_in(carol), "?type=Bug")
    _list(_signed_in(carol), "?page=2&per_page=1")
    assert _queries_by(ado) == [service_id, service_id]


def test_new_service_account_token_is_not_served_the_old_accounts_list(alice, carol, connection, ado, service_id):
    _list(_signed_in(alice))
    AlmConnection.objects.filter(pk=connection.pk).update(service_token_changed_at=timezone.now())
    ado.clear_requests()
    _list(_signed_in(carol))
    assert _queries_by(ado) == [service_id]
