"""A person's credential described as `alm.token_state` facts: whose token it is, and where it was verified.

`credential_state` is what every page, job and admin list asks; `is_own_token` is what a page asks
before it says "as you". Both read only stored facts: no query beyond the credential's user and
connection (callers `select_related` them), no call to Azure DevOps.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from alm.fields import is_unreadable
from alm.token_state import State, TokenFacts, TokenState, same_address, token_state
from profiles.models import AlmCredential

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Short words for people, per state (the banner and the ALM Credentials page say more).
LABELS = {
    State.MISSING: "No token saved",
    State.WORKING: "Working",
    State.EXPIRING: "Expires soon",
    State.EXPIRED: "Expired",
    State.REJECTED: "Rejected",
    State.FOREIGN: "Another person's token",
    State.UNVERIFIED: "Not verified yet",
    State.UNREADABLE: "Re-enter your token",
    State.RETEST: "Test again for the new address",
}
# The CSS class of a state's badge.
TONES = {
    State.MISSING: "none",
    State.WORKING: "ok",
    State.EXPIRING: "warn",
    State.UNVERIFIED: "warn",
    State.RETEST: "warn",
}


def user_email(user: AbstractBaseUser) -> str:
    return (getattr(user, "email", "") or "").strip().lower()


def owns(user: AbstractBaseUser, ado_email: str | None) -> bool:
    """Whether an Azure DevOps identity's e-mail is this person's (case-insensitive; empty never matches)."""
    email = (ado_email or "").strip().lower()
    return bool(email) and email == user_email(user)


def is_foreign(credential: AlmCredential) -> bool:
    """The token is known to belong to another identity, and that may not act here."""
    if credential.status == AlmCredential.Status.FOREIGN:
        return True
    learned = bool(credential.ado_email or credential.ado_id)
    return learned and not settings.ALM_ALLOW_FOREIGN_TOKENS and not owns(credential.user, credential.ado_email)


def is_own_token(credential: AlmCredential) -> bool:
    """Azure DevOps said this token is the person's own: only then may a page say "as you"."""
    return owns(credential.user, credential.ado_email)


def credential_state(credential: AlmCredential | None, *, now: datetime | None = None) -> TokenState:
    """The state of a person's saved credential (None: nothing saved)."""
    if credential is None:
        return TokenState(State.MISSING)
    status = credential.status
    facts = TokenFacts(
        present=True,
        readable=not is_unreadable(credential.token),
        verified=status == AlmCredential.Status.WORKING,
        unverified=status == AlmCredential.Status.UNVERIFIED,
        rejected_reason=credential.rejected_reason if status == AlmCredential.Status.REJECTED else "",
        expires_on=credential.expires_on,
        bound_here=same_address(credential.origin, credential.connection.url),
        foreign=is_foreign(credential),
    )
    return token_state(facts, now=now or timezone.now())


def label(state: TokenState) -> str:
    return LABELS[state.state]


def tone(state: TokenState) -> str:
    return TONES.get(state.state, "bad")
