"""The administrator's overview: the same queries at any size, pages, filters, and a CSV that holds everyone."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alm.models import AlmConnection
from alm.token_state import State
from profiles.models import AlmCredential
from profiles.overview import PER_PAGE, counts_changed
from profiles.state import credential_state

pytestmark = pytest.mark.django_db

URL = reverse("admin:profiles_credential_overview")
# Session, user, connections, key notes, two counts, one page of rows: whatever the number of people.
PAGE_QUERIES = 7


def _seed(count: int, connection: AlmConnection, *, start: int = 0) -> None:
    """`count` people, eight in ten with a credential, in every state a seed can give without a key change."""
    now = timezone.now()
    people = get_user_model().objects.bulk_create(
        get_user_model()(
            username=f"person{n:05}", email=f"person{n:05}@fabrikam.example", first_name="Person", last_name=str(n)
        )
        for n in range(start, start + count)
    )
    kinds = {
        2: {}, 3: {}, 4: {},
        5: {"expires_on": now + timedelta(days=3)},
        6: {"status": "rejected", "rejected_reason": "revoked"},
        7: {"expires_on": now - timedelta(days=1)},
        8: {"status": "unverified"},
        9: {"ado_email": "someone.else@fabrikam.example"},
    }  # fmt: skip
    AlmCredential.objects.bulk_create(
        AlmCredential(
            user=person,
            connection=connection,
            token="t" * 52,
            **{
                "status": "working",
                "ado_email": person.email,
                "ado_id": f"id-{person.pk}",
                "ado_display_name": person.get_full_name(),
                "origin": connection.url,
                "expires_on": now + timedelta(days=200),
                **kinds[n % 10],
            },
        )
        for n, person in enumerate(people)
        if n % 10 in kinds
    )


def _selects_token(sql: str) -> bool:
    """The query reads the token column's value (not merely whether it is null)."""
    return re.search(r'"token"(?! IS )', sql.split(" FROM ")[0]) is not None


def _page_queries(client, *, counted: bool = True, **params) -> list[str]:
    if counted:
        counts_changed()  # the seeds use bulk_create, which sends no signal
    with CaptureQueriesContext(db) as captured:
        response = client.get(URL, params)
    assert response.status_code == HTTPStatus.OK
    return [query["sql"] for query in captured.captured_queries]


def _csv_rows(client, **params) -> list[dict[str, str]]:
    response = client.get(URL, {**params, "format": "csv"})
    assert response.status_code == HTTPStatus.OK
    assert response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _counts(page: str) -> dict[str, int]:
    return {state: int(page.split(f'data-state="{state}">')[1].split("<")[0]) for state in State}


def test_overview_page_makes_the_same_queries_for_20_and_600_people(admin_client, connection):
    _seed(20, connection)
    small = _page_queries(admin_client)
    _seed(580, connection, start=20)
    large = _page_queries(admin_client)
    assert (len(small), len(large)) == (PAGE_QUERIES, PAGE_QUERIES)
    filtered = _page_queries(admin_client, state="working", connection=connection.pk, page=3)
    assert len(filtered) == PAGE_QUERIES


def test_counts_are_reused_until_a_credential_changes(admin_client, connection, alice_credential):
    _seed(30, connection)
    first = admin_client.get(URL).content.decode()
    reused = _page_queries(admin_client, counted=False)
    AlmCredential.objects.filter(pk=alice_credential.pk).get().save()  # any save counts again
    recounted = _page_queries(admin_client, counted=False)

    assert "Counted at" in first
    assert len(reused) == PAGE_QUERIES - 3  # no key-note check, no aggregate, no count of people
    assert len(recounted) == PAGE_QUERIES


def test_overview_page_never_reads_a_token(admin_client, connection):
    _seed(50, connection)
    reading = [sql for sql in _page_queries(admin_client) if _selects_token(sql)]
    # Only the key-note check reads the column, and only the tokens whose note is about no reading key.
    assert len(reading) == 1
    assert '"token" AS "ciphertext"' in reading[0]


def test_overview_pages_rows_in_user_name_order(admin_client, connection):
    _seed(250, connection)
    first = admin_client.get(URL).content.decode()
    third = admin_client.get(URL, {"page": 3}).content.decode()
    assert "person00000 (Person 0)" in first
    assert f"person{PER_PAGE - 2:05}" in first  # admin and the seed: 251 rows, admin comes first
    assert f"person{PER_PAGE - 1:05}" not in first
    assert "251 rows, page 1 of 3" in first
    assert "person00199" in third
    assert "person00249" in third
    assert "person00198" not in third
    assert "page 3 of 3" in admin_client.get(URL, {"page": 99}).content.decode()


def test_counts_follow_the_connection_and_sum_to_everyone(admin_client, connection):
    other = AlmConnection.objects.create(name="Contoso", url="https://dev.azure.com/contoso", service_token="s" * 52)
    _seed(100, connection)
    both = _counts(admin_client.get(URL).content.decode())
    fabrikam = _counts(admin_client.get(URL, {"connection": connection.pk}).content.decode())
    contoso = _counts(admin_client.get(URL, {"connection": other.pk}).content.decode())
    assert sum(both.values()) == 2 * 101  # the seed and the admin, on each connection
    assert contoso == {**dict.fromkeys(State, 0), State.MISSING: 101}
    assert fabrikam[State.MISSING] == 21
    assert {state: fabrikam[state] + contoso[state] for state in State} == both


def test_csv_of_3000_people_holds_every_row_and_matches_the_counts(admin_client, connection):
    _seed(3000, connection)
    page = admin_client.get(URL).content.decode()
    counts = _counts(page)
    everyone = _csv_rows(admin_client)
    assert len(everyone) == sum(counts.values()) == 3001
    assert Counter(row["state"] for row in everyone) == {state: n for state, n in counts.items() if n}
    assert [row["username"] for row in everyone] == sorted(row["username"] for row in everyone)
    for state in (State.MISSING, State.EXPIRING, State.FOREIGN):
        rows = _csv_rows(admin_client, state=state, connection=connection.pk)
        assert len(rows) == counts[state] > 0
        assert {row["state"] for row in rows} == {state}
    # Each row says what credential_state says of that person's credential.
    saved = {c.user.username: c for c in AlmCredential.objects.select_related("user", "connection")}
    now = timezone.now()
    assert {row["username"]: row["state"] for row in everyone} == {
        user: str(credential_state(saved.get(user), now=now).state)
        for user in get_user_model().objects.values_list("username", flat=True)
    }


def test_unreadable_tokens_are_counted_and_listed_after_a_key_change(admin_client, connection, settings):
    _seed(30, connection)
    settings.ALM_ENCRYPTION_KEY = "b3RoZXIta2V5LWZvci10aGUtc3RhdGUtdGVzdHMtMzI="
    counts = _counts(admin_client.get(URL).content.decode())
    assert counts[State.UNREADABLE] == 24
    assert counts[State.MISSING] == 7
    assert len(_csv_rows(admin_client, state="unreadable")) == 24
    # Noted once: the next page decrypts nothing.
    assert len(_page_queries(admin_client)) == PAGE_QUERIES
