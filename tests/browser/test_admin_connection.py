"""The administrator's connection page in Chromium: Test connection keeps unsaved edits; the add form names the
five permissions."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from alm.models import AlmConnection
from tests.helpers import FIVE_PERMISSIONS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def root(page, live_server, sign_in, django_user_model, password):
    django_user_model.objects.create_superuser("root", "root@fabrikam.example", password)
    sign_in("root")


def test_test_connection_tests_the_edits_and_keeps_them_unsaved(page, live_server, root, connection, axe):
    page.goto(f"{live_server.url}/admin/alm/almconnection/{connection.pk}/change/")
    page.get_by_label("Default project").fill("No Such Project")
    page.get_by_role("button", name="Test connection").click()

    expect(page.locator(".errornote, .errorlist").first).to_be_visible()
    expect(page.get_by_text("Tested only, nothing was saved")).to_be_visible()
    expect(page.get_by_label("Default project")).to_have_value("No Such Project")
    expect(page.get_by_role("heading", name="The token failed its test")).to_be_visible()
    assert AlmConnection.objects.get(pk=connection.pk).default_project == "Fabrikam Fiber"
    assert axe() == []


def test_add_form_names_the_five_permissions_before_any_test(page, live_server, root):
    page.goto(f"{live_server.url}/admin/alm/almconnection/add/")
    help_text = page.locator("#id_token_helptext, .help").filter(has_text="five permissions").first
    for words in FIVE_PERMISSIONS:
        expect(help_text).to_contain_text(words)
