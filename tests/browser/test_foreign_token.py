"""Problem 1 of "whose name is on a change", walked in Chromium: another person's token saved during an outage."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from profiles.models import AlmCredential
from tests.helpers import SERVICE_EMAIL, demo_item_ids

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_foreign_token_saved_unverified_never_acts_and_shows_as_foreign(
    page, live_server, sign_in, alice, connection, bob_pat, ado, shot
):
    sign_in("alice")
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    ado.set_fault("status", status=503)
    page.get_by_label("Personal access token").fill(bob_pat)
    page.get_by_role("button", name="Save", exact=True).click()
    # The token is never rendered back: it is pasted again for the second attempt.
    page.get_by_label("Personal access token").fill(bob_pat)
    page.get_by_role("button", name="Save without verifying").click()
    expect(page.locator(".messages")).to_contain_text("Saved without verification")
    ado.clear_faults()

    item_id = demo_item_ids(ado)[0]
    page.goto(f"{live_server.url}/work-items/{item_id}/")
    notice = page.locator(".actor-notice")
    expect(notice).not_to_contain_text("as you")
    expect(notice).to_contain_text("because you have no working personal token")
    page.get_by_label("Title").fill("Renamed in the browser")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("saved in Azure DevOps as")
    expect(page.locator(".messages")).not_to_contain_text("as you")
    assert ado.work_item("fabrikam", item_id)["fields"]["System.ChangedBy"]["uniqueName"] == SERVICE_EMAIL

    page.goto(f"{live_server.url}/profile/alm-credentials/")
    block = page.locator(".credential-block").first
    expect(block).to_contain_text("Another person's token")
    expect(block).to_contain_text("belongs to Bob Example")
    expect(page.locator("#alm-banner")).to_contain_text("belongs to Bob Example, not to you")
    shot("foreign-token", full_page=True)
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.FOREIGN
