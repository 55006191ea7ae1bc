"""The ALM connection: which Azure DevOps organization (or collection) the app talks to, and as whom."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from alm.connection_urls import normalize_connection_url
from alm.fields import EncryptedTokenField
from alm.token_state import address_key, same_address


def validate_no_control_characters(value: str) -> None:
    """Refuse control characters (CR and LF above all): the name goes into e-mail subjects and pages."""
    # Cc: C0/C1 controls (CR, LF, TAB, NUL, NEL); Zl/Zp: the Unicode line and paragraph separators.
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value):
        raise ValidationError("The name cannot contain line breaks, tabs or other control characters.", code="control")


class AlmConnectionQuerySet(models.QuerySet["AlmConnection"]):
    def default(self) -> AlmConnection | None:
        """The active default connection, or None when none is configured."""
        return self.filter(is_default=True).first()


class AlmConnection(models.Model):
    class Kind(models.TextChoices):
        SERVICES = "services", "Azure DevOps Services"
        SERVER = "server", "Azure DevOps Server"

    name = models.CharField(
        max_length=100,
        unique=True,
        help_text="A name for people, e.g. “Fabrikam”.",
        validators=[validate_no_control_characters],
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SERVICES)
    url = models.CharField(
        "organization or collection URL",
        max_length=500,
        unique=True,
        help_text="https://dev.azure.com/{organization}, https://{organization}.visualstudio.com, "
        "or for Azure DevOps Server https://server[:port]/[virtual directory/]{collection}.",
    )
    # The URL as addresses are compared (alm.token_state.address_key), kept by save(): lists tell in SQL
    # whether a credential was verified for this address (profiles.state).
    address_key = models.CharField(max_length=500, editable=False)
    # The service account's personal access token, encrypted at rest; never rendered anywhere.
    service_token = EncryptedTokenField("service account token", null=True, blank=True)  # none: acts as the app
    default_project = models.CharField(
        max_length=255, blank=True, help_text="The project work items are planned in (its exact name)."
    )
    is_default = models.BooleanField(
        "active default",
        default=False,
        help_text="The connection the app uses. Exactly one connection is the active default.",
    )
    allow_service_account_fallback = models.BooleanField(
        "users without a token may change work items through the service account",
        default=True,
        help_text="When off, only users who saved their own token can change work items.",
    )

    # --- Sign in with Microsoft (Entra ID): Azure DevOps Services only (Server has no OAuth,
    # docs/azure-devops-behaviours.md §9) ---
    class CredentialTypes(models.TextChoices):
        PAT = "pat", "Personal access tokens"
        ENTRA = "entra", "Sign in with Microsoft (Entra ID)"
        BOTH = "both", "Both: personal access tokens and Sign in with Microsoft"

    class ServiceIdentity(models.TextChoices):
        TOKEN = "token", "The service account's personal access token"
        ENTRA_APP = "entra_app", "The Entra ID application itself (service principal, client credentials)"

    credential_types = models.CharField(
        "users may connect with",
        max_length=8,
        choices=CredentialTypes.choices,
        default=CredentialTypes.PAT,
        help_text="Azure DevOps Server offers personal access tokens only.",
    )
    entra_tenant_id = models.CharField("directory (tenant) ID", max_length=64, blank=True)
    entra_client_id = models.CharField("application (client) ID", max_length=64, blank=True)
    # The app registration's client secret, encrypted at rest like tokens; never rendered anywhere.
    entra_client_secret = EncryptedTokenField("client secret", null=True, blank=True)
    service_identity = models.CharField(
        "the ALM connection acts as",
        max_length=16,
        choices=ServiceIdentity.choices,
        default=ServiceIdentity.TOKEN,
        help_text="Who acts for users without their own credential (when the fallback is allowed).",
    )

    last_tested_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_ok = models.BooleanField(null=True, editable=False)
    last_test_identity_name = models.CharField(max_length=255, blank=True, editable=False)
    last_test_identity_email = models.CharField(max_length=255, blank=True, editable=False)
    # Keys of the permissions the token was found to hold (alm.scopes.REQUIRED_PERMISSIONS).
    last_test_permissions = models.JSONField(default=list, blank=True, editable=False)
    # Per-permission outcome and detail, expiry note and elapsed time, for the admin's result panel.
    last_test_details = models.JSONField(default=dict, blank=True, editable=False)
    last_test_expires_on = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_error = models.TextField(blank=True, editable=False)

    # When the service account token was last saved (set by the admin form); expiry notices key on it.
    service_token_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The URL the service token was entered for. It is never sent anywhere else: moving the connection
    # means entering the token again (alm.token_state, README "Security").
    service_token_origin = models.CharField(max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AlmConnectionQuerySet.as_manager()

    class Meta:
        verbose_name = "ALM connection"
        verbose_name_plural = "ALM connections"
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="alm_single_default_connection"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # One active default: the first connection becomes it, and a new default demotes the old one
        # in the same transaction (the partial unique constraint backs this up).
        if self.service_token and not self.service_token_origin:
            self.service_token_origin = self.url  # a new connection: the token was entered with this URL
        self.address_key = address_key(self.url)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "url" in update_fields:
            kwargs["update_fields"] = update_fields = {*update_fields, "address_key"}
        if update_fields is not None and "is_default" not in update_fields:
            super().save(*args, **kwargs)
            return
        with transaction.atomic():
            others = AlmConnection.objects.exclude(pk=self.pk) if self.pk else AlmConnection.objects.all()
            if not self.is_default and not others.filter(is_default=True).exists():
                self.is_default = True
            if self.is_default:
                others.filter(is_default=True).update(is_default=False)
            super().save(*args, **kwargs)

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        # A new default is allowed: save() hands the role over. The constraint guards the database itself.
        super().validate_constraints(exclude={*(exclude or ()), "is_default"})

    def set_service_token(self, token: str) -> None:
        """Store a newly entered service token, bound to the connection's current URL."""
        self.service_token = token
        self.service_token_origin = self.url
        self.service_token_changed_at = timezone.now()

    @property
    def service_token_moved(self) -> bool:
        """The URL changed since the service token was entered: it is not sent until entered again."""
        return bool(self.service_token_origin) and not same_address(self.service_token_origin, self.url)

    @property
    def organization_name(self) -> str:
        """The organization (Services) or collection (Server) as people pick it on the token page."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        segments = [s for s in parts.path.split("/") if s]
        if segments:
            return segments[-1]
        return (parts.hostname or "").split(".")[0]

    @property
    def offers_tokens(self) -> bool:
        return self.kind == self.Kind.SERVER or self.credential_types != self.CredentialTypes.ENTRA

    @property
    def offers_entra(self) -> bool:
        """Whether users may sign in with Microsoft here: Services only, and only once configured."""
        return (
            self.kind == self.Kind.SERVICES
            and self.credential_types != self.CredentialTypes.PAT
            and bool(self.entra_tenant_id and self.entra_client_id)
        )

    @property
    def acts_as_service_principal(self) -> bool:
        return self.kind == self.Kind.SERVICES and self.service_identity == self.ServiceIdentity.ENTRA_APP

    @property
    def service_account_name(self) -> str:
        return self.last_test_identity_name or "the ALM service account"

    def clean(self) -> None:
        super().clean()
        if self.url:
            try:
                self.url = normalize_connection_url(
                    self.url,
                    kind=self.kind,
                    allow_insecure_server=settings.ALM_ALLOW_INSECURE_SERVER_URLS,
                    allow_loopback_http=settings.DEBUG or getattr(settings, "ALM_ALLOW_LOOPBACK_HTTP", False),
                )
            except ValidationError as error:
                raise ValidationError({"url": error.error_list}) from None
        self._clean_entra()

    def _clean_entra(self) -> None:
        """Entra ID needs Services and an app registration; Server connections offer tokens only."""
        uses_entra = (
            self.credential_types != self.CredentialTypes.PAT or self.service_identity == self.ServiceIdentity.ENTRA_APP
        )
        if not uses_entra:
            return
        if self.kind == self.Kind.SERVER:
            if self.credential_types != self.CredentialTypes.PAT:
                message = "Azure DevOps Server has no Sign in with Microsoft: choose personal access tokens."
                raise ValidationError({"credential_types": message}, code="entra_server")
            message = "Azure DevOps Server connections act with a personal access token."
            raise ValidationError({"service_identity": message}, code="entra_server")
        missing = {
            name: "Required for Sign in with Microsoft."
            for name in ("entra_tenant_id", "entra_client_id")
            if not getattr(self, name).strip()
        }
        if missing:
            raise ValidationError(missing, code="entra_required")


@receiver(post_delete, sender=AlmConnection)
def _promote_a_default(sender: type[AlmConnection], instance: AlmConnection, **kwargs: Any) -> None:
    """Deleting the active default hands the role to the oldest remaining connection."""
    if instance.is_default and not AlmConnection.objects.filter(is_default=True).exists():
        successor = AlmConnection.objects.order_by("created_at", "pk").first()
        if successor is not None:
            AlmConnection.objects.filter(pk=successor.pk).update(is_default=True)
