"""The ALM Credentials paths as a person walks them, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from profiles.models import AlmCredential
from tests.helpers import demo_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FIVE = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"


def _paste_and_test(page, token: str) -> None:
    page.get_by_label("Personal access token").fill(token)
    page.get_by_role("button", name="Test Connection").click()


def test_banner_link_to_profile_test_save_banner_gone(page, live_server, sign_in, alice, connection, alice_pat, shot):
    sign_in("alice")
    banner = page.locator("#alm-banner")
    expect(banner).to_contain_text("Your personal profile ALM token is not present.")
    shot("banner")
    banner.get_by_role("link", name="Go to Profile").click()
    expect(page).to_have_url(re.compile(r"/profile/alm-credentials/#connection-\d+$"))
    shot("alm-credentials-form", full_page=True)
    _paste_and_test(page, alice_pat)
    result = page.locator(".result-region")
    expect(result).to_contain_text("Connection works")
    expect(result).to_contain_text("Alice Example")
    expect(result.locator('[aria-label="present"]')).to_have_count(5)
    shot("test-connection-result", full_page=True)
    assert "/profile/alm-credentials/" in page.url  # in place, no navigation
    # The field keeps the pasted token after an in-place test, so Save needs no second paste.
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Saved.")
    expect(page.locator("#alm-banner")).to_have_count(0)
    page.reload()
    expect(page.locator(".credential-block")).to_contain_text("Working")
    assert alice_pat not in page.content()
    assert page.get_by_label("Replace with a new personal access token").input_value() == ""
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.WORKING


def test_profile_reached_from_left_navigation(page, live_server, sign_in, alice, connection, alice_pat):
    sign_in("alice")
    page.locator("nav.sidebar").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="ALM Credentials")).to_be_visible()
    page.locator("nav.sidebar").get_by_role("link", name="ALM Credentials").click()
    _paste_and_test(page, alice_pat)
    expect(page.locator(".result-region")).to_contain_text("Connection works")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#alm-banner")).to_have_count(0)


def test_token_missing_one_permission_names_it(page, live_server, sign_in, alice, connection, ado):
    identity = demo_member(ado, "alice@fabrikam.example")
    token = ado.issue_pat(identity, scopes=FIVE.replace("vso.memberentitlementmanagement ", ""))
    sign_in("alice")
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    _paste_and_test(page, token)
    result = page.locator(".result-region")
    expect(result).to_contain_text("Member Entitlement Management (Read) Missing. In Azure DevOps")
    expect(result).to_contain_text("tick Member Entitlement Management → Read")
    assert result.inner_text().count("Member Entitlement Management") == 2  # its row: the name, what to tick
    expect(result.locator('[aria-label="missing"]')).to_have_count(1)


def test_expired_token_is_explained(page, live_server, sign_in, alice, connection, ado):
    identity = demo_member(ado, "alice@fabrikam.example")
    token = ado.issue_pat(identity, scopes=FIVE)
    ado.expire_pat(token)
    sign_in("alice")
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    _paste_and_test(page, token)
    expect(page.locator(".result-region")).to_contain_text("expired")


def test_someone_elses_token_is_refused(page, live_server, sign_in, alice, connection, bob_pat):
    sign_in("alice")
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    page.get_by_label("Personal access token").fill(bob_pat)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".result-region")).to_contain_text("belongs to Bob Example")
    assert not AlmCredential.objects.filter(user=alice).exists()


def test_azure_devops_down_is_not_blamed_on_the_token(page, live_server, sign_in, alice, connection, alice_pat, ado):
    ado.set_fault("status", status=503)
    sign_in("alice")
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    _paste_and_test(page, alice_pat)
    result = page.locator(".result-region")
    expect(result).to_contain_text("could not be reached")
    expect(page.get_by_role("button", name="Save without verifying")).to_be_visible()


def test_removing_the_token_brings_the_banner_back(page, live_server, sign_in, alice, alice_credential):
    sign_in("alice")
    expect(page.locator("#alm-banner")).to_have_count(0)
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    page.get_by_role("link", name="Remove token").click()
    page.get_by_role("button", name="Remove token").click()
    expect(page.locator("#alm-banner")).to_contain_text("not present")


def test_keyboard_focus_moves_to_the_test_result(page, live_server, sign_in, alice, connection, alice_pat):
    sign_in("alice")
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    page.get_by_label("Personal access token").fill(alice_pat)
    page.get_by_role("button", name="Test Connection").focus()
    page.keyboard.press("Enter")
    result = page.locator(".result-region .result")
    expect(result).to_contain_text("Connection works")
    expect(result).to_be_focused()
    assert result.get_attribute("role") == "status"  # still announced
    page.keyboard.press("Shift+Tab")  # and the way back to the form works from there
    expect(page.locator(".token-form button").last).to_be_focused()


def test_refused_token_result_takes_focus_too(page, live_server, sign_in, alice, connection):
    sign_in("alice")
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    page.get_by_label("Personal access token").fill("not-a-real-token-at-all")
    page.get_by_role("button", name="Test Connection").focus()
    page.keyboard.press("Enter")
    result = page.locator(".result-region .result")
    expect(result).to_contain_text("did not work")
    expect(result).to_be_focused()
    assert result.get_attribute("role") == "alert"


def test_saved_card_shows_saved_and_verified_times_under_their_labels(page, live_server, sign_in, alice, connection):
    from datetime import UTC, datetime

    AlmCredential.objects.create(
        user=alice,
        connection=connection,
        token="saved-token-never-shown",
        status=AlmCredential.Status.WORKING,
        saved_at=datetime(2026, 11, 28, 19, 1, tzinfo=UTC),
        last_verified_at=datetime(2026, 11, 28, 19, 8, tzinfo=UTC),
    )
    sign_in("alice")
    page.goto(f"{live_server.url}/profile/alm-credentials/")
    card = page.locator(f"#connection-{connection.pk} dl.facts")
    facts = card.evaluate(
        "dl => Object.fromEntries([...dl.querySelectorAll('dt')].map(dt => "
        "[dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]))"
    )
    assert facts["Saved"] == "28 Nov 2026, 19:01"
    assert facts["Last verified"] == "28 Nov 2026, 19:08"
