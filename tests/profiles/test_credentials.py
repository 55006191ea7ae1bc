"""Test Connection and Save through the real views, against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import connection as db_connection
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from profiles.models import AlmCredential
from tests.helpers import demo_member

pytestmark = pytest.mark.django_db
URL = reverse("alm_credentials")
FIVE = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"


def _post(client, connection, token, action):
    return client.post(URL, {"connection": connection.pk, "token": token, "action": action})


def _alice_identity(ado):
    from tests.helpers import demo_identity

    return demo_identity(ado, "alice@fabrikam.example")


def test_test_connection_reports_owner_permissions_and_expiry(alice_client, connection, alice_pat):
    response = _post(alice_client, connection, alice_pat, "test")
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "Connection works" in html
    assert "Alice Example" in html
    assert html.count('aria-label="present"') == 5
    assert "Expires" in html
    assert alice_pat not in html
    assert not AlmCredential.objects.exists()  # testing saves nothing


def test_test_connection_without_javascript_fetch_returns_only_the_block(alice_client, connection, alice_pat):
    response = alice_client.post(
        URL, {"connection": connection.pk, "token": alice_pat, "action": "test"}, headers={"X-Requested-With": "fetch"}
    )
    html = response.content.decode()
    assert "Connection works" in html
    assert "<html" not in html


def test_save_stores_the_token_encrypted_and_shows_state(alice_client, alice, connection, alice_pat):
    response = _post(alice_client, connection, alice_pat, "save")
    assert response.status_code == HTTPStatus.FOUND
    credential = AlmCredential.objects.get(user=alice)
    assert credential.token == alice_pat
    assert credential.status == AlmCredential.Status.WORKING
    assert credential.ado_email == "alice@fabrikam.example"
    assert len(credential.permissions) == 5
    assert credential.expires_on > timezone.now() + timedelta(days=300)
    page = alice_client.get(URL).content.decode()
    assert "Working" in page
    assert alice_pat not in page
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT token FROM profiles_almcredential")
        raw = bytes(cursor.fetchone()[0])
    assert alice_pat.encode() not in raw


def test_banner_gone_after_save(alice_client, connection, alice_pat):
    assert "not present" in alice_client.get(reverse("home")).content.decode()
    _post(alice_client, connection, alice_pat, "save")
    assert 'id="alm-banner"' not in alice_client.get(reverse("home")).content.decode()


def test_failed_save_keeps_the_saved_token(alice_client, alice, connection, alice_credential, ado):
    _post(alice_client, connection, "x" * 52, "save")
    credential = AlmCredential.objects.get(user=alice)
    assert credential.token == alice_credential.token
    assert credential.status == AlmCredential.Status.WORKING


def test_missing_permission_is_named_and_not_saved(alice_client, alice, connection, ado):
    identity = demo_member(ado, "alice@fabrikam.example")
    token = ado.issue_pat(identity, scopes=FIVE.replace(" vso.tokens", ""))
    response = _post(alice_client, connection, token, "save")
    html = response.content.decode()
    assert "Not saved: the token needs attention" in html
    assert html.count('aria-label="missing"') == 1
    # Named once: in its row of the checklist, with what to tick.
    assert html.count("Tokens (Read &amp; manage)") == 1
    assert html.count("tick Tokens → Read &amp; manage, then test the token again.") == 1
    assert "Missing permission:" not in html
    assert not AlmCredential.objects.filter(user=alice).exists()


def test_expired_token_is_reported(alice_client, connection, ado):
    identity = demo_member(ado, "alice@fabrikam.example")
    token = ado.issue_pat(identity, scopes=FIVE)
    ado.expire_pat(token)
    html = _post(alice_client, connection, token, "test").content.decode()
    assert "The token did not work" in html
    assert "expired" in html


def test_someone_elses_token_is_refused_and_named(alice_client, alice, connection, bob_pat):
    html = _post(alice_client, connection, bob_pat, "save").content.decode()
    assert "belongs to Bob Example (bob@fabrikam.example)" in html
    assert not AlmCredential.objects.filter(user=alice).exists()


def test_someone_elses_token_allowed_by_setting(alice_client, alice, connection, bob_pat, settings):
    settings.ALM_ALLOW_FOREIGN_TOKENS = True
    _post(alice_client, connection, bob_pat, "save")
    assert AlmCredential.objects.get(user=alice).ado_email == "bob@fabrikam.example"


def test_unreachable_azure_devops_offers_unverified_save(alice_client, alice, connection, alice_pat, ado):
    ado.set_fault("status", status=503)
    html = _post(alice_client, connection, alice_pat, "save").content.decode()
    assert "could not be reached" in html
    assert "Save without verifying" in html
    assert not AlmCredential.objects.filter(user=alice).exists()
    _post(alice_client, connection, alice_pat, "save_unverified")
    credential = AlmCredential.objects.get(user=alice)
    assert credential.status == AlmCredential.Status.UNVERIFIED
    assert "not been verified" in alice_client.get(reverse("home")).content.decode()


def test_retesting_saved_token_marks_it_rejected_when_revoked(alice_client, alice, connection, alice_credential, ado):
    ado.revoke_pat(alice_credential.token)
    html = _post(alice_client, connection, "", "test").content.decode()
    assert "The token did not work" in html
    credential = AlmCredential.objects.get(user=alice)
    assert credential.status == AlmCredential.Status.REJECTED
    assert credential.token == alice_credential.token  # kept: the user decides


def test_retest_during_outage_leaves_status_alone(alice_client, alice, connection, alice_credential, ado):
    ado.set_fault("status", status=500)
    _post(alice_client, connection, "", "test")
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.WORKING


def test_remove_asks_then_deletes_and_banner_returns(alice_client, alice, connection, alice_credential):
    url = reverse("remove_credential", args=[connection.pk])
    assert "Remove your token" in alice_client.get(url).content.decode()
    assert AlmCredential.objects.filter(user=alice).exists()
    alice_client.post(url)
    assert not AlmCredential.objects.filter(user=alice).exists()
    assert "not present" in alice_client.get(reverse("home")).content.decode()


def test_rate_limit_says_when_to_retry(alice_client, connection, settings):
    settings.ALM_CREDENTIAL_RATE_LIMIT = 2
    for _ in range(2):
        _post(alice_client, connection, "a" * 52, "test")
    html = _post(alice_client, connection, "a" * 52, "test").content.decode()
    assert "Too many attempts in a short time" in html
    assert "Try again in" in html


def test_rate_limit_on_save_says_not_saved_and_not_tests(alice_client, alice, connection, alice_pat, settings):
    settings.ALM_CREDENTIAL_RATE_LIMIT = 1
    _post(alice_client, connection, "a" * 52, "test")
    html = _post(alice_client, connection, alice_pat, "save").content.decode()
    assert "Not saved. Too many attempts in a short time. Try again in" in html
    assert "Too many tests" not in html
    assert not AlmCredential.objects.filter(user=alice).exists()


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "Paste your personal access token first."),
        ("   ", "Paste your personal access token first."),
        ("a" * 513, "too long"),
        ("abc def", "no spaces"),
        ("abc\x00def", "Null characters are not allowed"),
        ("abc\u202edef", "control characters"),
        ("abcdéf", "only letters and digits"),
    ],
)
def test_bad_token_input_gets_a_form_error_before_any_network_call(alice_client, connection, ado, token, message):
    ado.clear_requests()
    response = _post(alice_client, connection, token, "save")
    assert response.status_code == HTTPStatus.OK
    assert message in response.content.decode()
    assert ado.requests == []


def test_unreadable_credential_asks_to_re_enter(alice_client, alice, connection, alice_credential, settings):
    settings.ALM_ENCRYPTION_KEY = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMzI="
    page = alice_client.get(URL)
    assert page.status_code == HTTPStatus.OK
    assert "Re-enter your token" in page.content.decode()
    assert "can no longer be read" in alice_client.get(reverse("home")).content.decode()
    credential = AlmCredential.objects.get(user=alice)
    credential.save()  # saving an unreadable row keeps its ciphertext
    settings.ALM_ENCRYPTION_KEY = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM="
    assert AlmCredential.objects.get(user=alice).token == alice_credential.token


def test_saved_credential_shows_its_dates_day_first_without_leading_zero(alice_client, alice_credential):
    AlmCredential.objects.filter(pk=alice_credential.pk).update(
        expires_on=datetime(2027, 3, 5, 8, 7, tzinfo=UTC), saved_at=datetime(2026, 11, 2, 9, 4, tzinfo=UTC)
    )

    response = alice_client.get(URL)

    assertContains(response, "<dd>5 Mar 2027</dd>", html=True)
    assertContains(response, "<dd>2 Nov 2026, 09:04</dd>", html=True)
