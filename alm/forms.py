"""The ALM connection form: validates and normalizes; the admin plugs in the token test."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from alm.client import TokenReport
from alm.exceptions import AdoError
from alm.models import AlmConnection
from alm.services import report_details

# --- Sign in with Microsoft (Entra ID) --------------------------------------------------------------------
# A tenant is named by its GUID or one of its domains (contoso.onmicrosoft.com).
_TENANT_DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9](-*[a-z0-9])*\.)+[a-z]{2,63}$", re.IGNORECASE)


class EntraSettingsMixin(forms.Form):
    """The Entra ID part of the connection form: which credentials users may use, the app registration, and
    whether the connection acts as the app's service principal. The client secret is write-only like the token.
    """

    credential_types = forms.ChoiceField(
        label="Users may connect with",
        choices=AlmConnection.CredentialTypes.choices,
        required=False,
        initial=AlmConnection.CredentialTypes.PAT,
        help_text="Sign in with Microsoft needs Azure DevOps Services; Azure DevOps Server offers tokens only.",
    )
    service_identity = forms.ChoiceField(
        label="The ALM connection acts as",
        choices=AlmConnection.ServiceIdentity.choices,
        required=False,
        initial=AlmConnection.ServiceIdentity.TOKEN,
        help_text="The service principal needs no person's account: add the app to the organization in Azure "
        "DevOps (Organization settings → Users) with the access it should have.",
    )
    entra_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        max_length=512,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The secret's Value from Certificates & secrets (not its Secret ID). Leave blank to keep the "
        "saved one.",
    )

    # Set by the admin to alm.entra_services.check_entra_configuration; the form never calls the network.
    entra_checker: ClassVar[Callable[..., None] | None] = None

    def clean_credential_types(self) -> str:
        return self.cleaned_data.get("credential_types") or AlmConnection.CredentialTypes.PAT

    def clean_service_identity(self) -> str:
        return self.cleaned_data.get("service_identity") or AlmConnection.ServiceIdentity.TOKEN

    def clean_entra_client_id(self) -> str:
        value = (self.cleaned_data.get("entra_client_id") or "").strip()
        if value:
            try:
                value = str(uuid.UUID(value))
            except ValueError:
                raise ValidationError(
                    "The application (client) ID is a GUID, as on the app registration's Overview page.",
                    code="entra_client_id",
                ) from None
        return value

    def clean_entra_tenant_id(self) -> str:
        value = (self.cleaned_data.get("entra_tenant_id") or "").strip()
        if not value:
            return value
        try:
            return str(uuid.UUID(value))
        except ValueError:
            if _TENANT_DOMAIN.match(value):
                return value.lower()
        raise ValidationError(
            "The directory (tenant) ID is a GUID (Overview page) or one of the tenant's domains.",
            code="entra_tenant_id",
        )

    def uses_entra(self) -> bool:
        data = self.cleaned_data
        return (
            data.get("credential_types") != AlmConnection.CredentialTypes.PAT
            or data.get("service_identity") == AlmConnection.ServiceIdentity.ENTRA_APP
        )

    @sensitive_variables("secret")
    def clean_entra(self, instance: AlmConnection) -> None:
        """Require a client secret when Entra ID is used, put a typed one on the instance, and test the
        configuration through the admin's checker when any of its settings changed."""
        if not self.uses_entra() or instance.kind != AlmConnection.Kind.SERVICES:
            return
        secret = self.cleaned_data.get("entra_secret") or ""
        if secret:
            instance.entra_client_secret = secret
        elif not instance.entra_client_secret:
            self.add_error("entra_secret", ValidationError("Required for Sign in with Microsoft.", code="required"))
            return
        changed = {"entra_tenant_id", "entra_client_id", "entra_secret", "service_identity", "credential_types"}
        checker = type(self).entra_checker
        if checker is None or not (changed & set(self.changed_data)):
            return
        try:
            checker(connection=instance, secret=secret or None)
        except AdoError as error:
            self.add_error(None, ValidationError("%(problem)s", code="entra_test_failed", params={"problem": error}))

    def _post_clean(self) -> None:
        # After the model's clean() (kind and settings validated), before the service token test, which
        # needs the typed secret on the instance when the connection acts as its service principal.
        super()._post_clean()  # type: ignore[misc]
        if not self.errors:
            self.clean_entra(self.instance)  # type: ignore[attr-defined]


class AlmConnectionForm(EntraSettingsMixin, forms.ModelForm):
    token = forms.CharField(
        label="Service account token",
        required=False,
        strip=True,
        # As on the profile page (profiles.forms.MAX_TOKEN_LENGTH): a longer value is no token, and
        # testing it would send it to Azure DevOps in a header that servers refuse (HTTP 431).
        max_length=512,
        # Never sent back to the browser, not even after a failed submit.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The service account's personal access token with the five permissions listed below.",
    )
    save_anyway = forms.BooleanField(
        label="Save anyway",
        required=False,
        help_text="Store this connection even though its token failed the test.",
    )

    # Set by the admin to alm.services.check_token. The form itself never calls the network:
    # without a checker (e.g. in tests of validation alone) no test runs.
    token_checker: ClassVar[Callable[..., TokenReport] | None] = None

    class Meta:
        model = AlmConnection
        fields = ["name", "kind", "url", "default_project", "is_default", "allow_service_account_fallback"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token_report: TokenReport | None = None
        self.token_error: AdoError | None = None
        self.token_test_failed = False
        self._was_default = bool(self.instance.pk and self.instance.is_default)
        self._tested_settings = self._settings_under_test()
        token_field = self.fields["token"]
        if self.instance.pk:
            token_field.label = "Replace token"
            token_field.help_text = (
                "Leave blank to keep the saved token. Type a new one to replace it; it is tested first."
            )
        else:
            # A connection acting as its Entra ID service principal needs no service account token.
            token_field.required = self.data.get("service_identity") != AlmConnection.ServiceIdentity.ENTRA_APP

    def clean_is_default(self) -> bool:
        value = bool(self.cleaned_data.get("is_default"))
        if self._was_default and not value:
            raise ValidationError(
                "One connection must be the active default: mark another connection as the default instead.",
                code="default_required",
            )
        return value

    @property
    def changed_data(self) -> list[str]:
        return [name for name in super().changed_data if name != "save_anyway"]

    @sensitive_variables("token")
    def _post_clean(self) -> None:
        # After the model's clean(): the URL is normalized before any test uses it.
        super()._post_clean()
        checker = type(self).token_checker
        if self.errors or checker is None:
            return
        token = self.cleaned_data.get("token") or None
        # Compared after normalization: "…/fabrikam/" is the URL already saved as "…/fabrikam".
        if self.instance.pk and not token and self._settings_under_test() == self._tested_settings:
            return
        try:
            self.token_report = checker(connection=self.instance, token=token)
        except AdoError as error:
            self.token_error = error
        if self.test_passed or self.cleaned_data.get("save_anyway"):
            return
        self.token_test_failed = True
        problem = self.token_error.message if self.token_error else self._missing_text()
        # The token field is never rendered back, so a new token has to be typed again.
        then = "Type the token again and tick" if token else "Tick"
        self.add_error(
            None,
            ValidationError(
                "The token failed its test: %(problem)s %(then)s “Save anyway” to store the connection regardless.",
                code="token_test_failed",
                params={"problem": problem, "then": then},
            ),
        )

    def _settings_under_test(self) -> tuple[str, str, str]:
        return (self.instance.url, self.instance.kind, self.instance.default_project)

    @property
    def test_passed(self) -> bool:
        return self.token_error is None and self.token_report is not None and self.token_report.ok

    @property
    def test_outcome(self) -> dict[str, Any]:
        """The failed test, shaped like the stored last test, for the change page."""
        report = self.token_report
        return {
            "details": report_details(report) if report else {},
            "error": self.token_error.message if self.token_error else "",
            "ok": self.test_passed,
            "expires_on": report.expires_on if report else None,
        }

    def _missing_text(self) -> str:
        report = self.token_report
        if report is None:
            return "it could not be tested."
        missing = ", ".join(permission.label for permission in report.missing)
        unknown = ", ".join(permission.label for permission in report.undetermined)
        parts = []
        if missing:
            parts.append(f"it lacks {missing}.")
        if unknown:
            parts.append(f"These could not be checked: {unknown}.")
        return " ".join(parts)

    @sensitive_variables("token")
    def save(self, commit: bool = True) -> AlmConnection:
        token = self.cleaned_data.get("token")
        if token:
            self.instance.service_token = token
            self.instance.service_token_changed_at = timezone.now()
        return super().save(commit=commit)
