"""Changes in the browser reach Azure DevOps as the person who made them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import demo_identity, demo_item_ids

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_edits_a_title_as_herself(page, live_server, sign_in, alice, alice_credential, ado, shot):
    item_id = demo_item_ids(ado)[0]
    sign_in("alice")
    page.locator("nav.sidebar").get_by_role("link", name="Work items").click()
    expect(page.locator("table.grid")).to_be_visible()
    shot("work-items", full_page=True)
    page.goto(f"{live_server.url}/work-items/{item_id}/")
    expect(page.locator(".actor-notice")).to_contain_text("as you, Alice Example")
    page.get_by_label("Title").fill("Edited in the browser by Alice")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("as you, Alice Example")
    changed = ado.work_item("fabrikam", item_id)["fields"]
    assert changed["System.Title"] == "Edited in the browser by Alice"
    assert changed["System.ChangedBy"]["id"] == demo_identity(ado, "alice@fabrikam.example")["id"]


def test_bobs_revoked_token_fails_his_edit_and_turns_the_banner(
    page, live_server, sign_in, bob, connection, bob_pat, ado
):
    from profiles.services import save_credential

    credential, _ = save_credential(user=bob, connection=connection, token=bob_pat)
    assert credential is not None
    item_id = demo_item_ids(ado)[1]
    before = ado.work_item("fabrikam", item_id)
    sign_in("bob")
    page.goto(f"{live_server.url}/work-items/{item_id}/")
    expect(page.locator(".actor-notice")).to_contain_text("as you, Bob Example")
    ado.revoke_pat(bob_pat)
    page.get_by_label("Title").fill("Bob's edit after revocation")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#alm-banner")).to_contain_text("revoked")
    assert ado.work_item("fabrikam", item_id)["rev"] == before["rev"]
