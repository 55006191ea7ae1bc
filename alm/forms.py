"""The ALM connection form: validates and normalizes; the admin plugs in the token test."""

from __future__ import annotations

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


class AlmConnectionForm(forms.ModelForm):
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
            token_field.required = True

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
