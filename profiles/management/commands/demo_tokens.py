"""Print the emulator's demo tokens (for `make run`; they are fake and only work against the emulator)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from profiles.demo import demo_tokens


class Command(BaseCommand):
    help = "Print the demo identities and their (fake, emulator-only) personal access tokens."
    requires_system_checks = []

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write("  Demo tokens (emulator only; paste Alice's on her ALM Credentials page):")
        for name, email, token in demo_tokens():
            self.stdout.write(f"    {name:<22} {email:<32} {token}")
