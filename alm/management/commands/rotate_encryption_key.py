"""Re-encrypt every stored token from the previous ALM_ENCRYPTION_KEY to the current one."""

from __future__ import annotations

import os

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import BinaryField, ExpressionWrapper, F, Model

from alm.crypto import EncryptionKeyError, parse_key
from alm.fields import EncryptedTokenField, decrypt_with


def encrypted_fields() -> list[tuple[type[Model], str]]:
    """Every (model, field name) that stores a token."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, EncryptedTokenField)
    ]


class Command(BaseCommand):
    help = (
        "Re-encrypt all stored Azure DevOps tokens (users' and service accounts') with the current "
        "ALM_ENCRYPTION_KEY. The previous key is read from the environment variable named by "
        "--old-key-env (default ALM_ENCRYPTION_KEY_OLD), never from the command line. Safe to run twice, "
        "and while the site serves (it reads with both keys meanwhile)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--old-key-env",
            default="ALM_ENCRYPTION_KEY_OLD",
            help="Name of the environment variable holding the previous key.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args: object, old_key_env: str, dry_run: bool, **options: object) -> None:
        old_key = os.environ.get(old_key_env, "")
        try:
            parse_key(old_key)
        except EncryptionKeyError as exc:
            raise CommandError(f"{old_key_env} must hold the previous key: {exc}.") from None
        current_key = settings.ALM_ENCRYPTION_KEY
        if old_key.strip() == current_key.strip():
            raise CommandError(f"{old_key_env} is the same as ALM_ENCRYPTION_KEY: nothing to rotate.")
        counts = {"re-encrypted": 0, "already current": 0, "unreadable with either key": 0, "empty": 0}
        with transaction.atomic():
            for model, name in encrypted_fields():
                # The ciphertext as stored: the field itself would read it with either key (rotation while
                # serving), and here which key reads it is the point.
                rows = model._default_manager.select_for_update().annotate(
                    stored=ExpressionWrapper(F(name), output_field=BinaryField())
                )
                for obj in rows.only("pk", name):
                    if obj.stored is None or bytes(obj.stored) == b"":
                        counts["empty"] += 1
                        continue
                    stored = bytes(obj.stored)
                    try:
                        decrypt_with(stored, current_key)
                    except ValueError:
                        pass
                    else:
                        counts["already current"] += 1
                        continue
                    try:
                        plain = decrypt_with(stored, old_key)
                    except ValueError:
                        counts["unreadable with either key"] += 1
                        continue
                    counts["re-encrypted"] += 1
                    if not dry_run:
                        setattr(obj, name, plain)
                        obj.save(update_fields=[name])
            if dry_run:
                transaction.set_rollback(True)
        summary = ", ".join(f"{count} {label}" for label, count in counts.items())
        if counts["unreadable with either key"] and not (counts["re-encrypted"] or counts["already current"]):
            # Every token unreadable: the keys are wrong (a typo, the wrong environment), not the tokens.
            raise CommandError(
                f"No stored token could be read with ALM_ENCRYPTION_KEY or {old_key_env}: check both keys. "
                f"Nothing was changed. ({summary}.)"
            )
        self.stdout.write(("Dry run: " if dry_run else "") + summary + ".")
        if counts["unreadable with either key"]:
            self.stderr.write(
                "Some tokens could be read with neither key; they were left untouched. Their owners "
                "will be asked to enter them again."
            )
