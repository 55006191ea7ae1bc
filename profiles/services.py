"""What the app does with a person's ALM credential: test, save, remove, mark rejected."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from alm import exceptions as ado
from alm.models import AlmConnection
from alm.scopes import REQUIRED_PERMISSIONS, how_to_grant
from alm.services import check_token
from alm.token_state import email_key
from profiles import entra
from profiles.limits import spend
from profiles.models import AlmCredential
from profiles.overview import counts_changed
from profiles.state import owns

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from alm.check import TokenReport

# Failures that are not the token's fault: the user may save it unverified, and a saved
# credential's status is left alone.
TRANSIENT_ERRORS = ado.TRANSIENT_ERRORS
EXPIRY_SOON_DAYS = 30


class CredentialError(ado.AlmlinkError):
    """A credential operation refused for a reason the user can act on: `CredentialError(code, **params)`."""

    default_messages = {
        "empty": "Paste a personal access token to test.",
        "unreadable": "Your saved token can no longer be read (the encryption key changed). Paste your token again.",
        "no_entra": "This connection does not offer Sign in with Microsoft.",
        "no_sign_in": "Sign in with Microsoft first.",
        "failed": "The new token was created but failed its test: {problem}",
    }


class RateLimited(CredentialError):
    code = "rate_limited"
    default_messages = {
        "rate_limited": "Too many attempts in a short time. Try again in {retry_in} seconds.",
    }

    def __init__(self, retry_in: int) -> None:
        self.retry_in = retry_in
        super().__init__(retry_in=retry_in)


@dataclass(frozen=True)
class CheckOutcome:
    """What Test Connection found, ready to show. Never holds the token."""

    connection_id: int
    report: TokenReport | None = None
    error: ado.AlmlinkError | None = None
    problems: tuple[str, ...] = ()
    foreign_owner: bool = False
    tested_saved_token: bool = False
    elapsed_ms: int = 0
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.error is None and self.report is not None and not self.problems

    @property
    def transient(self) -> bool:
        """Azure DevOps could not be asked; nothing is known about the token itself."""
        return self.error is not None and self.error.is_transient


def check_rate_limit(*, user: User) -> None:
    """Allow ALM_CREDENTIAL_RATE_LIMIT tests/saves per user per minute (cache-backed, fails open: profiles.limits)."""
    wait = spend(user=user, kind="credential-tests", limit=settings.ALM_CREDENTIAL_RATE_LIMIT)
    if wait is not None:
        raise RateLimited(retry_in=wait)


def saved_credential(*, user: User, connection: AlmConnection) -> AlmCredential | None:
    return AlmCredential.objects.filter(user=user, connection=connection).first()


def _owner_problem(*, user: User, report: TokenReport) -> str | None:
    if settings.ALM_ALLOW_FOREIGN_TOKENS or owns(user, report.identity.email):
        return None
    user_email = email_key(getattr(user, "email", ""))
    owner = f"{report.identity.display_name} ({report.identity.email or 'no e-mail'})"
    return (
        f"This token belongs to {owner}, not to you ({user_email or 'no e-mail on your account'}). "
        "Changes made with it would be recorded under their name. Create a token while signed in to "
        "Azure DevOps as yourself."
    )


def token_problems(*, user: User, report: TokenReport) -> tuple[tuple[str, ...], bool]:
    problems: list[str] = []
    owner = _owner_problem(user=user, report=report)
    if owner:
        problems.append(owner)
    for result in report.permissions:
        if result.granted is False:
            problems.append(f"Missing permission: {result.permission.label}. {how_to_grant(result.permission)}")
    return tuple(problems), owner is not None


def _warnings(report: TokenReport) -> tuple[str, ...]:
    if report.expires_on is None:
        return ()
    days = (report.expires_on - timezone.now()).days
    if days <= EXPIRY_SOON_DAYS:
        return (
            f"The token expires in {max(days, 0)} days ({report.expires_on:%d %b %Y}). Create a new one "
            "with a 12-month expiry and save it here before then.",
        )
    return ()


@sensitive_variables("token")
def check_credential(*, user: User, connection: AlmConnection, token: str | None) -> CheckOutcome:
    """Test a pasted token, or the saved one when none is given; never raises for Azure DevOps failures."""
    check_rate_limit(user=user)
    saved = None
    if not token:
        saved = saved_credential(user=user, connection=connection)
        if saved is None:
            raise CredentialError("empty")
        if saved.is_unreadable:
            raise CredentialError("unreadable")
        token = saved.token
    started = time.monotonic()
    # Sign in with Microsoft: a saved sign-in is tested with its Entra access token.
    sign_in = entra.acting_sign_in(saved)
    try:
        report = entra.check_sign_in(sign_in) if sign_in else check_token(connection=connection, token=token)
    except ado.AlmlinkError as error:
        outcome = CheckOutcome(
            connection_id=connection.pk,
            error=error,
            tested_saved_token=saved is not None,
            elapsed_ms=int((time.monotonic() - started) * 1000),
        )
    else:
        problems, foreign = token_problems(user=user, report=report)
        outcome = CheckOutcome(
            connection_id=connection.pk,
            report=report,
            problems=problems,
            foreign_owner=foreign,
            tested_saved_token=saved is not None,
            elapsed_ms=report.elapsed_ms,
            warnings=_warnings(report),
        )
    if saved is not None:
        record_outcome(credential=saved, outcome=outcome)
    return outcome


@sensitive_variables("credential")
def verify_credential(*, credential: AlmCredential) -> None:
    """Ask Azure DevOps whose a saved token is, at the address it was saved for, and store the answer."""
    sign_in = entra.acting_sign_in(credential)
    try:
        if sign_in is not None:
            report = entra.check_sign_in(sign_in)  # Sign in with Microsoft
        elif credential.token is None:
            raise ado.SignInEnded("missing")  # never the service account's token in its place
        else:
            report = check_token(connection=credential.connection, token=credential.token, bound_to=credential.origin)
    except ado.AlmlinkError as error:
        record_outcome(credential=credential, outcome=CheckOutcome(connection_id=credential.connection_id, error=error))
        return
    problems, foreign = token_problems(user=credential.user, report=report)
    outcome = CheckOutcome(
        connection_id=credential.connection_id, report=report, problems=problems, foreign_owner=foreign
    )
    record_outcome(credential=credential, outcome=outcome)


def record_outcome(*, credential: AlmCredential, outcome: CheckOutcome) -> None:
    """Store what a test of the saved token learned; transient failures change nothing."""
    if outcome.transient:
        return
    if outcome.error is not None:
        # Only Azure DevOps' own refusal says something about the token; a local refusal says nothing.
        if isinstance(outcome.error, ado.AdoError):
            mark_rejected(credential=credential, error=outcome.error)
        return
    if outcome.report is None:
        return
    _apply_report(credential, outcome.report)
    if outcome.foreign_owner:
        # Azure DevOps named someone else: the token never acts, and the page names its owner.
        credential.status = AlmCredential.Status.FOREIGN
    elif outcome.problems:
        credential.status = AlmCredential.Status.REJECTED
        credential.rejected_reason = AlmCredential.RejectedReason.PERMISSIONS
        credential.rejected_message = outcome.problems[0][:500]
        credential.rejected_at = timezone.now()
    _write_back(credential, AlmCredential.LEARNED_FIELDS)


def _apply_report(credential: AlmCredential, report: TokenReport) -> None:
    """What a successful test learned; the token is verified at the connection's current address."""
    credential.ado_id = report.identity.id
    credential.ado_display_name = report.identity.display_name
    credential.ado_email = report.identity.email or ""
    credential.permissions = [r.permission.key for r in report.permissions if r.granted is not False]
    credential.expires_on = report.expires_on
    credential.status = AlmCredential.Status.WORKING
    credential.rejected_reason = ""
    credential.rejected_message = ""
    credential.rejected_at = None
    credential.last_verified_at = timezone.now()
    credential.origin = credential.connection.url


def mark_foreign(*, credential: AlmCredential, identity_name: str) -> None:
    """Azure DevOps put another identity's name on a change made with this token: it never acts again."""
    credential.status = AlmCredential.Status.FOREIGN
    credential.ado_display_name = identity_name[:255]
    credential.ado_id = ""
    credential.ado_email = ""
    _write_back(credential, ["status", "ado_display_name", "ado_id", "ado_email"])


def mark_rejected(*, credential: AlmCredential, error: ado.AlmlinkError) -> None:
    """Azure DevOps refused the saved token itself: keep it (the user decides), but say so everywhere."""
    reason = AlmCredential.RejectedReason.INVALID
    if credential.token is None and isinstance(error, ado.TokenRejected) and not isinstance(error, ado.SignInEnded):
        # A Microsoft sign-in (no token stored) that Azure DevOps refused: the sign-in has ended.
        error = ado.SignInEnded("refused", activity_id=error.activity_id)
    if isinstance(error, ado.TokenExpired):
        reason = AlmCredential.RejectedReason.EXPIRED
        if error.expired_on:
            credential.expires_on = error.expired_on
        elif credential.expires_on is None or credential.expires_on > timezone.now():
            credential.expires_on = timezone.now()
    elif isinstance(error, ado.SignInEnded):
        reason = AlmCredential.RejectedReason.SIGN_IN_ENDED
    elif isinstance(error, ado.TokenRejected) and error.reason == "revoked":
        reason = AlmCredential.RejectedReason.REVOKED
    elif isinstance(error, ado.PermissionMissing):
        reason = AlmCredential.RejectedReason.PERMISSIONS
    credential.status = AlmCredential.Status.REJECTED
    credential.rejected_reason = reason
    credential.rejected_message = error.message[:500]
    credential.rejected_at = timezone.now()
    _write_back(credential, ["status", "rejected_reason", "rejected_message", "rejected_at", "expires_on"])


def _write_back(credential: AlmCredential, fields: Sequence[str]) -> None:
    """Store what was learned about the tested token, only while the row still holds that token.

    A test or a change can take seconds; meanwhile the user may replace or remove the token (another
    tab). Saving the whole row then would bring the old token back or resurrect a removed one.
    """
    written = {*fields, *credential.note_derived(fields)}
    AlmCredential.objects.filter(pk=credential.pk, saved_at=credential.saved_at).update(
        **{name: getattr(credential, name) for name in written}
    )
    counts_changed()  # an update() sends no signal


@sensitive_variables("token")
def save_credential(
    *, user: User, connection: AlmConnection, token: str, allow_unverified: bool = False
) -> tuple[AlmCredential | None, CheckOutcome]:
    """Test the token, then store it encrypted if it passed (or, if asked, when Azure DevOps was unreachable).

    A token that fails is not saved and the previously saved one stays untouched.
    """
    outcome = check_credential(user=user, connection=connection, token=token)
    if outcome.ok or (outcome.transient and allow_unverified):
        return _store(user=user, connection=connection, token=token, outcome=outcome), outcome
    return None, outcome


# Every variable, in this frame and in all it calls: Django's save() holds the token in lists
# named `values`, which an error report would otherwise show.
@sensitive_variables()
def _store(*, user: User, connection: AlmConnection, token: str, outcome: CheckOutcome) -> AlmCredential:
    """Save the token with what its test learned; a replaced token's learned facts never carry over."""
    credential = AlmCredential(user=user, connection=connection, token=token, saved_at=timezone.now())
    if outcome.report is not None:
        _apply_report(credential, outcome.report)
    else:
        credential.status = AlmCredential.Status.UNVERIFIED
        # It was offered to this address when its test could not get an answer.
        credential.origin = connection.url
    values = {name: getattr(credential, name) for name in ("token", "saved_at", *AlmCredential.LEARNED_FIELDS)}
    # Simultaneous saves (two tabs) end with one row: update_or_create locks it or retries the insert.
    credential, _created = AlmCredential.objects.update_or_create(user=user, connection=connection, defaults=values)
    return credential


def remove_credential(*, user: User, connection: AlmConnection) -> bool:
    """Delete the user's saved token for the connection; True if there was one."""
    deleted, _ = AlmCredential.objects.filter(user=user, connection=connection).delete()
    return deleted > 0


def permission_rows(report: TokenReport | None) -> list[dict[str, str | bool | None]]:
    """The five permissions for display, in the order Azure DevOps lists them."""
    by_key = {r.permission.key: r for r in report.permissions} if report else {}
    rows = []
    for permission in REQUIRED_PERMISSIONS:
        result = by_key.get(permission.key)
        rows.append(
            {
                "label": permission.label,
                "granted": None if result is None else result.granted,
                "detail": "" if result is None else result.detail,
                "applies": result is None or result.applies,
            }
        )
    return rows
