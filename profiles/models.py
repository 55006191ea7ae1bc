"""A person's Azure DevOps credential for one ALM connection."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from alm.fields import EncryptedTokenField, is_unreadable


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

    # What Azure DevOps told us about the token; nothing here is derived from the token itself.
    ado_id = models.CharField("Azure DevOps identity id", max_length=64, blank=True)
    ado_display_name = models.CharField("Azure DevOps name", max_length=255, blank=True)
    ado_email = models.CharField("Azure DevOps e-mail", max_length=255, blank=True)
    permissions = models.JSONField("permissions found", default=list, blank=True)
    expires_on = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UNVERIFIED)
    rejected_reason = models.CharField(max_length=16, choices=RejectedReason.choices, blank=True)
    rejected_message = models.CharField(max_length=500, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)

    # The connection URL the token was saved or last verified against. A token is only ever sent there:
    # when the connection moves, the person re-tests it before it travels anywhere (alm.token_state).
    origin = models.CharField("verified for address", max_length=500, blank=True)

    saved_at = models.DateTimeField(default=timezone.now)
    last_verified_at = models.DateTimeField(null=True, blank=True)

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
        verbose_name = "ALM credential"

    def __str__(self) -> str:
        return f"ALM credential of {self.user} for {self.connection}"

    def __repr__(self) -> str:
        return f"<AlmCredential id={self.pk} user={self.user_id} connection={self.connection_id} status={self.status}>"

    @property
    def is_unreadable(self) -> bool:
        return is_unreadable(self.token)


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
