"""A person's Azure DevOps credential for one ALM connection."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from alm.fields import EncryptedTokenField, is_unreadable, key_id
from alm.token_state import address_key, email_key
from profiles.kept import credentials_changed

# The attribute under which a kept row (profiles.standing) carries whether its token reads.
NOTED_READABLE = "_token_readable"


class AlmCredentialQuerySet(models.QuerySet["AlmCredential"]):
    def bulk_create(  # type: ignore[override]  # the stubs leave the model of a subclassed QuerySet unbound
        self, objs: Iterable[AlmCredential], *args: Any, **kwargs: Any
    ) -> list[AlmCredential]:
        """As Django's, with what save() keeps beside the token and the identity noted first."""
        made = list(objs)
        for credential in made:
            credential.note_derived()
        created = super().bulk_create(made, *args, **kwargs)  # type: ignore[arg-type]
        credentials_changed()  # no signal is sent: the rows pages keep are stale (profiles.kept)
        return created  # type: ignore[return-value]

    def update(self, **kwargs: Any) -> int:
        """As Django's; the rows pages keep (profiles.kept) are stale afterwards, as after a save()."""
        updated = super().update(**kwargs)
        credentials_changed()
        return updated


class AlmCredential(models.Model):
    class Status(models.TextChoices):
        WORKING = "working", "Working"
        REJECTED = "rejected", "Rejected"
        UNVERIFIED = "unverified", "Unverified"
        # Azure DevOps says the token is someone else's (at a test, or by the name it put on a change).
        FOREIGN = "foreign", "Another person's token"

    class RejectedReason(models.TextChoices):
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"
        INVALID = "invalid", "No longer valid"
        PERMISSIONS = "permissions", "Missing permissions"
        SIGN_IN_ENDED = "sign_in_ended", "Microsoft sign-in ended"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alm_credentials")
    connection = models.ForeignKey("alm.AlmConnection", on_delete=models.CASCADE, related_name="credentials")
    # Encrypted at rest (django-cryptography, key ALM_ENCRYPTION_KEY). Never rendered, never logged.
    # Null for a Microsoft sign-in, whose (encrypted) MSAL cache is in EntraSignIn instead.
    token = EncryptedTokenField(null=True)
    # Which key the token was encrypted with (alm.fields.key_id; "!" + id: checked, no reading key reads
    # it), so lists can tell unreadable tokens in SQL without decrypting them (profiles.state).
    token_key = models.CharField(max_length=20, blank=True, editable=False)

    # What Azure DevOps told us about the token; nothing here is derived from the token itself.
    ado_id = models.CharField("Azure DevOps identity id", max_length=64, blank=True)
    ado_display_name = models.CharField("Azure DevOps name", max_length=255, blank=True)
    ado_email = models.CharField("Azure DevOps e-mail", max_length=255, blank=True)
    # Whether `ado_email` is the person's own e-mail (alm.token_state.email_key on both sides): kept by
    # save() and, when a person's e-mail changes, by profiles.signals, so that lists tell another person's
    # token in SQL. Pages ask profiles.state.owns, which compares the two e-mails as they are now.
    email_matches = models.BooleanField(default=False, editable=False)
    permissions = models.JSONField("permissions found", default=list, blank=True)
    expires_on = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNVERIFIED)
    rejected_reason = models.CharField(max_length=16, choices=RejectedReason.choices, blank=True)
    rejected_message = models.CharField(max_length=500, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)

    # The connection URL the token was saved or last verified against, as addresses are compared
    # (alm.token_state.address_key; save() keeps it so). A token is only ever sent there: when the
    # connection moves, the person re-tests it before it travels anywhere (alm.token_state).
    origin = models.CharField("verified for address", max_length=500, blank=True)

    saved_at = models.DateTimeField(default=timezone.now)
    last_verified_at = models.DateTimeField(null=True, blank=True)

    objects = AlmCredentialQuerySet.as_manager()

    # What a test of the token teaches us: every field but the token itself and when it was saved.
    LEARNED_FIELDS = (
        "ado_id",
        "ado_display_name",
        "ado_email",
        "permissions",
        "expires_on",
        "status",
        "rejected_reason",
        "rejected_message",
        "rejected_at",
        "last_verified_at",
        "origin",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "connection"], name="one_credential_per_user_and_connection")
        ]
        # The admin list filters by status and connection and shows the newest first.
        indexes = [
            models.Index(fields=["status", "-id"], name="credential_status_idx"),
            models.Index(fields=["connection", "-id"], name="credential_connection_idx"),
            # Lists look for tokens whose key note is not the current key's (profiles.state.note_token_keys).
            models.Index(fields=["token_key"], name="credential_token_key_idx"),
        ]
        verbose_name = "ALM credential"

    def __str__(self) -> str:
        return f"ALM credential of {self.user} for {self.connection}"

    def __repr__(self) -> str:
        return f"<AlmCredential id={self.pk} user={self.user_id} connection={self.connection_id} status={self.status}>"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        derived = self.note_derived(update_fields)
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, *derived}
        super().save(*args, **kwargs)

    def note_derived(self, fields: Iterable[str] | None = None) -> set[str]:
        """Bring the fields kept from others up to date with `fields` (None: all), and name the ones set.

        save() calls it; so do writes that bypass save() (`objects.bulk_create`, profiles.services'
        guarded write-back). A token written now is encrypted with the current key: note which (an
        unreadable one is written back as the ciphertext it was, so its note stays as it was too).
        """
        fields = None if fields is None else set(fields)
        derived = set()
        if (fields is None or "token" in fields) and not is_unreadable(self.token):
            self.token_key = key_id()
            derived.add("token_key")
        if fields is None or "ado_email" in fields:
            self.email_matches = self.matches_email(getattr(self.user, "email", ""))
            derived.add("email_matches")
        if fields is None or "origin" in fields:
            self.origin = address_key(self.origin)
        return derived

    def matches_email(self, email: str | None) -> bool:
        """Whether Azure DevOps's e-mail for the token is `email` (an empty one never matches)."""
        own = email_key(self.ado_email)
        return bool(own) and own == email_key(email)

    @property
    def is_unreadable(self) -> bool:
        return not self.token_readable

    @property
    def token_readable(self) -> bool:
        """Whether the current keys decrypt the saved token (a sign-in, which saves none, counts as readable).

        Rows kept for the pages (profiles.standing) never hold the token: they carry the answer, noted when
        they were read, so asking does not load the token again.
        """
        noted = self.__dict__.get(NOTED_READABLE)
        if noted is not None:
            return bool(noted)
        return not is_unreadable(self.token)


class TokenNotice(models.Model):
    """An e-mail sent about a token, so the daily check never sends the same one twice.

    `subject` is "user:<id>" for a person's credential or "service" for the connection's service
    account; `token_saved_at` ties the notice to one token: a replaced token starts afresh.
    """

    class Event(models.TextChoices):
        REJECTED = "rejected", "Rejected"
        EXPIRES_14 = "expires_14", "Expires within 14 days"
        EXPIRES_3 = "expires_3", "Expires within 3 days"

    connection = models.ForeignKey("alm.AlmConnection", on_delete=models.CASCADE, related_name="token_notices")
    subject = models.CharField(max_length=40)
    event = models.CharField(max_length=16, choices=Event.choices)
    token_saved_at = models.DateTimeField()
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "subject", "event", "token_saved_at"], name="one_notice_per_token_event"
            )
        ]
        # The admin list filters by event and connection and shows the newest first.
        indexes = [
            models.Index(fields=["event", "-id"], name="notice_event_idx"),
            models.Index(fields=["connection", "-id"], name="notice_connection_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} notice for {self.subject}"


class JobLock(models.Model):
    """A lease so that a scheduled job runs on one host at a time (works on SQLite and PostgreSQL)."""

    name = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    locked_until = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


# Sign in with Microsoft: its model lives in its own module; imported here so Django registers it.
from profiles.entra_models import EntraSignIn  # noqa: E402, F401
