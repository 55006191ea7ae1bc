"""alm.token_state: every state of a saved token, its boundaries, and which problem wins when several hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alm.token_state import State, TokenFacts, TokenState, expiry_notice, same_address, token_state

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)
WORKING = {"present": True, "verified": True}


def facts(**changes: object) -> TokenFacts:
    return TokenFacts(**{**WORKING, **changes})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(TokenFacts(present=False), TokenState(State.MISSING), id="nothing-saved"),
        pytest.param(facts(), TokenState(State.WORKING), id="working-without-expiry"),
        pytest.param(facts(expires_on=NOW + 30 * DAY), TokenState(State.WORKING, NOW + 30 * DAY, 30), id="working"),
        pytest.param(facts(readable=False), TokenState(State.UNREADABLE), id="unreadable"),
        pytest.param(
            facts(foreign=True, expires_on=NOW + 30 * DAY),
            TokenState(State.FOREIGN, NOW + 30 * DAY, 30),
            id="foreign",
        ),
        pytest.param(
            facts(expires_on=NOW - DAY), TokenState(State.EXPIRED, NOW - DAY, 0, "expired"), id="expired-by-date"
        ),
        pytest.param(
            facts(rejected_reason="expired"), TokenState(State.EXPIRED, None, 0, "expired"), id="expired-by-ado"
        ),
        pytest.param(
            facts(verified=False, rejected_reason="revoked"),
            TokenState(State.REJECTED, reason="revoked"),
            id="revoked",
        ),
        pytest.param(
            facts(verified=False, rejected_reason="permissions"),
            TokenState(State.REJECTED, reason="permissions"),
            id="missing-permissions",
        ),
        pytest.param(
            facts(verified=False, rejected_reason="invalid"),
            TokenState(State.REJECTED, reason="invalid"),
            id="invalid",
        ),
        pytest.param(facts(bound_here=False), TokenState(State.RETEST), id="verified-for-another-address"),
        pytest.param(facts(verified=False, unverified=True), TokenState(State.UNVERIFIED), id="saved-unverified"),
        pytest.param(facts(verified=False), TokenState(State.UNVERIFIED), id="never-verified"),
        pytest.param(
            facts(expires_on=NOW + 5 * DAY), TokenState(State.EXPIRING, NOW + 5 * DAY, 5), id="expiring-in-5-days"
        ),
    ],
)
def test_each_state(given, expected):
    assert token_state(given, now=NOW) == expected


@pytest.mark.parametrize(
    ("expires_on", "state", "days_left"),
    [
        pytest.param(NOW - SECOND, State.EXPIRED, 0, id="a-second-ago"),
        pytest.param(NOW, State.EXPIRED, 0, id="exactly-now"),
        pytest.param(NOW + SECOND, State.EXPIRING, 0, id="in-a-second"),
        pytest.param(NOW + 14 * DAY - SECOND, State.EXPIRING, 13, id="a-second-under-14-days"),
        pytest.param(NOW + 14 * DAY, State.WORKING, 14, id="exactly-14-days"),
        pytest.param(NOW + 14 * DAY + SECOND, State.WORKING, 14, id="a-second-over-14-days"),
    ],
)
def test_expiry_boundaries(expires_on, state, days_left):
    result = token_state(facts(expires_on=expires_on), now=NOW)

    assert (result.state, result.days_left) == (state, days_left)


@pytest.mark.parametrize(
    ("given", "winner"),
    [
        pytest.param(TokenFacts(present=False, readable=False, foreign=True), State.MISSING, id="missing-first"),
        pytest.param(facts(readable=False, foreign=True, expires_on=NOW - DAY), State.UNREADABLE, id="unreadable"),
        pytest.param(facts(foreign=True, expires_on=NOW - DAY), State.FOREIGN, id="foreign-over-expired"),
        pytest.param(facts(foreign=True, rejected_reason="revoked"), State.FOREIGN, id="foreign-over-rejected"),
        pytest.param(facts(rejected_reason="revoked", expires_on=NOW - DAY), State.EXPIRED, id="expired-over-rejected"),
        pytest.param(facts(bound_here=False, expires_on=NOW - DAY), State.EXPIRED, id="expired-over-retest"),
        pytest.param(facts(rejected_reason="revoked", bound_here=False), State.REJECTED, id="rejected-over-retest"),
        pytest.param(facts(unverified=True, bound_here=False), State.RETEST, id="retest-over-unverified"),
        pytest.param(
            facts(verified=False, unverified=True, expires_on=NOW + 5 * DAY),
            State.UNVERIFIED,
            id="unverified-over-expiring",
        ),
    ],
)
def test_the_more_serious_problem_wins(given, winner):
    assert token_state(given, now=NOW).state is winner


def test_an_expired_token_keeps_the_reason_expired_whatever_azure_devops_said_before():
    assert token_state(facts(rejected_reason="revoked", expires_on=NOW - DAY), now=NOW).reason == "expired"


# Every state: may it act, and does it block (the person must do something)?
ACTING = [
    (State.WORKING, True, False),
    (State.EXPIRING, True, False),
    (State.MISSING, False, False),
    (State.UNVERIFIED, False, False),
    (State.RETEST, False, False),
    (State.EXPIRED, False, True),
    (State.REJECTED, False, True),
    (State.FOREIGN, False, True),
    (State.UNREADABLE, False, True),
]


@pytest.mark.parametrize(("state", "may_act", "blocks"), ACTING)
def test_only_working_and_expiring_tokens_act(state, may_act, blocks):
    assert (TokenState(state).may_act, TokenState(state).blocks) == (may_act, blocks)


def test_the_acting_table_covers_every_state():
    assert [row[0] for row in ACTING] == list(dict.fromkeys(row[0] for row in ACTING))
    assert {row[0] for row in ACTING} == set(State)


@pytest.mark.parametrize(
    ("expires_on", "notice"),
    [
        pytest.param(None, None, id="no-expiry"),
        pytest.param(NOW - DAY, None, id="expired"),
        pytest.param(NOW, None, id="expiring-exactly-now"),
        pytest.param(NOW + 14 * DAY + SECOND, None, id="a-second-over-14-days"),
        pytest.param(NOW + 14 * DAY, "expires_14", id="exactly-14-days"),
        pytest.param(NOW + 3 * DAY + SECOND, "expires_14", id="a-second-over-3-days"),
        pytest.param(NOW + 3 * DAY, "expires_3", id="exactly-3-days"),
        pytest.param(NOW + SECOND, "expires_3", id="in-a-second"),
    ],
)
def test_expiry_notice_windows(expires_on, notice):
    assert expiry_notice(expires_on, now=NOW) == notice


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://dev.azure.com/fabrikam", "https://dev.azure.com/fabrikam/", True),
        ("https://dev.azure.com/fabrikam", "https://DEV.azure.com/Fabrikam", True),
        ("https://dev.azure.com/fabrikam", "https://dev.azure.com/contoso", False),
        ("https://tfs.example:8443/tfs/Main", "https://tfs.example/tfs/Main", False),
    ],
)
def test_same_address_ignores_case_and_a_trailing_slash(a, b, same):
    assert same_address(a, b) is same
