"""The one state of a saved credential, from its stored facts (profiles.state over alm.token_state)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alm.fields import UnreadableToken
from alm.token_state import EXPIRING_WITHIN, State
from profiles.models import AlmCredential
from profiles.state import credential_state

pytestmark = pytest.mark.django_db
NOW = timezone.now()
WORKING = AlmCredential.Status.WORKING
ALICE = "alice@fabrikam.example"
ALL_STATES_BUT_MISSING = set(State) - {State.MISSING}

CASES = [
    # (name, stored facts, expected state)
    ("working", {}, State.WORKING),
    ("expiry not known is working", {"expires_on": None}, State.WORKING),
    ("expiring just inside the window", {"expires_on": NOW + EXPIRING_WITHIN - timedelta(minutes=1)}, State.EXPIRING),
    ("not yet expiring at the window", {"expires_on": NOW + EXPIRING_WITHIN + timedelta(minutes=1)}, State.WORKING),
    ("expired exactly now", {"expires_on": NOW}, State.EXPIRED),
    ("expired by date though marked working", {"expires_on": NOW - timedelta(days=1)}, State.EXPIRED),
    ("expired as Azure DevOps said", {"status": "rejected", "rejected_reason": "expired"}, State.EXPIRED),
    ("revoked", {"status": "rejected", "rejected_reason": "revoked"}, State.REJECTED),
    ("missing permissions", {"status": "rejected", "rejected_reason": "permissions"}, State.REJECTED),
    ("unverified", {"status": "unverified", "ado_email": "", "ado_id": ""}, State.UNVERIFIED),
    ("foreign by status", {"status": "foreign"}, State.FOREIGN),
    ("foreign by e-mail", {"ado_email": "bob@fabrikam.example"}, State.FOREIGN),
    ("e-mail case does not matter", {"ado_email": "Alice@Fabrikam.Example"}, State.WORKING),
    ("foreign wins over expired", {"status": "foreign", "expires_on": NOW - timedelta(days=1)}, State.FOREIGN),
    ("moved connection", {"origin": "https://dev.azure.com/elsewhere"}, State.RETEST),
    ("rejected wins over moved", {"status": "rejected", "rejected_reason": "invalid", "origin": "x"}, State.REJECTED),
    ("unreadable wins over all", {"token": None, "status": "foreign"}, State.UNREADABLE),
]


@pytest.fixture
def make(alice, connection):
    def build(**facts) -> AlmCredential:
        values = {
            "token": "a-token-of-52-characters-or-so-for-the-tests-only-xyz",
            "status": WORKING,
            "ado_email": ALICE,
            "ado_id": "id",
            "expires_on": NOW + timedelta(days=200),
            "origin": connection.url,
            **facts,
        }
        if values["token"] is None:
            values["token"] = UnreadableToken(b"ciphertext of another key")
        return AlmCredential(user=alice, connection=connection, **values)

    return build


@pytest.mark.parametrize(("name", "facts", "expected"), CASES, ids=[case[0] for case in CASES])
def test_credential_state(make, name, facts, expected):
    assert credential_state(make(**facts), now=NOW).state is expected


def test_every_state_is_covered():
    assert {expected for _, _, expected in CASES} == ALL_STATES_BUT_MISSING
    assert credential_state(None).state is State.MISSING


def test_foreign_email_is_working_when_foreign_tokens_are_allowed(make, settings):
    settings.ALM_ALLOW_FOREIGN_TOKENS = True
    assert credential_state(make(ado_email="bob@fabrikam.example"), now=NOW).state is State.WORKING
    assert credential_state(make(status="foreign"), now=NOW).state is State.FOREIGN


def test_days_left_counts_whole_days(make):
    state = credential_state(make(expires_on=NOW + timedelta(days=3, hours=5)), now=NOW)
    assert (state.state, state.days_left) == (State.EXPIRING, 3)
