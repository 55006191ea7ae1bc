"""The ALM connection form: validates and normalizes, and tests the service token it is given.

The network is never reached through Django's private hooks: `clean()` calls the checker the form
was constructed with (`alm.services.check_token` unless a test passes another, or None for
validation alone).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from alm.check import TokenReport
from alm.connection_urls import normalize_connection_url
from alm.exceptions import AlmlinkError
from alm.models import AlmConnection
from alm.scopes import permission_list
from alm.services import check_token, report_details
from alm.token_state import same_address

if TYPE_CHECKING:
    from django.http import QueryDict

Checker = Callable[..., TokenReport]
TEST_BUTTON = "_test_connection"


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
        help_text=f"The service account's personal access token with these five permissions: {permission_list()}.",
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

    def __init__(self, *args: Any, checker: Checker | None = check_token, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checker = checker
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
            token_field.required = True

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
        moved = bool(self.instance.pk) and not same_address(self._saved[0], url)
        if moved and not token:
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
        candidate = AlmConnection(
            pk=self.instance.pk,
            url=url,
            kind=kind,
            default_project=project,
            service_token=self.instance.service_token if token is None else "",
            service_token_origin=self.instance.service_token_origin,
        )
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
            "error": self.token_error.message if self.token_error else "",
            "ok": self.test_passed,
            "expires_on": report.expires_on if report else None,
        }

    def _problem(self) -> str:
        if self.token_error is not None:
            return self.token_error.message
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
            self.instance.set_service_token(token)
        return super().save(commit=commit)
