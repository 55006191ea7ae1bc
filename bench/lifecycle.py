"""Ten thousand tokens: `manage.py check_alm_tokens` against the emulator with 100 ms per call and one
call in fifty throttled (429 + Retry-After), first over 1,000 saved credentials, then over 10,000.

The job runs as its own process (as cron starts it), so its peak memory is its own: the resident-set
high-water mark (VmHWM) of that process. Every credential must be checked exactly once
(one accepted connectionData per identity) and every e-mail due sent exactly once (one file per message).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bench.stack import BASE_DIR, BenchError, vm_hwm_kb

if TYPE_CHECKING:
    from ado_emulator import Emulator

LATENCY = 0.1
THROTTLE_EVERY = 50  # 2% of calls
RETRY_AFTER = 1  # seconds, in the 429's Retry-After
WORKERS = 8  # --workers: tokens checked at the same time
POLL_SECONDS = 0.1
# Of every 100 users: 5 hold a token that expires within 14 days, 2 a revoked one; each of those is owed
# exactly one e-mail, ever.
EXPIRING_PER_100 = 5
REVOKED_PER_100 = 2
SIZES = (1000, 10000)
FIVE = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"
EMAIL_PREFIX = "scale"


@dataclass(frozen=True)
class Run:
    credentials: int
    wall_s: float
    ideal_s: float
    calls: int
    throttled: int
    peak_rss_mb: float
    checked_once: bool
    emails: int
    emails_expected: int
    emails_once: bool
    summary: str
    cpu_s: float  # CPU seconds the job used: near wall_s means the job, not Azure DevOps, set the pace

    @property
    def ratio_to_ideal(self) -> float:
        return self.wall_s / self.ideal_s


def _add_users(emulator: Emulator, start: int, stop: int) -> tuple[set[str], set[str]]:
    """Users start..stop-1 in the emulator and the database, each with a saved, verified token.
    Returns the e-mail addresses owed a notice (expiring, revoked)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from ado_emulator import Identity
    from alm.models import AlmConnection
    from profiles.models import AlmCredential

    connection = AlmConnection.objects.default()
    if connection is None:
        raise BenchError("seed_demo made no default ALM connection")
    state = emulator.state
    now = timezone.now()
    identities = [
        Identity(id=str(uuid.uuid4()), display_name=f"Scale User {n:05d}", email=_email(n)) for n in range(start, stop)
    ]
    # Straight into the emulator's state: add_identity looks every e-mail up among all identities, which
    # makes ten thousand of them take minutes of set-up; these are new by construction.
    with state.lock:
        data = state.org_data("fabrikam")
        for identity in identities:
            state.identities[identity.id] = identity
            data.members.add(identity.id)
    expiring, revoked = set(), set()
    tokens = []
    for n, identity in zip(range(start, stop), identities, strict=True):
        days = 10 if n % 100 < EXPIRING_PER_100 else 300
        token = emulator.issue_pat(identity, scopes=FIVE, valid_to=now + timedelta(days=days))
        if n % 100 < EXPIRING_PER_100:
            expiring.add(identity.email)
        elif n % 100 < EXPIRING_PER_100 + REVOKED_PER_100:
            emulator.revoke_pat(token)
            revoked.add(identity.email)
        tokens.append(token)
    password = make_password(None)  # unusable: these users never sign in
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"{EMAIL_PREFIX}{n:05d}", email=identity.email, password=password)
        for n, identity in zip(range(start, stop), identities, strict=True)
    )
    if users[0].pk is None:  # SQLite before 3.35 returns no ids; read them back
        users = list(get_user_model().objects.filter(username__startswith=EMAIL_PREFIX).order_by("username"))[start:]
    AlmCredential.objects.bulk_create(
        (
            AlmCredential(
                user=user, connection=connection, token=token, status=AlmCredential.Status.WORKING,
                ado_id=identity.id, ado_display_name=identity.display_name, ado_email=identity.email,
                permissions=["work_items"], origin=connection.url, saved_at=now, last_verified_at=now,
            )
            for user, identity, token in zip(users, identities, tokens, strict=True)
        ),
        batch_size=1000,
    )
    return expiring, revoked


def _email(n: int) -> str:
    return f"{EMAIL_PREFIX}{n:05d}@fabrikam.example"


def _run_job(env: dict[str, str], mail_dir: Path) -> tuple[float, float, float, str]:
    """check_alm_tokens in its own process: wall seconds, peak RSS in MB, CPU seconds, its summary line."""
    child_env = {**env, "BENCH_MAIL_DIR": str(mail_dir)}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "manage.py", "check_alm_tokens", "--workers", str(WORKERS)],
        cwd=BASE_DIR, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # The job's own high-water mark, read from /proc while it runs. Not getrusage: on Linux a child's
    # ru_maxrss starts from this process's size at fork (it survives exec), which hides the job's own.
    peak_kb, cpu_ticks = 0, 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak_kb, cpu_ticks
        while not stop.wait(POLL_SECONDS):
            kb = vm_hwm_kb(child.pid)
            if kb is not None:
                peak_kb = max(peak_kb, kb)
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu_ticks = max(cpu_ticks, int(fields[11]) + int(fields[12]))  # utime + stime

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, err = child.communicate()
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    if child.returncode != 0:
        raise BenchError(f"check_alm_tokens exited with {child.returncode}:\n{err.strip()[-3000:]}")
    if not peak_kb:
        raise BenchError("could not read the memory of check_alm_tokens from /proc")
    cpu = cpu_ticks / os.sysconf("SC_CLK_TCK")
    return wall, peak_kb / 1024, cpu, out.strip().splitlines()[-1] if out.strip() else ""


def _recipients(mail_dir: Path) -> Counter[str]:
    """How many messages each address received (Django's file backend: one file per message here)."""
    received: Counter[str] = Counter()
    for path in mail_dir.iterdir():
        for line in path.read_text().splitlines():
            if line.startswith("To: "):
                received.update(address.strip() for address in line[4:].split(","))
    return received


def measure(emulator: Emulator, env: dict[str, str], tmp: Path) -> list[Run]:
    """The job over 1,000 credentials, then over 10,000 (the first 1,000 included, their e-mails already sent)."""
    runs = []
    revoked_all: set[str] = set()
    have = 0
    for size in SIZES:
        expiring, revoked = _add_users(emulator, have, size)
        have = size
        owed_now = expiring | revoked
        revoked_all |= revoked
        mail_dir = tmp / f"mail-{size}"
        mail_dir.mkdir()
        emulator.clear_requests()
        emulator.set_fault("latency", seconds=LATENCY)
        emulator.set_fault("throttle", every=THROTTLE_EVERY, retry_after=RETRY_AFTER)
        try:
            wall, rss, cpu, summary = _run_job(env, mail_dir)
        finally:
            emulator.clear_faults()
        records = emulator.requests
        scale_ids = {i.id for i in emulator.state.identities.values() if i.email.startswith(EMAIL_PREFIX)}
        revoked_ids = {i.id for i in emulator.state.identities.values() if i.email in revoked_all}
        connection_data = [r for r in records if r.path.endswith("/_apis/connectionData")]
        accepted = Counter(r.identity_id for r in connection_data if r.status == 200 and r.identity_id in scale_ids)
        # Every working token answered connectionData exactly once (a throttled call is retried); a revoked
        # one is refused without an identity on the record, so those are counted by number.
        checked_once = (
            set(accepted) == scale_ids - revoked_ids
            and all(n == 1 for n in accepted.values())
            and sum(1 for r in connection_data if r.status == 401) == len(revoked_ids)
        )
        received = _recipients(mail_dir)
        scale_received = {a: n for a, n in received.items() if a.startswith(EMAIL_PREFIX)}
        emails_once = set(scale_received) == owed_now and all(n == 1 for n in scale_received.values())
        throttled = sum(1 for r in records if r.status == 429)
        # Test Connection sends its calls at once, so a check is one round trip: calls x latency ÷ (workers
        # x calls per check) is the same as checks x latency ÷ workers.
        ideal = size * LATENCY / WORKERS
        runs.append(
            Run(
                credentials=size, wall_s=wall, ideal_s=ideal, calls=len(records), throttled=throttled,
                peak_rss_mb=rss, checked_once=checked_once, emails=sum(scale_received.values()),
                emails_expected=len(owed_now), emails_once=emails_once, summary=summary, cpu_s=cpu,
            )
        )
    return runs
