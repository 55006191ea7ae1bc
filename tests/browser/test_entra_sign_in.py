"""The issue's "Done when": Alice signs in with Microsoft in the browser, acts as herself, loses the sign-in,
and has a personal access token created for her."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alm.scopes import REQUIRED_PERMISSIONS
from profiles.models import AlmCredential
from tests.entra_helpers import configure_entra, entra_settings  # noqa: F401 - fixture
from tests.helpers import demo_identity, demo_item_ids

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("entra_settings")]

ALICE = "alice@fabrikam.example"


@pytest.fixture
def context_options(context_options):
    # The emulator's authority serves HTTPS with a CA made at start, which this browser does not know; the
    # app itself verifies it (ALM_ENTRA_CA_BUNDLE). Only the browser's view of it is relaxed here.
    return {**context_options, "ignore_https_errors": True}


def sign_in_with_microsoft(page, live_server):
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    page.get_by_role("link", name="Sign in with Microsoft").first.click()
    expect(page.get_by_role("heading", name="Sign in to your account")).to_be_visible()
    page.get_by_label("Alice Example (alice@fabrikam.example)").check()
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url(f"{live_server.url}/profile/alm-credentials/**")
    # The page the callback leads to, not the one the sign-in started from.
    expect(page.locator(".messages")).to_contain_text("Signed in with Microsoft")


def test_alice_signs_in_with_microsoft_acts_loses_the_sign_in_and_gets_a_token(
    page, live_server, sign_in, alice, connection, ado
):
    configure_entra(connection, ado)
    item_id = demo_item_ids(ado)[0]
    sign_in("alice")

    sign_in_with_microsoft(page, live_server)
    expect(page.locator(".messages")).to_contain_text("Signed in with Microsoft")
    block = page.locator(f"#connection-{connection.pk}")
    expect(block).to_contain_text("Alice Example")
    expect(block).to_contain_text("5 of 5 confirmed")

    page.goto(f"{live_server.url}/work-items/{item_id}/")
    expect(page.locator(".actor-notice")).to_contain_text("as you, Alice Example")
    page.get_by_label("Title").fill("Edited after signing in with Microsoft")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("as you, Alice Example")
    changed = ado.work_item("fabrikam", item_id)
    assert changed["fields"]["System.Title"] == "Edited after signing in with Microsoft"
    assert changed["fields"]["System.ChangedBy"]["id"] == demo_identity(ado, ALICE)["id"]

    page.goto(f"{live_server.url}/work-items/{item_id}/")
    expect(page.locator(".actor-notice")).to_contain_text("as you, Alice Example")
    ado.entra.end_sign_in(ALICE, "revoked")
    page.get_by_label("Title").fill("Must not reach Azure DevOps")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#alm-banner")).to_contain_text("sign in again")
    assert ado.work_item("fabrikam", item_id)["rev"] == changed["rev"]

    sign_in_with_microsoft(page, live_server)
    page.get_by_role("button", name="Create my token for me").click()
    expect(page.locator(".messages")).to_contain_text("Your personal access token was created and saved")
    credential = AlmCredential.objects.get(user=alice, connection=connection)
    assert credential.status == AlmCredential.Status.WORKING
    record = ado.pat_info(credential.token)
    assert set(record.scopes.split()) == {p.scope for p in REQUIRED_PERMISSIONS}
    assert abs(record.valid_to - (timezone.now() + timedelta(days=365))) < timedelta(days=1)
