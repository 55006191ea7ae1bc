"""The work item pages name what a person is about to act on, and what to do when Azure DevOps fails."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from tests.helpers import demo_item_ids

pytestmark = pytest.mark.django_db


def test_delete_confirmation_names_type_and_title(alice_client, alice_credential, ado):
    item_id = demo_item_ids(ado)[0]
    fields = ado.work_item("fabrikam", item_id)["fields"]
    html = alice_client.get(reverse("work_item_delete", args=[item_id])).content.decode()
    assert f"Delete {fields['System.WorkItemType']} {item_id}, “{fields['System.Title']}”?" in html


def test_azure_devops_down_on_the_list_offers_a_retry_not_the_same_list(alice_client, alice_credential, ado):
    ado.set_fault("status", status=503)
    response = alice_client.get(reverse("work_items"), {"type": "Bug"})
    html = response.content.decode()
    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert "Azure DevOps is not answering right now" in html
    assert "The work items could not be loaded. Nothing was changed in Azure DevOps" in html
    assert "your token is not the problem" in html
    assert "tell your almlink administrator and quote this detail" in html
    assert 'href="/work-items/?type=Bug">try again</a>' in html
    assert "Back to the list" not in html
    assert "← Work items" not in html  # that is this very page


def test_azure_devops_down_on_an_item_offers_a_retry_and_the_list(alice_client, alice_credential, ado):
    item_id = demo_item_ids(ado)[0]
    ado.set_fault("status", status=503)
    html = alice_client.get(reverse("work_item_edit", args=[item_id])).content.decode()
    assert "This work item could not be loaded. Nothing was changed in Azure DevOps" in html
    assert f'href="/work-items/{item_id}/">try again</a>' in html
    assert "← Work items" in html


def test_missing_item_says_not_found_and_leads_back_to_the_list(alice_client, alice_credential, ado):
    response = alice_client.get(reverse("work_item_delete", args=[99999]))
    html = response.content.decode()
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Not found in Azure DevOps" in html
    assert "not answering" not in html
    assert '<a href="/work-items/">← Work items</a>' in html
