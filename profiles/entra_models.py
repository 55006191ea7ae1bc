"""A person's Microsoft sign-in for one ALM credential (Sign in with Microsoft). Imported by profiles.models."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from alm.fields import EncryptedTokenField


class EntraSignIn(models.Model):
    """MSAL's token cache for the user's sign-in, encrypted at rest like tokens.

    The stored cache holds the refresh token and the account, never an access token: those live in the
    process's memory only, until they expire (profiles/entra.py).
    """

    credential = models.OneToOneField(
        "profiles.AlmCredential", on_delete=models.CASCADE, related_name="entra_sign_in"
    )
    # MSAL's home_account_id: the key of the account in the cache (not secret).
    account_id = models.CharField(max_length=255)
    cache = EncryptedTokenField("MSAL token cache")
    signed_in_at = models.DateTimeField(default=timezone.now)
    # False once "Create my token for me" saved a personal access token, which then acts; the sign-in stays
    # for renewing that token.
    acting = models.BooleanField(default=True)

    class Meta:
        verbose_name = "Microsoft sign-in"

    def __str__(self) -> str:
        return f"Microsoft sign-in of {self.credential}"

    def __repr__(self) -> str:
        return f"<EntraSignIn id={self.pk} credential={self.credential_id} acting={self.acting}>"
