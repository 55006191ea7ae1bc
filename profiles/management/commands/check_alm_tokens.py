"""Daily: re-validate every saved Azure DevOps token and send the reminders due."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from profiles.lifecycle import LOCK_NAME, AlreadyRunning, check_all_tokens, job_lock


class Command(BaseCommand):
    help = (
        "Re-validate every saved token (users' and service accounts') against its connection, update "
        "status, expiry and permissions, and e-mail people about rejected and expiring tokens (once per event)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            default=4,
            help="Tokens checked at the same time: at most this many checks' worth of calls in flight (default 4).",
        )

    def handle(self, *args: object, workers: int, **options: Any) -> None:
        interactive = sys.stdout.isatty() and options.get("verbosity", 1) >= 1

        def progress(done: int, total: int) -> None:
            if interactive:
                width = 30
                filled = width * done // max(total, 1)
                self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending="")
                self.stdout.flush()

        try:
            with job_lock(LOCK_NAME):
                summary = check_all_tokens(workers=workers, progress=progress)
        except AlreadyRunning:
            self.stdout.write("Another check_alm_tokens is running; nothing to do here.")
            return
        if interactive:
            self.stdout.write("")
        self.stdout.write(summary.line())
