"""Sign in with Microsoft on ALM Credentials, acting with the sign-in, and "Create my token for me"."""

from __future__ import annotations

import json
from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone

from alm import exceptions as ado_errors
from alm.scopes import REQUIRED_PERMISSIONS
from profiles.entra import forget_access_tokens
from profiles.entra_models import EntraSignIn
from profiles.models import AlmCredential
from tests.entra_helpers import change_title, configure_entra, entra_settings, walk_sign_in  # noqa: F401 - fixture
from workitems.models import AuditRecord

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("entra_settings")]

ALICE = "alice@fabrikam.example"
CREDENTIALS = reverse("alm_credentials")


@pytest.fixture
def entra_connection(connection, ado):
    return configure_entra(connection, ado)


def sign_in_through_pages(client, ado, connection, *, email=ALICE):
    """Press Sign in with Microsoft, pick the identity on the emulator's page, follow the callback."""
    start = client.get(reverse("entra_sign_in", args=[connection.pk]))
    assert start.status_code == HTTPStatus.FOUND
    target, query = walk_sign_in(ado, start["Location"], email=email)
    assert target.endswith(reverse("entra_callback"))
    return query, client.get(reverse("entra_callback"), query, follow=True)


def raw_cache(sign_in: EntraSignIn) -> bytes:
    with db.cursor() as cursor:
        cursor.execute("SELECT cache FROM profiles_entrasignin WHERE id = %s", [sign_in.pk])
        return bytes(cursor.fetchone()[0])


def test_signing_in_shows_the_test_connection_result(alice_client, ado, entra_connection, alice):
    _query, page = sign_in_through_pages(alice_client, ado, entra_connection)
    text = page.content.decode()
    assert "Signed in with Microsoft" in text
    assert "Alice Example" in text
    credential = AlmCredential.objects.get(user=alice, connection=entra_connection)
    assert credential.status == AlmCredential.Status.WORKING
    assert credential.ado_email == ALICE
    assert sorted(credential.permissions) == sorted(p.key for p in REQUIRED_PERMISSIONS)
    assert credential.token is None


def test_stored_sign_in_is_encrypted_and_holds_no_access_token(alice_client, ado, entra_connection, alice):
    sign_in_through_pages(alice_client, ado, entra_connection)
    sign_in = EntraSignIn.objects.get(credential__user=alice)
    cache = json.loads(sign_in.cache)
    assert cache["AccessToken"] == {}
    refresh = next(iter(cache["RefreshToken"].values()))["secret"]
    assert refresh.encode() not in raw_cache(sign_in)
    page = alice_client.get(CREDENTIALS).content.decode()
    assert refresh not in page


def test_replayed_callback_is_refused(alice_client, ado, entra_connection):
    query, _page = sign_in_through_pages(alice_client, ado, entra_connection)
    again = alice_client.get(reverse("entra_callback"), query, follow=True)
    assert "does not belong to it" in again.content.decode()


def test_callback_with_a_forged_state_is_refused(alice_client, ado, entra_connection, alice):
    start = alice_client.get(reverse("entra_sign_in", args=[entra_connection.pk]))
    _target, query = walk_sign_in(ado, start["Location"], email=ALICE)
    page = alice_client.get(reverse("entra_callback"), {**query, "state": "forged"}, follow=True)
    assert "does not belong to it" in page.content.decode()
    assert not AlmCredential.objects.filter(user=alice).exists()


def test_changes_act_as_the_signed_in_user(alice_client, ado, entra_connection, alice):
    sign_in_through_pages(alice_client, ado, entra_connection)
    actor, _item = change_title(alice, entra_connection, ado, "Changed with Entra")
    assert actor.kind == "user"
    assert ado.work_item_revisions("fabrikam", 1)[-1]["changed_by"]["email"] == ALICE


def test_expired_access_token_is_refreshed_and_the_change_succeeds(alice_client, ado, entra_connection, alice):
    ado.entra.access_token_lifetime = timedelta(seconds=60)  # inside the app's renewal margin at once
    sign_in_through_pages(alice_client, ado, entra_connection)
    before = EntraSignIn.objects.get(credential__user=alice).cache
    change_title(alice, entra_connection, ado, "After a refresh")
    assert ado.work_item("fabrikam", 1)["fields"]["System.Title"] == "After a refresh"
    # The rotated refresh token was stored.
    assert EntraSignIn.objects.get(credential__user=alice).cache != before


@pytest.mark.parametrize("reason", ["revoked", "consent", "inactive", "mfa"])
def test_ended_sign_in_refuses_the_change_and_never_falls_back(alice_client, ado, entra_connection, alice, reason):
    sign_in_through_pages(alice_client, ado, entra_connection)
    ado.entra.end_sign_in(ALICE, reason)
    forget_access_tokens()  # a new process: the next change must refresh
    before = ado.work_item("fabrikam", 1)["rev"]
    with pytest.raises(ado_errors.SignInEnded):
        change_title(alice, entra_connection, ado, "Must not happen")
    assert ado.work_item("fabrikam", 1)["rev"] == before
    credential = AlmCredential.objects.get(user=alice)
    assert credential.rejected_reason == AlmCredential.RejectedReason.SIGN_IN_ENDED
    banner = alice_client.get(reverse("home")).content.decode()
    assert "sign in again" in banner


def test_revoked_sign_in_is_refused_by_azure_devops_at_once(alice_client, ado, entra_connection, alice):
    sign_in_through_pages(alice_client, ado, entra_connection)
    ado.entra.end_sign_in(ALICE, "revoked")
    with pytest.raises(ado_errors.TokenRejected):
        change_title(alice, entra_connection, ado, "Must not happen")
    assert AuditRecord.objects.filter(outcome="rejected").exists()
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.REJECTED


def test_create_my_token_saves_a_working_twelve_month_pat_with_the_five_scopes(
    alice_client, ado, entra_connection, alice
):
    sign_in_through_pages(alice_client, ado, entra_connection)
    page = alice_client.post(reverse("entra_create_token", args=[entra_connection.pk]), follow=True)
    assert "Your personal access token was created and saved" in page.content.decode()
    credential = AlmCredential.objects.get(user=alice)
    assert credential.status == AlmCredential.Status.WORKING
    record = ado.pat_info(credential.token)
    assert set(record.scopes.split()) == {p.scope for p in REQUIRED_PERMISSIONS}
    assert record.display_name == "almlink"
    assert abs(record.valid_to - (timezone.now() + timedelta(days=365))) < timedelta(days=1)
    assert credential.expires_on is not None
    assert not EntraSignIn.objects.get(credential=credential).acting
    actor, _item = change_title(alice, entra_connection, ado, "With the created PAT")
    assert actor.credential.token == credential.token


def test_create_my_token_refused_by_the_organizations_policy(alice_client, ado, entra_connection, alice):
    sign_in_through_pages(alice_client, ado, entra_connection)
    ado.entra.pat_creation_restricted.add("fabrikam")
    page = alice_client.post(reverse("entra_create_token", args=[entra_connection.pk]), follow=True)
    assert "does not let you create this token" in page.content.decode()
    assert AlmCredential.objects.get(user=alice).token is None


def test_pat_only_connection_offers_no_sign_in(alice_client, connection):
    page = alice_client.get(CREDENTIALS).content.decode()
    assert "Sign in with Microsoft" not in page
    assert alice_client.get(reverse("entra_sign_in", args=[connection.pk]), follow=True).status_code == HTTPStatus.OK


def test_entra_only_connection_hides_the_token_form(alice_client, ado, connection):
    configure_entra(connection, ado, credential_types="entra")
    page = alice_client.get(CREDENTIALS).content.decode()
    assert "Sign in with Microsoft" in page
    assert 'name="token"' not in page


def test_saved_sign_in_tests_with_its_entra_token(alice_client, ado, entra_connection, alice):
    sign_in_through_pages(alice_client, ado, entra_connection)
    forget_access_tokens()
    response = alice_client.post(CREDENTIALS, {"connection": entra_connection.pk, "token": "", "action": "test"})
    assert response.status_code == HTTPStatus.OK
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.WORKING


def test_daily_check_turns_an_ended_sign_in_to_sign_in_again_and_mails_once(alice_client, ado, entra_connection, alice):
    sign_in_through_pages(alice_client, ado, entra_connection)
    ado.entra.end_sign_in(ALICE, "consent")
    forget_access_tokens()
    out = StringIO()
    call_command("check_alm_tokens", stdout=out)
    assert "1 rejected" in out.getvalue()
    credential = AlmCredential.objects.get(user=alice)
    assert credential.rejected_reason == AlmCredential.RejectedReason.SIGN_IN_ENDED
    assert len([m for m in mail.outbox if ALICE in m.to]) == 1


def test_daily_check_keeps_a_live_sign_in_working(alice_client, ado, entra_connection, alice):
    sign_in_through_pages(alice_client, ado, entra_connection)
    forget_access_tokens()
    out = StringIO()
    call_command("check_alm_tokens", stdout=out)
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.WORKING
