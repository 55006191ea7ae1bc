"""Token lifecycle: re-validate saved tokens, remind people before expiry, tell them when one is refused."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from alm import exceptions as ado
from alm.fields import is_unreadable
from alm.models import AlmConnection
from alm.services import check_connection, check_token
from alm.token_state import State, expiry_notice
from profiles import entra_flow
from profiles.models import AlmCredential, JobLock, TokenNotice
from profiles.services import CheckOutcome, record_outcome, token_problems
from profiles.state import credential_state

T = TypeVar("T")

logger = logging.getLogger(__name__)

LOCK_NAME = "check_alm_tokens"
MAX_THROTTLE_WAIT = 30.0


class AlreadyRunning(Exception):
    """Another host holds the lock."""


@dataclass
class CheckSummary:
    checked: int = 0
    working: int = 0
    rejected: int = 0
    unreachable: int = 0
    unreadable: int = 0
    emails: int = 0
    events: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"Checked {self.checked} tokens: {self.working} working, {self.rejected} rejected, "
            f"{self.unreachable} not reachable (unchanged), {self.unreadable} unreadable; {self.emails} e-mails sent."
        )


@contextmanager
def job_lock(name: str, *, lease: timedelta = timedelta(hours=1)) -> Iterator[str]:
    """Hold a lease on `name` for the duration; raise AlreadyRunning if another holder has it."""
    holder = uuid.uuid4().hex
    now = timezone.now()
    with suppress(IntegrityError):  # created concurrently by another host
        JobLock.objects.get_or_create(name=name, defaults={"locked_until": now - timedelta(seconds=1)})
    # A conditional UPDATE is atomic on every database: exactly one caller sees 1 row changed.
    taken = JobLock.objects.filter(name=name, locked_until__lt=now).update(holder=holder, locked_until=now + lease)
    if not taken:
        raise AlreadyRunning(name)
    try:
        yield holder
    finally:
        JobLock.objects.filter(name=name, holder=holder).update(locked_until=timezone.now(), holder="")


def _site_url(path: str) -> str:
    return settings.ALM_SITE_URL.rstrip("/") + path


def _send(*, to: list[str], subject: str, template: str, context: dict[str, object]) -> bool:
    if not to:
        return False
    context = {**context, "credentials_url": _site_url(reverse("alm_credentials"))}
    text = render_to_string(f"profiles/email/{template}.txt", context)
    html = render_to_string(f"profiles/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=to)
    message.attach_alternative(html, "text/html")
    message.send()
    return True


def _notify_once(
    *, connection: AlmConnection, subject: str, event: str, token_saved_at: datetime, send: Callable[[], bool]
) -> bool:
    """Record the notice first (unique per token and event), then send; a duplicate is skipped.

    A message that cannot be sent (a header the mail library refuses, the mail server down) is logged
    and not recorded, so the next run tries again; it never stops the other notices.
    """
    try:
        with transaction.atomic():
            notice = TokenNotice.objects.create(
                connection=connection, subject=subject, event=event, token_saved_at=token_saved_at
            )
            sent = send()
            if not sent:
                transaction.set_rollback(True)
                return False
    except IntegrityError:
        return False
    except (ValueError, OSError):  # BadHeaderError is a ValueError; SMTP and socket errors are OSErrors
        logger.exception("Could not send the %s notice for %s on connection %s", event, subject, connection.pk)
        return False
    logger.info("Sent %s notice for %s on %s", event, subject, connection.name)
    return notice is not None


def _check_with_backoff(check: Callable[[], T], *, sleep: Callable[[float], None]) -> T:
    try:
        return check()
    except ado.Throttled as error:
        sleep(min(error.retry_after or 5.0, MAX_THROTTLE_WAIT))
        return check()


SIGN_IN_PENDING = object()


def _probe_user(credential: AlmCredential, *, sleep: Callable[[float], None]) -> CheckOutcome | object | None:
    """Ask Azure DevOps about one user's token. Network only, so it can run in a worker thread.

    A token verified for another address (the connection moved) is not sent anywhere: its owner
    re-tests it. An unreadable one cannot be sent.
    """
    if credential_state(credential).state in (State.UNREADABLE, State.RETEST):
        return None
    if credential.token is None:
        return SIGN_IN_PENDING  # Sign in with Microsoft: checked in the database's thread, see _record_user
    try:
        report = _check_with_backoff(
            lambda: check_token(connection=credential.connection, token=credential.token, bound_to=credential.origin),
            sleep=sleep,
        )
    except ado.AlmlinkError as error:
        return CheckOutcome(connection_id=credential.connection_id, error=error, tested_saved_token=True)
    problems, foreign = token_problems(user=credential.user, report=report)
    return CheckOutcome(
        connection_id=credential.connection_id,
        report=report,
        problems=problems,
        foreign_owner=foreign,
        tested_saved_token=True,
    )


def _record_user(credential: AlmCredential, outcome: CheckOutcome | object | None) -> str:
    """Store what the check learned; returns working | rejected | unreachable | unreadable."""
    if outcome is SIGN_IN_PENDING:
        # A Microsoft sign-in: its refresh stores the rotated token cache, so it runs here, not in the pool.
        outcome = entra_flow.probe(credential=credential)
    if not isinstance(outcome, CheckOutcome):
        return "unreadable"
    if outcome.transient:
        return "unreachable"
    record_outcome(credential=credential, outcome=outcome)
    return "working" if credential.status == AlmCredential.Status.WORKING else "rejected"


def _user_notices(credential: AlmCredential, now: datetime) -> int:
    user = credential.user
    context: dict[str, object] = {"user": user, "connection": credential.connection, "credential": credential}
    subject_key = f"user:{user.pk}"
    state = credential_state(credential, now=now)
    event: str | None
    if state.blocks and state.state is not State.UNREADABLE:
        event, subject = TokenNotice.Event.REJECTED, "Your Azure DevOps token for almlink no longer works"
    else:
        event = expiry_notice(credential.expires_on, now=now)
        subject = f"Your Azure DevOps token for almlink expires on {credential.expires_on:%d %b %Y}" if event else ""
    if not event:
        return 0
    sent = _notify_once(
        connection=credential.connection,
        subject=subject_key,
        event=event,
        token_saved_at=credential.saved_at,
        send=lambda: _send(
            to=[user.email] if user.email else [],
            subject=subject,
            template="user_rejected" if event == TokenNotice.Event.REJECTED else "user_expires",
            context=context,
        ),
    )
    return int(sent)


def _service_notices(connection: AlmConnection, now: datetime) -> int:
    staff = list(
        get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="").values_list("email", flat=True)
    )
    event: str | None
    if connection.last_test_ok is False:
        event = TokenNotice.Event.REJECTED
        subject = f"almlink: the service account token of {connection.name} no longer works"
    else:
        event = expiry_notice(connection.last_test_expires_on, now=now)
        subject = f"almlink: the service account token of {connection.name} expires soon" if event else ""
    if not event:
        return 0
    context = {
        "connection": connection,
        "admin_url": _site_url(reverse("admin:alm_almconnection_change", args=[connection.pk])),
    }
    sent = _notify_once(
        connection=connection,
        subject="service",
        event=event,
        token_saved_at=connection.service_token_changed_at or connection.created_at,
        send=lambda: _send(
            to=staff,
            subject=subject,
            template="service_rejected" if event == TokenNotice.Event.REJECTED else "service_expires",
            context=context,
        ),
    )
    return int(sent)


def check_all_tokens(
    *,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> CheckSummary:
    """Re-validate every saved token, a bounded number at a time, and send the notices due."""

    summary = CheckSummary()
    connections = list(AlmConnection.objects.all())
    credentials = list(AlmCredential.objects.select_related("user", "connection"))
    total = len(connections) + len(credentials)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    for connection in connections:
        if connection.service_token and not is_unreadable(connection.service_token):
            # check_connection records the outcome itself, and leaves it alone when Azure DevOps is unreachable.
            with suppress(ado.AlmlinkError):
                _check_with_backoff(lambda c=connection: check_connection(connection=c), sleep=sleep)  # type: ignore[misc]
            connection.refresh_from_db()
        summary.checked += 1
        tick()

    # Azure DevOps is asked from a few threads at once; the database is written from this one only.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = pool.map(lambda c: _probe_user(c, sleep=sleep), credentials)
        for credential, outcome in zip(credentials, outcomes, strict=True):
            result = _record_user(credential, outcome)
            summary.checked += 1
            setattr(summary, result, getattr(summary, result) + 1)
            tick()

    now = timezone.now()
    for connection in connections:
        summary.emails += _service_notices(connection, now)
    for credential in credentials:
        summary.emails += _user_notices(credential, now)
    return summary
