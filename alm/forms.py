"""The ALM connection form: validates and normalizes, and tests the service token it is given.

The network is never reached through Django's private hooks: `clean()` calls the checker the form
was constructed with (`alm.services.check_token` unless a test passes another, or None for
validation alone).
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance
from django.views.decorators.debug import sensitive_variables

from alm.check import TokenReport
from alm.connection_urls import normalize_connection_url
from alm.entra_services import check_entra_configuration
from alm.exceptions import AlmlinkError, message_for
from alm.models import AlmConnection
from alm.scopes import permission_list
from alm.services import check_token, report_details
from alm.token_state import same_address

if TYPE_CHECKING:
    from django.http import QueryDict

Checker = Callable[..., TokenReport]
TEST_BUTTON = "_test_connection"


def _secret_field(label: str, help_text: str) -> forms.CharField:
    """A write-only field for a secret: never sent back to the browser, not even after a failed submit.

    512 characters at most, as on the profile page (profiles.forms.MAX_TOKEN_LENGTH): a longer value is no
    token, and testing it would send it to Azure DevOps in a header that servers refuse (HTTP 431)."""
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        max_length=512,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )


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
    entra_secret = _secret_field(
        "Client secret",
        "The secret's Value from Certificates & secrets (not its Secret ID). Leave blank to keep the saved one.",
    )

    # Given to the form's constructor (alm.entra_services.check_entra_configuration by default).
    entra_checker: Callable[..., None] | None

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
        """Require a client secret when Entra ID is used, put a typed one on `instance` (the candidate under
        test), and test the configuration through the form's checker when any of its settings changed."""
        if not self.uses_entra() or instance.kind != AlmConnection.Kind.SERVICES:
            return
        secret = self.cleaned_data.get("entra_secret") or ""
        if secret:
            instance.entra_client_secret = secret
        elif not instance.entra_client_secret:
            self.add_error("entra_secret", ValidationError("Required for Sign in with Microsoft.", code="required"))
            return
        changed = {"entra_tenant_id", "entra_client_id", "entra_secret", "service_identity", "credential_types"}
        checker = self.entra_checker
        if checker is None or not (changed & set(self.changed_data)):
            return
        try:
            checker(connection=instance, secret=secret or None)
        except AlmlinkError as error:
            self.add_error(None, ValidationError("%(problem)s", code="entra_test_failed", params={"problem": error}))


class AlmConnectionForm(EntraSettingsMixin, forms.ModelForm):
    token = _secret_field(
        "Service account token",
        f"The service account's personal access token with these five permissions: {permission_list()}.",
    )
    save_anyway = forms.BooleanField(
        label="Save anyway",
        required=False,
        help_text="Store this connection even though its token failed the test.",
    )

    error_messages = {
        "moved": "The address changed, so type the service account token again: almlink only sends a saved "
        "token to the address it was entered for.",
        "user_info": "Remove the user name and password from the URL; the token goes in the token field.",
        "tested": "Tested only, nothing was saved: %(result)s Press Save to keep your changes.",
        "token_test_failed": "The token failed its test: %(problem)s %(then)s “Save anyway” to store the "
        "connection regardless.",
    }

    class Meta:
        model = AlmConnection
        fields = ["name", "kind", "url", "default_project", "is_default", "allow_service_account_fallback"]

    def __init__(
        self,
        *args: Any,
        checker: Checker | None = check_token,
        entra_checker: Callable[..., None] | None = check_entra_configuration,
        detailed_errors: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Only superusers see which connection failure it was (alm.exceptions.message_for).
        self.detailed_errors = detailed_errors
        self.checker = checker
        self.entra_checker = entra_checker
        self.token_report: TokenReport | None = None
        self.token_error: AlmlinkError | None = None
        self.token_test_failed = False
        self.tested = False
        # "Test connection" on the change page posts the whole form: its edits are tested, not saved.
        self.test_only = TEST_BUTTON in self.data
        self._was_default = bool(self.instance.pk and self.instance.is_default)
        self._saved = (self.instance.url, self.instance.kind, self.instance.default_project)
        token_field = self.fields["token"]
        if self.instance.pk:
            token_field.label = "Replace token"
            token_field.help_text = (
                "Leave blank to keep the saved token. Type a new one to replace it; it is tested first. "
                "Changing the URL needs the token typed again."
            )
        else:
            # A connection acting as its Entra ID service principal needs no service account token.
            token_field.required = self.data.get("service_identity") != AlmConnection.ServiceIdentity.ENTRA_APP

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url") or ""
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return url  # the model's validation words it
        if "@" in parts.netloc:
            # The field is shown again without the user info, which may be a token pasted by mistake.
            self.data = cast("QueryDict", self.data).copy()  # the admin binds a QueryDict
            self.data[self.add_prefix("url")] = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
            raise ValidationError(self.error_messages["user_info"], code="user_info")
        return url

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
        return [name for name in super().changed_data if name not in ("save_anyway",)]

    @sensitive_variables("token")
    def clean(self) -> dict[str, Any]:
        cleaned = cast(dict[str, Any], super().clean())  # a ModelForm's clean() returns cleaned_data
        url, kind = cleaned.get("url"), cleaned.get("kind")
        if self.errors or not url or not kind:
            return cleaned
        try:
            url = normalize_connection_url(
                url,
                kind=kind,
                allow_insecure_server=settings.ALM_ALLOW_INSECURE_SERVER_URLS,
                allow_loopback_http=settings.DEBUG or settings.ALM_ALLOW_LOOPBACK_HTTP,
            )
        except ValidationError as error:
            self.add_error("url", error)
            return cleaned
        token = cleaned.get("token") or None
        # What the connection would be once saved, for the tests (the instance itself is filled in later).
        candidate = construct_instance(self, copy.copy(self.instance))
        candidate.url = url
        self.clean_entra(candidate)
        if self.errors:
            return cleaned
        self._candidate = candidate
        moved = bool(self.instance.pk) and not same_address(self._saved[0], url)
        if moved and not token and not candidate.acts_as_service_principal:
            # The saved token is bound to the old address: it is not tested (nor sent) anywhere else.
            self.add_error("token", ValidationError(self.error_messages["moved"], code="moved"))
            return cleaned
        settings_changed = (url, kind, cleaned.get("default_project", "")) != self._saved
        if self.checker is None or not (token or settings_changed or self.test_only or not self.instance.pk):
            return cleaned
        self._test(url=url, kind=kind, project=cleaned.get("default_project", ""), token=token)
        return cleaned

    @sensitive_variables("token")
    def _test(self, *, url: str, kind: str, project: str, token: str | None) -> None:
        candidate = self._candidate
        if token is not None:
            candidate.service_token = ""  # the typed token is tested, never the saved one
        self.tested = True
        assert self.checker is not None  # noqa: S101 - narrowed by clean()
        try:
            self.token_report = self.checker(connection=candidate, token=token)
        except AlmlinkError as error:
            self.token_error = error
        if self.test_only:
            result = "the token passed." if self.test_passed else self._problem()
            tested = ValidationError(self.error_messages["tested"], code="tested", params={"result": result})
            self.add_error(None, tested)
            return
        if self.test_passed or self.cleaned_data.get("save_anyway"):
            return
        self.token_test_failed = True
        # The token field is never rendered back, so a new token has to be typed again.
        then = "Type the token again and tick" if token else "Tick"
        self.add_error(
            None,
            ValidationError(
                self.error_messages["token_test_failed"],
                code="token_test_failed",
                params={"problem": self._problem(), "then": then},
            ),
        )

    @property
    def test_passed(self) -> bool:
        return self.token_error is None and self.token_report is not None and self.token_report.ok

    @property
    def test_outcome(self) -> dict[str, Any]:
        """The test of this submission, shaped like the stored last test, for the change page."""
        report = self.token_report
        return {
            "details": report_details(report) if report else {},
            "error": message_for(self.token_error, detailed=self.detailed_errors) if self.token_error else "",
            "ok": self.test_passed,
            "expires_on": report.expires_on if report else None,
        }

    def _problem(self) -> str:
        if self.token_error is not None:
            return message_for(self.token_error, detailed=self.detailed_errors)
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

    @sensitive_variables("token", "secret")
    def save(self, commit: bool = True) -> AlmConnection:
        token = self.cleaned_data.get("token")
        if token:
            self.instance.set_service_token(token)
        secret = self.cleaned_data.get("entra_secret")
        if secret:
            self.instance.entra_client_secret = secret
        return super().save(commit=commit)
