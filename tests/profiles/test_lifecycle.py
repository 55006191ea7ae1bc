"""Token lifecycle: the daily check, its e-mails (once per event), the lock, the admin overview."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from profiles.lifecycle import LOCK_NAME, job_lock
from profiles.models import AlmCredential, TokenNotice
from profiles.services import save_credential
from tests.helpers import SERVICE_EMAIL, demo_member

pytestmark = pytest.mark.django_db
FIVE = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"


def _run() -> str:
    out = StringIO()
    call_command("check_alm_tokens", stdout=out)
    return out.getvalue()


def _alice_token(ado, *, days: float) -> str:
    """A new token for Alice; her demo token is revoked, so the new one is her only "almlink" token."""
    from tests.helpers import demo_identity

    ado.revoke_pat(demo_identity(ado, "alice@fabrikam.example")["pat"])
    identity = demo_member(ado, "alice@fabrikam.example")
    return ado.issue_pat(identity, scopes=FIVE, valid_to=timezone.now() + timedelta(days=days))


def _mails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def test_revoked_token_found_by_daily_check_banner_and_one_email(alice_client, alice, alice_credential, ado):
    ado.revoke_pat(alice_credential.token)
    output = _run()
    assert "1 rejected" in output
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.REJECTED
    assert 'id="alm-banner"' in alice_client.get(reverse("home")).content.decode()
    sent = _mails_to("alice@fabrikam.example")
    assert len(sent) == 1
    assert "no longer works" in sent[0].subject
    assert "/profile/alm-credentials/" in sent[0].body
    assert sent[0].alternatives
    assert "/profile/alm-credentials/" in sent[0].alternatives[0][0]
    assert alice_credential.token not in sent[0].body
    _run()
    assert len(_mails_to("alice@fabrikam.example")) == 1  # never twice for the same event


def test_expiring_within_14_days_sends_one_email(alice, connection, ado):
    token = _alice_token(ado, days=10)
    credential, _ = save_credential(user=alice, connection=connection, token=token)
    assert credential is not None
    _run()
    _run()
    assert [m.subject for m in _mails_to("alice@fabrikam.example")] == [
        f"Your Azure DevOps token for almlink expires on {credential.expires_on:%d %b %Y}"
    ]
    assert set(TokenNotice.objects.values_list("event", flat=True)) == {"expires_14"}


def test_three_day_event_is_its_own_notice(alice, connection, ado):
    token = _alice_token(ado, days=2)
    save_credential(user=alice, connection=connection, token=token)
    _run()
    _run()
    assert set(TokenNotice.objects.values_list("event", flat=True)) == {"expires_3"}
    assert len(_mails_to("alice@fabrikam.example")) == 1


def test_replaced_token_gets_fresh_notices(alice, connection, ado):
    first = _alice_token(ado, days=10)
    save_credential(user=alice, connection=connection, token=first)
    _run()
    ado.revoke_pat(first)  # replaced by a new one, as people do
    second = _alice_token(ado, days=12)
    save_credential(user=alice, connection=connection, token=second)
    _run()
    assert len(_mails_to("alice@fabrikam.example")) == 2


def test_outage_changes_nothing_and_sends_nothing(alice, alice_credential, ado):
    ado.set_fault("status", status=503)
    output = _run()
    assert "not reachable" in output
    assert AlmCredential.objects.get(user=alice).status == AlmCredential.Status.WORKING
    assert mail.outbox == []


def test_service_account_expiry_emails_staff_and_admin_warns(admin_user, connection, ado, client):

    identity = demo_member(ado, SERVICE_EMAIL)
    ado.revoke_pat(connection.service_token)  # replaced by the one below
    connection.service_token = ado.issue_pat(identity, scopes=FIVE, valid_to=timezone.now() + timedelta(days=5))
    connection.save()
    admin_user.email = "ops@fabrikam.example"
    admin_user.save()
    _run()
    _run()
    sent = _mails_to("ops@fabrikam.example")
    assert len(sent) == 1
    assert "service account token of Fabrikam expires soon" in sent[0].subject
    client.force_login(admin_user)
    page = client.get(reverse("admin:alm_almconnection_changelist")).content.decode()
    assert "The service account token of Fabrikam expires on" in page


def test_service_account_revoked_emails_staff(admin_user, connection, ado):
    admin_user.email = "ops@fabrikam.example"
    admin_user.save()
    ado.revoke_pat(connection.service_token)
    _run()
    sent = _mails_to("ops@fabrikam.example")
    assert len(sent) == 1
    assert "no longer works" in sent[0].subject


def test_only_one_host_does_the_work(alice_credential, ado):
    with job_lock(LOCK_NAME):
        ado.clear_requests()
        output = _run()
    assert "Another check_alm_tokens is running" in output
    assert ado.requests == []
    assert "Checked" in _run()  # released afterwards


def test_summary_line_counts(alice_credential, bob, connection, bob_pat):
    save_credential(user=bob, connection=connection, token=bob_pat)
    assert "Checked 3 tokens: 2 working, 0 rejected" in _run()


def test_admin_overview_counts_filters_and_csv(admin_client, alice, bob, alice_credential, connection):
    AlmCredential.objects.create(
        user=bob, connection=connection, token="x" * 52, status="rejected", rejected_reason="revoked"
    )
    url = reverse("admin:profiles_credential_overview")
    page = admin_client.get(url).content.decode()
    assert 'data-state="working">1<' in page
    assert 'data-state="rejected">1<' in page
    assert 'data-state="missing">1<' in page  # the admin user has none
    filtered = admin_client.get(url, {"state": "rejected"}).content.decode()
    assert "<td>bob (Bob Example)</td>" in filtered
    assert "alice (Alice" not in filtered
    csv = admin_client.get(url, {"format": "csv"})
    assert csv.status_code == HTTPStatus.OK
    body = b"".join(csv.streaming_content).decode()
    assert body.splitlines()[0].startswith("username,name,email,connection,state")
    assert "alice,Alice Example,alice@fabrikam.example,Fabrikam,working" in body
    assert alice_credential.token not in body
    assert "x" * 52 not in body
    assert "x" * 52 not in page


def test_outage_keeps_what_the_service_account_test_learned(admin_user, connection, ado):
    from alm.services import check_connection

    check_connection(connection=connection)
    connection.refresh_from_db()
    learned = (connection.last_test_ok, connection.last_test_identity_name, connection.last_test_expires_on)
    admin_user.email = "ops@fabrikam.example"
    admin_user.save()
    ado.set_fault("status", status=503)
    _run()
    connection.refresh_from_db()
    assert (connection.last_test_ok, connection.last_test_identity_name, connection.last_test_expires_on) == learned
    assert mail.outbox == []
