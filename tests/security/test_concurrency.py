"""Concurrent users on PostgreSQL: simultaneous saves leave one credential, simultaneous edits never lose one.

Real threads, each with its own database connection, against committed data (transaction=True).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from profiles.models import AlmCredential
from tests.helpers import demo_item_ids, demo_member, text_of
from workitems.models import AuditRecord

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

CREDENTIALS = reverse("alm_credentials")
FIVE = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"


def run_together(*jobs: Callable[[], Any]) -> list[Any]:
    """Start the jobs at the same instant, each in its own thread with its own database connection."""
    start = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            start.wait()
            results[index] = job()
        except Exception as error:  # reported by the test, not lost in the thread
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_twenty_simultaneous_saves_leave_one_credential(alice, connection, alice_pat, settings):
    settings.ALM_CREDENTIAL_RATE_LIMIT = 1000
    clients = [signed_in(alice) for _ in range(20)]
    data = {"connection": connection.pk, "token": alice_pat, "action": "save"}

    responses = run_together(*(lambda client=client: client.post(CREDENTIALS, data) for client in clients))

    assert [getattr(r, "status_code", r) for r in responses] == [HTTPStatus.FOUND] * 20
    credential = AlmCredential.objects.get(user=alice)
    assert credential.token == alice_pat
    assert credential.status == AlmCredential.Status.WORKING
    assert AlmCredential.objects.count() == 1


def test_simultaneous_edits_of_one_work_item_give_one_success_and_one_conflict(
    alice, bob, connection, alice_credential, bob_pat, ado
):
    from profiles.services import save_credential

    save_credential(user=bob, connection=connection, token=bob_pat)
    item_id = demo_item_ids(ado)[0]
    before = ado.work_item("fabrikam", item_id)
    url = reverse("work_item_edit", args=[item_id])
    editors = {"Alice's title": signed_in(alice), "Bob's title": signed_in(bob)}
    forms = {}
    for title, client in editors.items():
        page = client.get(url).content.decode()
        actor = re.search(r'name="actor" value="([a-z_]*)"', page).group(1)
        forms[title] = {"title": title, "state": before["fields"]["System.State"], "rev": before["rev"], "actor": actor}

    responses = run_together(*(lambda t=title, c=client: c.post(url, forms[t]) for title, client in editors.items()))

    codes = sorted(getattr(r, "status_code", r) for r in responses)
    assert codes == [HTTPStatus.OK, HTTPStatus.FOUND]
    winner = next(title for title, r in zip(editors, responses, strict=True) if r.status_code == HTTPStatus.FOUND)
    loser_page = next(r for r in responses if r.status_code == HTTPStatus.OK)
    assert "changed by someone else" in text_of(loser_page.content.decode())
    after = ado.work_item("fabrikam", item_id)
    assert after["fields"]["System.Title"] == winner
    assert after["rev"] == before["rev"] + 1  # one change made, none lost, none applied twice
    assert sorted(AuditRecord.objects.values_list("outcome", flat=True)) == ["conflict", "success"]


def test_simultaneous_edits_through_the_service_give_one_success_and_one_conflict(
    alice, connection, alice_credential, ado
):
    from alm.exceptions import Conflict
    from workitems import services as work

    item_id = demo_item_ids(ado)[1]
    before = ado.work_item("fabrikam", item_id)
    state = before["fields"]["System.State"]

    def edit(title: str) -> Callable[[], Any]:
        return lambda: work.update_work_item(
            user=alice, connection=connection, work_item_id=item_id, rev=before["rev"], title=title, state=state
        )

    outcomes = run_together(edit("First"), edit("Second"))

    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    successes = [o for o in outcomes if isinstance(o, tuple)]
    assert (len(successes), len(conflicts)) == (1, 1), outcomes
    assert ado.work_item("fabrikam", item_id)["fields"]["System.Title"] == successes[0][1].title
    assert ado.work_item("fabrikam", item_id)["rev"] == before["rev"] + 1


def test_testing_the_saved_token_never_overwrites_a_token_saved_meanwhile(
    alice, connection, alice_credential, alice_pat, ado, settings
):
    """Test Connection on the saved token is slow; meanwhile Alice saves a new token in another tab."""
    settings.ALM_CREDENTIAL_RATE_LIMIT = 1000
    newer = ado.issue_pat(demo_member(ado, "alice@fabrikam.example"), scopes=FIVE, display_name="almlink-2")
    ado.set_fault("latency", path="connectionData", count=1, seconds=1.0)
    tester, saver = signed_in(alice), signed_in(alice)

    def test_saved() -> Any:
        return tester.post(CREDENTIALS, {"connection": connection.pk, "token": "", "action": "test"})

    def save_newer() -> Any:
        while ado.faults():  # the slow test has sent its first call: the old token is loaded
            time.sleep(0.01)
        return saver.post(CREDENTIALS, {"connection": connection.pk, "token": newer, "action": "save"})

    tested, saved = run_together(test_saved, save_newer)

    assert (tested.status_code, saved.status_code) == (HTTPStatus.OK, HTTPStatus.FOUND)
    assert AlmCredential.objects.get(user=alice).token == newer


def test_testing_the_saved_token_never_brings_back_a_token_removed_meanwhile(
    alice, connection, alice_credential, ado, settings
):
    """Test Connection on the saved token is slow; meanwhile Alice removes the token in another tab."""
    settings.ALM_CREDENTIAL_RATE_LIMIT = 1000
    ado.set_fault("latency", path="connectionData", count=1, seconds=1.0)
    tester, remover = signed_in(alice), signed_in(alice)

    def test_saved() -> Any:
        return tester.post(CREDENTIALS, {"connection": connection.pk, "token": "", "action": "test"})

    def remove() -> Any:
        while ado.faults():
            time.sleep(0.01)
        return remover.post(reverse("remove_credential", args=[connection.pk]))

    tested, removed = run_together(test_saved, remove)

    assert (tested.status_code, removed.status_code) == (HTTPStatus.OK, HTTPStatus.FOUND)
    assert not AlmCredential.objects.filter(user=alice).exists()
