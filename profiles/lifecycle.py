"""Token lifecycle: re-validate saved tokens, remind people before expiry, tell them when one is refused."""

from __future__ import annotations

import heapq
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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
from alm.check import CALLS_PER_CHECK
from alm.fields import is_unreadable
from alm.models import AlmConnection
from alm.services import check_connection, check_token
from alm.token_state import State, expiry_notice
from profiles import entra_flow
from profiles.models import AlmCredential, JobLock, TokenNotice
from profiles.services import CheckOutcome, record_outcome, token_problems
from profiles.state import credential_state

logger = logging.getLogger(__name__)
T = TypeVar("T")

LOCK_NAME = "check_alm_tokens"
MAX_THROTTLE_WAIT = 30.0
# Credentials read from the database per query, and taken from the stream per worker at a time: memory
# stays flat whatever the number of credentials, and a worker never waits for the next one to be read.
CHUNK = 500
IN_FLIGHT_PER_WORKER = 4
# Outcomes written per transaction, at the latest every BATCH_SECONDS.
BATCH = 50
BATCH_SECONDS = 1.0


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
        sleep(_throttle_wait(error))
        return check()


def _throttle_wait(error: ado.Throttled) -> float:
    return min(error.retry_after or 5.0, MAX_THROTTLE_WAIT)


SIGN_IN_PENDING = object()


def _probe_user(
    credential: AlmCredential, *, retried: bool, calls: threading.Semaphore
) -> CheckOutcome | ado.Throttled | object | None:
    """Ask Azure DevOps about one user's token. Network only, so it can run in a worker thread.

    A token verified for another address (the connection moved) is not sent anywhere: its owner
    re-tests it. An unreadable one cannot be sent. Each call holds one of `calls` while it is sent (not
    while it waits out a short Retry-After). A check still throttled comes back as the Throttled error
    itself, so the caller can try it again later without holding a worker.
    """
    if credential_state(credential).state in (State.UNREADABLE, State.RETEST):
        return None
    if credential.token is None:
        return SIGN_IN_PENDING  # Sign in with Microsoft: checked in the database's thread, see _record_user
    try:
        report = check_token(
            connection=credential.connection, token=credential.token, bound_to=credential.origin, gate=calls
        )
    except ado.Throttled as error:
        if not retried:
            return error
        return CheckOutcome(connection_id=credential.connection_id, error=error, tested_saved_token=True)
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


def _credentials(connections: dict[int, AlmConnection]) -> Iterator[AlmCredential]:
    """Every saved credential, read CHUNK rows at a time by primary key: memory stays flat however many
    there are, and no cursor stays open while this thread writes (SQLite shares one connection for both)."""
    last = 0
    while True:
        chunk = list(AlmCredential.objects.select_related("user").filter(pk__gt=last).order_by("pk")[:CHUNK])
        for credential in chunk:
            # The few connections are shared objects, not one copy (and one decryption) per row.
            credential.connection = connections[credential.connection_id]
            yield credential
        if len(chunk) < CHUNK:
            return
        last = chunk[-1].pk


def check_all_tokens(
    *,
    workers: int = 4,
    progress: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CheckSummary:
    """Re-validate every saved token, a bounded number at a time, and send the notices due."""

    summary = CheckSummary()
    connections = {connection.pk: connection for connection in AlmConnection.objects.all()}
    total = len(connections) + AlmCredential.objects.count()
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    for connection in connections.values():
        if connection.service_token and not is_unreadable(connection.service_token):
            # check_connection records the outcome itself, and leaves it alone when Azure DevOps is unreachable.
            with suppress(ado.AlmlinkError):
                _check_with_backoff(lambda c=connection: check_connection(connection=c), sleep=sleep)  # type: ignore[misc]
            connection.refresh_from_db()
        summary.checked += 1
        tick()
    now = timezone.now()
    for connection in connections.values():
        summary.emails += _service_notices(connection, now)

    def finish(batch: list[tuple[AlmCredential, object]]) -> None:
        # A Microsoft sign-in: its refresh stores the rotated token cache, so it runs here, not in the pool,
        # and before the batch's transaction (it calls Azure DevOps).
        batch = [
            (credential, entra_flow.probe(credential=credential) if outcome is SIGN_IN_PENDING else outcome)
            for credential, outcome in batch
        ]
        # One transaction per batch: on SQLite every commit waits for the disk (about 13 ms here), which
        # made this thread, not Azure DevOps, the bottleneck. E-mails go out after the commit, so a
        # rolled-back batch never leaves an e-mail behind without its notice record.
        with transaction.atomic():
            results = [_record_user(credential, outcome) for credential, outcome in batch]
        for (credential, _outcome), result in zip(batch, results, strict=True):
            summary.checked += 1
            setattr(summary, result, getattr(summary, result) + 1)
            summary.emails += _user_notices(credential, timezone.now())
            tick()

    _run_bounded(
        _credentials(connections), workers=max(1, workers), finish=finish, sleep=sleep, clock=clock
    )
    return summary


def _run_bounded(
    credentials: Iterator[AlmCredential],
    *,
    workers: int,
    finish: Callable[[list[tuple[AlmCredential, object]]], None],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    """Probe credentials on `workers` threads with at most IN_FLIGHT_PER_WORKER x workers taken from the
    stream at a time; hand the outcomes to `finish` on this thread (the only one that writes to the
    database), in batches of up to BATCH or every BATCH_SECONDS.

    A throttled credential waits out its Retry-After in a queue, not in a worker: one identity being
    throttled does not stall the others' checks. It is tried once more, like the service accounts.
    """
    limit = workers * IN_FLIGHT_PER_WORKER
    # `workers` checks' worth of calls in flight at most. Counted per call, not per check: a check whose
    # other calls are answered, or whose one throttled call waits out its Retry-After, leaves room for the
    # next check's calls.
    calls = threading.BoundedSemaphore(workers * CALLS_PER_CHECK)
    running: dict[Future, AlmCredential] = {}
    waiting: list[tuple[float, int, AlmCredential]] = []  # (due, pk, credential), a heap
    exhausted = False
    batch: list[tuple[AlmCredential, object]] = []
    flushed = clock()

    def flush() -> None:
        nonlocal batch, flushed
        if batch:
            finish(batch)
        batch, flushed = [], clock()

    # More threads than checks' worth of calls: a thread whose check waits out a Retry-After holds no call.
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="alm-lifecycle") as pool:
        while True:
            now = clock()
            while waiting and waiting[0][0] <= now:
                due_again = heapq.heappop(waiting)[2]
                running[pool.submit(_probe_user, due_again, retried=True, calls=calls)] = due_again
            while not exhausted and len(running) + len(waiting) < limit:
                fresh = next(credentials, None)
                if fresh is None:
                    exhausted = True
                    break
                running[pool.submit(_probe_user, fresh, retried=False, calls=calls)] = fresh
            if not running and not waiting:
                flush()
                return
            if not running:
                flush()
                sleep(max(0.0, waiting[0][0] - clock()))
                continue
            due = min(waiting[0][0], flushed + BATCH_SECONDS) if waiting else flushed + BATCH_SECONDS
            finished, _ = wait(running, timeout=max(0.0, due - clock()), return_when=FIRST_COMPLETED)
            for future in finished:
                credential = running.pop(future)
                outcome = future.result()
                if isinstance(outcome, ado.Throttled):
                    heapq.heappush(waiting, (clock() + _throttle_wait(outcome), credential.pk, credential))
                else:
                    batch.append((credential, outcome))
            if len(batch) >= BATCH or clock() - flushed >= BATCH_SECONDS:
                flush()
