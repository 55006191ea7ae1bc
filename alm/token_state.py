"""What a saved Azure DevOps token may do: the one place that decides.

A token (a person's or the service account's) is described by the facts the app stored about it
(`TokenFacts`); `token_state` turns them into one `State`. The banner, the choice of the acting
token, the daily check's e-mails, the admin warnings, the overview, the CSV and the templates all
ask this module; nothing else compares dates or statuses. It knows nothing about users: whether a
token belongs to the person who saved it is a fact the caller supplies (`foreign`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# The banner and the overview call a token "expiring" this long before its end.
EXPIRING_WITHIN = timedelta(days=14)
# The daily check e-mails once when a token enters each of these windows (most urgent last).
EXPIRY_NOTICES = (("expires_14", timedelta(days=14)), ("expires_3", timedelta(days=3)))
# Test Connection warns about a token that ends within this time (it is about to be saved for a year).
TEST_WARNS_WITHIN = timedelta(days=30)


class State(StrEnum):
    MISSING = "missing"  # nothing saved
    WORKING = "working"  # verified here, not expired
    EXPIRING = "expiring"  # working, ends within EXPIRING_WITHIN
    EXPIRED = "expired"  # its end date has passed (known from Azure DevOps or its own expiry date)
    REJECTED = "rejected"  # Azure DevOps refused it (revoked, unknown, missing permissions)
    FOREIGN = "foreign"  # it belongs to another Azure DevOps identity than the person who saved it
    UNVERIFIED = "unverified"  # saved while Azure DevOps could not be asked: its owner is not known yet
    UNREADABLE = "unreadable"  # cannot be decrypted with the current key
    RETEST = "retest"  # verified against another address than the connection's current one


# States in which a token may act (read or change) on Azure DevOps.
ACTING_STATES = frozenset({State.WORKING, State.EXPIRING})
# States worth a warning but not blocking; every other state but WORKING and MISSING blocks.
WARNING_STATES = frozenset({State.EXPIRING, State.UNVERIFIED, State.RETEST})


@dataclass(frozen=True)
class TokenFacts:
    """What the app stored about one token. `verified`: the last real test passed (status working)."""

    present: bool
    readable: bool = True
    verified: bool = False
    unverified: bool = False
    rejected_reason: str = ""  # expired | revoked | invalid | permissions, when Azure DevOps refused it
    expires_on: datetime | None = None
    bound_here: bool = True  # last verified against the connection's current address
    foreign: bool = False


@dataclass(frozen=True)
class TokenState:
    state: State
    expires_on: datetime | None = None
    days_left: int | None = None
    reason: str = ""  # the rejected reason, for REJECTED and EXPIRED

    @property
    def may_act(self) -> bool:
        return self.state in ACTING_STATES

    @property
    def blocks(self) -> bool:
        """The token cannot act and the person must do something about it."""
        return self.state not in ACTING_STATES and self.state not in {State.MISSING, State.UNVERIFIED, State.RETEST}


def token_state(facts: TokenFacts, *, now: datetime) -> TokenState:
    """The one state of a token, from most to least serious problem."""
    expires_on = facts.expires_on
    days_left = max((expires_on - now).days, 0) if expires_on else None
    if not facts.present:
        return TokenState(State.MISSING)
    if not facts.readable:
        return TokenState(State.UNREADABLE)
    if facts.foreign:
        return TokenState(State.FOREIGN, expires_on, days_left)
    if facts.rejected_reason == "expired" or (expires_on is not None and expires_on <= now):
        return TokenState(State.EXPIRED, expires_on, 0, "expired")
    if facts.rejected_reason:
        return TokenState(State.REJECTED, expires_on, days_left, facts.rejected_reason)
    if not facts.bound_here:
        return TokenState(State.RETEST, expires_on, days_left)
    if facts.unverified or not facts.verified:
        return TokenState(State.UNVERIFIED, expires_on, days_left)
    if expires_on is not None and expires_on - now < EXPIRING_WITHIN:
        return TokenState(State.EXPIRING, expires_on, days_left)
    return TokenState(State.WORKING, expires_on, days_left)


def expiry_notice(expires_on: datetime | None, *, now: datetime) -> str | None:
    """The expiry e-mail a token is due (`expires_14`, `expires_3`), or None; expired tokens get the rejected one."""
    if expires_on is None or expires_on <= now:
        return None
    due = None
    for event, window in EXPIRY_NOTICES:
        if expires_on - now <= window:
            due = event
    return due


def address_key(url: str) -> str:
    """A connection URL as compared: organization and collection names are case-insensitive, and a trailing
    slash names the same place. Stored beside the URL (AlmConnection.address_key, AlmCredential.origin) so
    that lists compare addresses in SQL as plain equality."""
    return url.rstrip("/").lower()


def same_address(a: str, b: str) -> bool:
    """Whether two connection URLs (already normalized when stored) name the same origin and collection."""
    return address_key(a) == address_key(b)


def email_key(email: str | None) -> str:
    """An e-mail address as compared: surrounding white space and letter case do not count."""
    return (email or "").strip().lower()
