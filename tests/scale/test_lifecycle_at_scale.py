"""The daily check over many credentials: streamed, each checked once, throttling waited out without a worker."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alm.models import AlmConnection
from profiles import lifecycle
from profiles.lifecycle import check_all_tokens
from profiles.models import AlmCredential, TokenNotice

pytestmark = pytest.mark.django_db
FIVE = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"


def _people(ado, django_user_model, connection, count: int, *, expiring_every: int = 0) -> list[str]:
    """`count` users, each with a verified token saved; every `expiring_every`th token expires in 10 days."""
    ids = []
    for n in range(count):
        email = f"person{n:03d}@fabrikam.example"
        identity = ado.add_identity(display_name=f"Person {n:03d}", email=email)
        days = 10 if expiring_every and n % expiring_every == 0 else 300
        token = ado.issue_pat(identity, scopes=FIVE, valid_to=timezone.now() + timedelta(days=days))
        user = django_user_model.objects.create_user(f"person{n:03d}", email=email)
        AlmCredential.objects.create(
            user=user, connection=connection, token=token, status=AlmCredential.Status.WORKING,
            ado_id=identity.id, ado_email=email, origin=connection.url,
        )
        ids.append(identity.id)
    return ids


def _checked(ado, ids: list[str]) -> Counter[str]:
    return Counter(
        r.identity_id for r in ado.requests
        if r.status == 200 and r.path.endswith("/_apis/connectionData") and r.identity_id in ids
    )


def test_every_credential_checked_once_across_chunks(ado, django_user_model, connection, monkeypatch):
    # A small chunk, so that a few credentials span several reads of the table.
    monkeypatch.setattr(lifecycle, "CHUNK", 3)
    ids = _people(ado, django_user_model, connection, 10, expiring_every=4)
    ado.clear_requests()
    summary = check_all_tokens(workers=2)
    assert summary.checked == 11  # the service account and ten people
    assert summary.working == 10
    assert _checked(ado, ids) == Counter(ids)
    assert sorted(m.to[0] for m in mail.outbox if m.to[0].startswith("person")) == [
        "person000@fabrikam.example", "person004@fabrikam.example", "person008@fabrikam.example",
    ]
    assert TokenNotice.objects.filter(subject__startswith="user:").count() == 3


def test_throttled_check_is_retried_after_retry_after_and_counted_once(ado, django_user_model, connection):
    ids = _people(ado, django_user_model, connection, 4)
    ado.clear_requests()
    # The service account's check comes first and uses four (two tries, each retried once by the client);
    # then a person's first call and the client's retry are throttled: the job tries that credential later.
    ado.set_fault("throttle", path="connectionData$", count=6, retry_after=1)
    summary = check_all_tokens(workers=2)
    assert summary.checked == 5
    assert summary.working == 4
    assert summary.unreachable == 0
    assert len([r for r in ado.requests if r.status == 429]) == 6
    assert _checked(ado, ids) == Counter(ids)
    assert AlmConnection.objects.get(pk=connection.pk).last_test_ok is not False


def _peak_overlap(records) -> int:
    """The most requests the emulator was answering at one moment."""
    edges = sorted([(r.started, 1) for r in records] + [(r.ended, -1) for r in records])
    peak = current = 0
    for _moment, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def test_calls_in_flight_never_exceed_the_workers_worth(ado, django_user_model, connection):
    from alm.check import CALLS_PER_CHECK

    _people(ado, django_user_model, connection, 12)
    ado.set_fault("latency", seconds=0.05)
    ado.clear_requests()
    summary = check_all_tokens(workers=2)
    assert summary.working == 12
    peak = _peak_overlap(ado.requests)
    # Twelve credentials are taken eight at a time, so without the bound up to 48 calls would be in flight.
    assert CALLS_PER_CHECK < peak <= 2 * CALLS_PER_CHECK


def test_call_waiting_out_retry_after_leaves_room_for_other_checks(ado, django_user_model, connection):
    ids = _people(ado, django_user_model, connection, 6)
    ado.set_fault("latency", seconds=0.05)
    ado.clear_requests()
    # One person's connectionData is throttled once (after the service account's check), with one
    # check's worth of calls allowed: other people's calls are answered while that one waits.
    ado.set_fault("throttle", path="connectionData$", count=1, retry_after=1, every=2)
    summary = check_all_tokens(workers=1)
    assert summary.working == 6
    assert _checked(ado, ids) == Counter(ids)
    throttled = next(r for r in ado.requests if r.status == 429)
    retry = next(r for r in ado.requests if r.path == throttled.path and r.started >= throttled.ended + 0.9)
    meanwhile = [r for r in ado.requests if throttled.ended < r.started < retry.started]
    assert len(meanwhile) >= 6  # at least one other check went through during the second it waited
