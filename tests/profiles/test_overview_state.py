"""The state the database computes (profiles.state.annotate_state) is the state credential_state gives.

One table: each row stores a credential's facts, and both sides must name the same state, at the
boundaries of every threshold. CI runs it on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alm.models import AlmConnection
from alm.token_state import EXPIRING_WITHIN, State
from profiles.models import AlmCredential
from profiles.overview import overview_rows
from profiles.state import annotate_state, credential_state, note_token_keys

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
URL = "https://dev.azure.com/fabrikam"
OTHER_KEY = "b3RoZXIta2V5LWZvci10aGUtc3RhdGUtdGVzdHMtMzI="
EMAIL = "carol@fabrikam.example"
WORKING = {"status": "working", "ado_email": EMAIL, "ado_id": "id-1", "origin": URL}

CASES = {
    # name: (credential fields over WORKING, user e-mail, expected)
    "working, far from its end": ({"expires_on": NOW + timedelta(days=300)}, EMAIL, State.WORKING),
    "working, no end date known": ({"expires_on": None}, EMAIL, State.WORKING),
    "working, ends exactly at the expiring threshold": ({"expires_on": NOW + EXPIRING_WITHIN}, EMAIL, State.WORKING),
    "expiring, a microsecond inside the threshold": (
        {"expires_on": NOW + EXPIRING_WITHIN - timedelta(microseconds=1)},
        EMAIL,
        State.EXPIRING,
    ),
    "expiring, a microsecond before its end": ({"expires_on": NOW + timedelta(microseconds=1)}, EMAIL, State.EXPIRING),
    "expired, ends exactly now": ({"expires_on": NOW}, EMAIL, State.EXPIRED),
    "expired, ended yesterday": ({"expires_on": NOW - timedelta(days=1)}, EMAIL, State.EXPIRED),
    "expired, Azure DevOps said so": ({"status": "rejected", "rejected_reason": "expired"}, EMAIL, State.EXPIRED),
    "expired reason on a working token is not read": ({"rejected_reason": "expired"}, EMAIL, State.WORKING),
    "rejected, revoked": ({"status": "rejected", "rejected_reason": "revoked"}, EMAIL, State.REJECTED),
    "rejected, missing permissions": ({"status": "rejected", "rejected_reason": "permissions"}, EMAIL, State.REJECTED),
    "rejected without a reason is unverified": ({"status": "rejected", "rejected_reason": ""}, EMAIL, State.UNVERIFIED),
    "rejected wins over a moved address": (
        {"status": "rejected", "rejected_reason": "invalid", "origin": "https://dev.azure.com/other"},
        EMAIL,
        State.REJECTED,
    ),
    "expired wins over rejected": (
        {"status": "rejected", "rejected_reason": "revoked", "expires_on": NOW},
        EMAIL,
        State.EXPIRED,
    ),
    "unverified": ({"status": "unverified", "ado_email": "", "ado_id": ""}, EMAIL, State.UNVERIFIED),
    "unverified ending soon stays unverified": (
        {"status": "unverified", "expires_on": NOW + timedelta(days=1)},
        EMAIL,
        State.UNVERIFIED,
    ),
    "foreign by status": ({"status": "foreign"}, EMAIL, State.FOREIGN),
    "foreign by status wins over expired": ({"status": "foreign", "expires_on": NOW}, EMAIL, State.FOREIGN),
    "foreign: another e-mail": ({"ado_email": "dave@fabrikam.example"}, EMAIL, State.FOREIGN),
    "own: e-mail in other case": ({"ado_email": "Carol@Fabrikam.EXAMPLE"}, EMAIL, State.WORKING),
    "own: user e-mail in other case": ({}, "CAROL@fabrikam.example", State.WORKING),
    "own: e-mail with spaces around": ({"ado_email": f" \t{EMAIL}\n"}, EMAIL, State.WORKING),
    "own: user e-mail with spaces around": ({}, f"  {EMAIL} ", State.WORKING),
    "own: accented e-mail in other case": (
        {"ado_email": "Élise@fabrikam.example"},
        "élise@FABRIKAM.example",
        State.WORKING,
    ),
    "foreign: accented e-mail differs": (
        {"ado_email": "élise@fabrikam.example"},
        "elise@fabrikam.example",
        State.FOREIGN,
    ),
    "foreign: identity known, e-mail empty": ({"ado_email": ""}, EMAIL, State.FOREIGN),
    "foreign: identity known, e-mail blank": ({"ado_email": "   "}, "   ", State.FOREIGN),
    "foreign: both e-mails empty": ({"ado_email": ""}, "", State.FOREIGN),
    "not foreign: nothing learned": ({"ado_email": "", "ado_id": ""}, EMAIL, State.WORKING),
    "not foreign: e-mail learned, no identity id": ({"ado_id": ""}, EMAIL, State.WORKING),
    "foreign: e-mail without identity id": ({"ado_id": "", "ado_email": "x@y.example"}, EMAIL, State.FOREIGN),
    "retest: verified for another address": ({"origin": "https://dev.azure.com/other"}, EMAIL, State.RETEST),
    "retest: no address noted": ({"origin": ""}, EMAIL, State.RETEST),
    "same address: trailing slashes and case": ({"origin": URL.upper() + "//"}, EMAIL, State.WORKING),
    "retest wins over unverified": ({"status": "unverified", "origin": ""}, EMAIL, State.RETEST),
    "retest wins over expiring": ({"origin": "", "expires_on": NOW + timedelta(days=1)}, EMAIL, State.RETEST),
}


def _store(fields: dict, email: str, *, token: str | None = "t" * 52) -> AlmCredential:
    from django.contrib.auth import get_user_model

    connection = AlmConnection.objects.first() or AlmConnection.objects.create(
        name="Fabrikam", url=URL, service_token="s" * 52, is_default=True
    )
    user = get_user_model().objects.create_user("carol", email=email)
    return AlmCredential.objects.create(user=user, connection=connection, token=token, **{**WORKING, **fields})


def _both(credential: AlmCredential) -> tuple[str, str]:
    python = credential_state(
        AlmCredential.objects.select_related("user", "connection").get(pk=credential.pk), now=NOW
    ).state
    sql = annotate_state(AlmCredential.objects.filter(pk=credential.pk), now=NOW).values_list("state", flat=True)
    return str(python), sql.get()


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "email", "expected"), CASES.values(), ids=CASES.keys())
def test_database_state_agrees_with_credential_state(fields, email, expected):
    python, sql = _both(_store(fields, email))
    assert (python, sql) == (expected, expected)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "expected"),
    [({"ado_email": "dave@fabrikam.example"}, State.WORKING), ({"status": "foreign"}, State.FOREIGN)],
    ids=["another e-mail may act", "foreign by status still is"],
)
def test_database_state_agrees_when_foreign_tokens_are_allowed(settings, fields, expected):
    settings.ALM_ALLOW_FOREIGN_TOKENS = True
    python, sql = _both(_store(fields, EMAIL))
    assert (python, sql) == (expected, expected)


@pytest.mark.django_db
def test_token_saved_with_another_key_is_unreadable_in_both(settings):
    current = settings.ALM_ENCRYPTION_KEY
    settings.ALM_ENCRYPTION_KEY = OTHER_KEY
    credential = _store({}, EMAIL)
    settings.ALM_ENCRYPTION_KEY = current
    assert _both(credential) == (State.UNREADABLE, State.UNREADABLE)


@pytest.mark.django_db
def test_key_changed_in_the_settings_is_noted_once_then_both_agree(settings):
    current = settings.ALM_ENCRYPTION_KEY
    credential = _store({}, EMAIL)
    assert _both(credential) == (State.WORKING, State.WORKING)
    settings.ALM_ENCRYPTION_KEY = OTHER_KEY
    assert note_token_keys() == 1
    assert note_token_keys() == 0  # noted: not decrypted again under this key
    assert _both(credential) == (State.UNREADABLE, State.UNREADABLE)
    settings.ALM_ENCRYPTION_KEY = current
    assert note_token_keys() == 1  # the right key again: readable again
    assert _both(credential) == (State.WORKING, State.WORKING)


@pytest.mark.django_db
def test_token_without_a_note_is_noted_before_the_database_trusts_it():
    credential = _store({}, EMAIL)
    AlmCredential.objects.filter(pk=credential.pk).update(token_key="")
    assert annotate_state(AlmCredential.objects.all(), now=NOW).get().state == State.UNREADABLE
    assert note_token_keys() == 1
    assert _both(credential) == (State.WORKING, State.WORKING)


@pytest.mark.django_db
def test_person_without_a_credential_is_missing_in_both():
    from django.contrib.auth import get_user_model

    credential = _store({}, EMAIL)
    get_user_model().objects.create_user("dave", email="dave@fabrikam.example")
    rows = {row["username"]: row["state"] for row in overview_rows(now=NOW)}
    assert rows == {"carol": State.WORKING, "dave": State.MISSING}
    assert str(credential_state(None, now=NOW).state) == State.MISSING
    assert credential.pk


@pytest.mark.django_db
def test_sign_in_without_a_token_is_readable_in_both():
    credential = _store({}, EMAIL, token=None)
    assert _both(credential) == (State.WORKING, State.WORKING)


@pytest.mark.django_db
def test_token_of_the_previous_key_reads_during_a_rotation_in_both(settings):
    current = settings.ALM_ENCRYPTION_KEY
    settings.ALM_ENCRYPTION_KEY = OTHER_KEY
    credential = _store({}, EMAIL)
    settings.ALM_ENCRYPTION_KEY, settings.ALM_ENCRYPTION_KEY_OLD = current, OTHER_KEY
    assert _both(credential) == (State.WORKING, State.WORKING)
    assert note_token_keys() == 0  # its note names a reading key already
    settings.ALM_ENCRYPTION_KEY_OLD = ""
    assert _both(credential) == (State.UNREADABLE, State.UNREADABLE)
    assert note_token_keys() == 1  # checked once under the new set of keys, then noted
    assert note_token_keys() == 0
    assert _both(credential) == (State.UNREADABLE, State.UNREADABLE)


# What needs normalizing (letter case, white space, a trailing slash) is normalized in Python when it is
# stored, so the database compares plain columns. These follow every way those columns are written.


@pytest.mark.django_db
def test_both_follow_a_change_of_the_persons_email(django_assert_num_queries):
    credential = _store({}, EMAIL)
    user = credential.user
    user.email = "carol.new@fabrikam.example"
    user.save()
    assert _both(credential) == (State.FOREIGN, State.FOREIGN)
    user.email = EMAIL.upper()
    user.save(update_fields=["email"])
    assert _both(credential) == (State.WORKING, State.WORKING)
    with django_assert_num_queries(1):  # a sign-in's save of last_login leaves the credentials alone
        user.save(update_fields=["last_login"])


@pytest.mark.django_db
def test_both_agree_on_rows_written_by_bulk_create():
    from django.contrib.auth import get_user_model

    connection = AlmConnection.objects.create(name="Fabrikam", url=URL, service_token="s" * 52, is_default=True)
    people = get_user_model().objects.bulk_create(
        get_user_model()(username=name, email=email)
        for name, email in [("carol", EMAIL), ("dave", "dave@fabrikam.example")]
    )
    made = AlmCredential.objects.bulk_create(
        AlmCredential(user=person, connection=connection, token="t" * 52, **{**WORKING, **fields})
        for person, fields in zip(
            people, [{"ado_email": "Carol@Fabrikam.example", "origin": URL.upper() + "/"}, {}], strict=True
        )
    )
    assert [_both(credential) for credential in made] == [(State.WORKING,) * 2, (State.FOREIGN,) * 2]


@pytest.mark.django_db
def test_both_follow_what_a_test_learns_and_a_change_proves():
    from alm.check import TokenReport
    from alm.types import Identity
    from profiles.services import CheckOutcome, mark_foreign, record_outcome

    credential = _store({"ado_email": "dave@fabrikam.example", "origin": ""}, EMAIL)
    assert _both(credential) == (State.FOREIGN, State.FOREIGN)
    credential = AlmCredential.objects.select_related("user", "connection").get(pk=credential.pk)
    identity = Identity(id="id-1", display_name="Carol", email=" CAROL@fabrikam.example", descriptor=None,
                        subject_descriptor=None)  # fmt: skip
    report = TokenReport(identity=identity, permissions=(), expires_on=None, expiry_note="", token_name=None,
                         elapsed_ms=1)  # fmt: skip
    record_outcome(credential=credential, outcome=CheckOutcome(connection_id=credential.connection_id, report=report))
    assert _both(credential) == (State.WORKING, State.WORKING)  # its own, and verified for this address
    mark_foreign(credential=credential, identity_name="Dave Example")
    assert _both(credential) == (State.FOREIGN, State.FOREIGN)
    assert AlmCredential.objects.get(pk=credential.pk).email_matches is False


@pytest.mark.django_db
def test_both_follow_the_connection_moving_in_letter_case_only():
    credential = _store({}, EMAIL)
    connection = credential.connection
    connection.url = URL.replace("fabrikam", "Fabrikam")
    connection.save(update_fields=["url"])
    assert _both(credential) == (State.WORKING, State.WORKING)
    connection.url = "https://dev.azure.com/contoso"
    connection.save(update_fields=["url"])
    assert _both(credential) == (State.RETEST, State.RETEST)
