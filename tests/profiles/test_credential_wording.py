"""What the ALM Credentials, profile and home pages say, in the words a person acts on."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.urls import reverse

from alm.models import AlmConnection
from profiles.models import AlmCredential
from tests.helpers import demo_member

pytestmark = pytest.mark.django_db
URL = reverse("alm_credentials")
FIVE = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"


def _post(client, connection, token, action):
    return client.post(URL, {"connection": connection.pk, "token": token, "action": action})


def test_unknown_expiry_says_why_in_one_sentence(alice_client, connection, ado):
    token = ado.issue_pat(demo_member(ado, "alice@fabrikam.example"), scopes=FIVE.replace("vso.tokens ", ""))
    html = _post(alice_client, connection, token, "test").content.decode()
    assert "not known. The Tokens permission is needed to read the token&#x27;s expiry." in html
    assert "Unknown:" not in html


def test_failed_save_says_not_saved(alice_client, alice, connection):
    html = _post(alice_client, connection, "not-a-real-token-at-all", "save").content.decode()
    assert "Not saved: the token did not work" in html
    assert not AlmCredential.objects.filter(user=alice).exists()


def test_save_of_a_malformed_token_says_not_saved(alice_client, alice, connection):
    html = _post(alice_client, connection, "has spaces in it", "save").content.decode()
    assert "Not saved. A personal access token has no spaces or line breaks." in html
    assert not AlmCredential.objects.filter(user=alice).exists()


def test_failed_test_does_not_speak_of_saving(alice_client, connection):
    html = _post(alice_client, connection, "not-a-real-token-at-all", "test").content.decode()
    assert "The token did not work" in html
    assert "Not saved" not in html


def test_home_asks_for_setup_only_until_a_working_token_is_saved(alice_client, alice, connection, alice_pat):
    assert "Set up your ALM credentials" in alice_client.get(reverse("home")).content.decode()
    assert _post(alice_client, connection, alice_pat, "save").status_code == HTTPStatus.FOUND
    html = alice_client.get(reverse("home")).content.decode()
    assert "Set up your ALM credentials" not in html
    assert "Your token for Fabrikam works: your changes are recorded in Azure DevOps as Alice Example." in html


def test_home_asks_again_once_the_token_is_rejected(alice_client, alice_credential):
    AlmCredential.objects.filter(pk=alice_credential.pk).update(status=AlmCredential.Status.REJECTED)
    assert "Set up your ALM credentials" in alice_client.get(reverse("home")).content.decode()


def test_other_connections_say_a_token_is_optional(alice_client, connection, ado):
    AlmConnection.objects.create(
        name="Contoso", kind="services", url=f"{ado.base_url}/contoso", service_token="s" * 52, default_project="X"
    )
    html = alice_client.get(URL).content.decode()
    assert "Optional: the work item pages use the default connection" in html
    profile = alice_client.get(reverse("profile")).content.decode()
    assert "optional: work items use the default connection" in profile


def test_default_connection_says_whether_a_token_is_needed(alice_client, connection):
    # Saved as the admin saves it: pages list connections from the cache, which a save refreshes (alm.listing).
    connection.allow_service_account_fallback = True
    connection.save()
    assert "Optional, but until you add one your changes are recorded as" in alice_client.get(URL).content.decode()
    connection.allow_service_account_fallback = False
    connection.save()
    assert "Needed: you cannot change work items until you add one." in alice_client.get(URL).content.decode()


def test_saved_card_explains_unknown_expiry_when_two_tokens_share_the_name(
    alice_client, alice, connection, alice_pat, ado
):
    ado.issue_pat(demo_member(ado, "alice@fabrikam.example"), scopes=FIVE)  # a second valid "almlink"
    assert _post(alice_client, connection, alice_pat, "save").status_code == HTTPStatus.FOUND
    assert AlmCredential.objects.get(user=alice).expires_on is None
    html = alice_client.get(URL).content.decode()
    assert "Azure DevOps lists several (or none) of that name. Revoke the old ones or rename yours" in html
    assert f'href="{connection.url}/_usersSettings/tokens"' in html


def test_token_page_link_only_for_cloud_connections(alice_client, connection, alice_credential):
    AlmCredential.objects.filter(pk=alice_credential.pk).update(expires_on=None)
    assert "/_usersSettings/tokens" in alice_client.get(URL).content.decode()
    connection.kind = "server"
    connection.save()
    assert "/_usersSettings/tokens" not in alice_client.get(URL).content.decode()


def test_overview_csv_writes_iso_8601_seconds_with_zone(admin_client, alice, connection, settings):
    settings.TIME_ZONE = "UTC"
    AlmCredential.objects.create(
        user=alice,
        connection=connection,
        token="t" * 52,
        status=AlmCredential.Status.WORKING,
        expires_on=datetime(2027, 11, 28, 23, 59, 59, 999999, tzinfo=UTC),
        last_verified_at=datetime(2026, 11, 28, 19, 1, 2, 345678, tzinfo=UTC),
    )
    body = admin_client.get(reverse("admin:profiles_credential_overview"), {"format": "csv"}).getvalue().decode()
    row = next(line for line in body.splitlines() if line.startswith("alice,"))
    assert row.endswith(",2027-11-28T23:59:59+00:00,2026-11-28T19:01:02+00:00")
