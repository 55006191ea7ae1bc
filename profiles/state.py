"""A person's credential described as `alm.token_state` facts: whose token it is, and where it was verified.

`credential_state` is what every page, job and admin list asks; `is_own_token` is what a page asks
before it says "as you". Both read only stored facts: no query beyond the credential's user and
connection (callers `select_related` them), no call to Azure DevOps.
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import BinaryField, Case, CharField, ExpressionWrapper, F, Q, QuerySet, Value, When
from django.db.models.lookups import Exact
from django.utils import timezone

from alm.fields import decrypt_with, key_id, reading_keys
from alm.token_state import EXPIRING_WITHIN, State, TokenFacts, TokenState, email_key, same_address, token_state
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


def owns(user: AbstractBaseUser, ado_email: str | None) -> bool:
    """Whether an Azure DevOps identity's e-mail is this person's (case-insensitive; empty never matches)."""
    email = email_key(ado_email)
    return bool(email) and email == email_key(getattr(user, "email", ""))


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
        readable=credential.token_readable,
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


# --- The same state in SQL, for lists of thousands -------------------------------------------------------
#
# `state_expression` is `credential_state` written as one SQL CASE over the same stored facts, in the same
# order as `alm.token_state.token_state`, with its thresholds; tests/profiles/test_overview_state.py holds
# the two to agreement, state by state and boundary by boundary, on SQLite and PostgreSQL.
#
# It is written with the ORM alone, over plain columns: the texts that compare loosely (an e-mail's case
# and white space, a URL's case and trailing slash) are compared in Python when they are written, and the
# result is stored beside them (`AlmCredential.email_matches`, `AlmCredential.origin` and
# `AlmConnection.address_key` as alm.token_state.address_key has them). Databases lower-case text each in
# their own way (SQLite's LOWER() knows ASCII only), so doing it in SQL would make the two disagree.
#
# Readability is the one fact SQL cannot see: it means "a reading key (the current one, or during a
# rotation the previous one: alm.fields.reading_keys) decrypts it". Decrypting every token to count states
# is what made the overview grow with every person, so each credential notes which key its token was
# written with (`AlmCredential.token_key`, set on every save of a token); a token is readable in SQL when
# that note is a reading key's id (or it has no token: a Microsoft sign-in). Notes written by something
# else than a save (rows from before the note existed, keys changed in the settings) are brought up to
# date by `note_token_keys`, which decrypts only the tokens whose note is about none of the reading keys,
# once per set of keys, and notes "!" + the set's id for the ones no reading key reads. Lists call it
# before they count.

UNREADABLE_NOTE = "!"


def readable_notes() -> list[str]:
    """The key notes of tokens that read now: the reading keys' ids."""
    return [key_id(key) for key in reading_keys()]


def unreadable_note() -> str:
    """The note of a token that no reading key reads (checked under this set of keys)."""
    return UNREADABLE_NOTE + hashlib.sha256("|".join(readable_notes()).encode()).hexdigest()[:16]


def note_token_keys(*, batch: int = 1000) -> int:
    """Note on every token whose note is about none of the reading keys which key reads it ("!" + the set's
    id where none does); the number noted. None is read once every token is noted."""
    unreadable = unreadable_note()
    known = sorted({*readable_notes(), unreadable})
    # "None of the known notes" as the ranges between them: an index search, where a NOT IN would read
    # the whole table on every overview page.
    outside = Q(token_key__lt=known[0]) | Q(token_key__gt=known[-1])
    for low, high in itertools.pairwise(known):
        outside |= Q(token_key__gt=low, token_key__lt=high)
    stale = (
        AlmCredential.objects.filter(outside, token__isnull=False)
        # The stored bytes as they are: which reading key reads them is the question, so no field decrypts.
        .annotate(ciphertext=ExpressionWrapper(F("token"), output_field=BinaryField()))
        .values_list("pk", "token_key", "ciphertext")
        .order_by()  # in id order, SQLite would rather read the whole table than the index
    )
    noted = 0
    pending: dict[tuple[str, str], list[int]] = {}
    for pk, was, ciphertext in stale.iterator(chunk_size=batch):
        note = next((key_id(key) for key in reading_keys() if _reads(ciphertext, key)), unreadable)
        pending.setdefault((was, note), []).append(pk)
        noted += 1
    for (was, note), pks in pending.items():
        for start in range(0, len(pks), batch):
            # Only where the note is still the one read: a token saved meanwhile keeps its own.
            AlmCredential.objects.filter(pk__in=pks[start : start + batch], token_key=was).update(token_key=note)
    return noted


def _reads(ciphertext: bytes, key: str) -> bool:
    try:
        decrypt_with(bytes(ciphertext), key)
    except ValueError:
        return False
    return True


def state_expression(*, now: datetime, credential: str = "", connection_address: Any = None) -> Case:
    """`credential_state(...).state` as SQL, over a credential reached by the lookup prefix `credential`
    ("" on an AlmCredential query, "credential__" through a relation); `connection_address` is an expression
    for the connection's address key (default: the credential's own connection's `address_key`).

    Texts compare as plain equality: what needs normalizing (e-mail case, a URL's case and trailing slash) is
    normalized in Python when it is stored (`AlmCredential.email_matches`, `origin`, `AlmConnection.address_key`).
    """

    def f(name: str) -> F:
        return F(f"{credential}{name}")

    def q(**lookups: Any) -> Q:
        return Q(**{f"{credential}{name}": value for name, value in lookups.items()})

    status = AlmCredential.Status
    foreign = q(status=status.FOREIGN)
    if not settings.ALM_ALLOW_FOREIGN_TOKENS:
        foreign |= (~q(ado_email="") | ~q(ado_id="")) & q(email_matches=False)
    address = connection_address if connection_address is not None else f("connection__address_key")
    return Case(
        When(q(pk__isnull=True), then=Value(State.MISSING.value)),
        When(~q(token__isnull=True) & ~q(token_key__in=readable_notes()), then=Value(State.UNREADABLE.value)),
        When(foreign, then=Value(State.FOREIGN.value)),
        When(
            q(status=status.REJECTED, rejected_reason="expired") | q(expires_on__lte=now),
            then=Value(State.EXPIRED.value),
        ),
        When(q(status=status.REJECTED) & ~q(rejected_reason=""), then=Value(State.REJECTED.value)),
        When(~Q(Exact(f("origin"), address)), then=Value(State.RETEST.value)),
        When(~q(status=status.WORKING), then=Value(State.UNVERIFIED.value)),
        When(q(expires_on__lt=now + EXPIRING_WITHIN), then=Value(State.EXPIRING.value)),
        default=Value(State.WORKING.value),
        output_field=CharField(),
    )


def annotate_state(queryset: QuerySet[AlmCredential], *, now: datetime, name: str = "state") -> QuerySet:
    """AlmCredential rows with their state as `name`, computed by the database (no token is read)."""
    return queryset.annotate(**{name: state_expression(now=now)})
