"""Print a new random value for ALM_ENCRYPTION_KEY."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from alm.crypto import generate_key


class Command(BaseCommand):
    help = "Print a new random ALM_ENCRYPTION_KEY (32 random bytes, URL-safe base64)."
    requires_system_checks = []

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(generate_key())
