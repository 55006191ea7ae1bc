"""Signal receivers: what is kept beside a person's credentials follows the person.

- The overview's counts per state are counted again when what they depend on changes.
- `AlmCredential.email_matches` follows the person's e-mail (the SQL form of the state reads it).
- The credentials pages keep in the cache (profiles.kept) are stale once one is written.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from alm.models import AlmConnection
from profiles.kept import credentials_changed
from profiles.models import AlmCredential
from profiles.overview import counts_changed

User = get_user_model()


def email_changed(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    """A person's e-mail may have changed: tell each of their learned credentials whether it still matches.
    Saves that name their fields and leave the e-mail out (a sign-in's last_login) cost nothing."""
    if created or (update_fields is not None and "email" not in update_fields):
        return
    email = getattr(instance, "email", "")
    learned = AlmCredential.objects.filter(user=instance).exclude(ado_email="")
    for credential in learned.only("ado_email", "email_matches"):
        matches = credential.matches_email(email)
        if matches != credential.email_matches:
            AlmCredential.objects.filter(pk=credential.pk).update(email_matches=matches)


# First, so that the counts are counted again after the credentials follow the e-mail.
post_save.connect(email_changed, sender=User, dispatch_uid="credential-email-matches")

for model in (AlmCredential, AlmConnection, User):
    post_save.connect(counts_changed, sender=model, dispatch_uid=f"overview-counts-save-{model.__name__}")
    post_delete.connect(counts_changed, sender=model, dispatch_uid=f"overview-counts-delete-{model.__name__}")

# The rows pages keep (profiles.kept) are stale once any credential is written.
post_save.connect(credentials_changed, sender=AlmCredential, dispatch_uid="kept-credentials-save")
post_delete.connect(credentials_changed, sender=AlmCredential, dispatch_uid="kept-credentials-delete")
