"""Demo data for `make run`: users, the ALM connection to the emulator, Bob's token."""

from __future__ import annotations

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

DEMO_USERS = (
    # username, first name, last name, email, superuser
    ("admin", "Ada", "Admin", "admin@fabrikam.example", True),
    ("alice", "Alice", "Example", "alice@fabrikam.example", False),
    ("bob", "Bob", "Example", "bob@fabrikam.example", False),
)


class Command(BaseCommand):
    help = "Create the demo users, the ALM connection to the emulator and Bob's saved token (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even when DEBUG is off.")

    def handle(self, *args: object, force: bool = False, **options: object) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with a known password; it refuses to run when DJANGO_DEBUG is off. "
                "Pass --force if you really mean it."
            )
        password = os.environ.get("DEMO_PASSWORD", "demo-pass-123")
        with transaction.atomic():
            users = {
                name: self._user(name, first, last, email, su, password) for name, first, last, email, su in DEMO_USERS
            }
            from profiles.demo import seed_alm

            emulator_url = os.environ.get("ALM_EMULATOR_URL", "http://127.0.0.1:8765/fabrikam")
            seed_alm(users=users, emulator_url=emulator_url)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready: users admin, alice, bob; the demo connection is {emulator_url}.")
        )

    def _user(self, username: str, first: str, last: str, email: str, superuser: bool, password: str):
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": email,
                "is_staff": superuser,
                "is_superuser": superuser,
            },
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        return user
