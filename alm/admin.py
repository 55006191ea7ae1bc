"""The ALM connection in the Django admin: write-only token, Test connection button and action."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from alm import entra_services, services
from alm.check import TokenReport
from alm.entra import PATS_SCOPE
from alm.exceptions import AlmlinkError, message_for
from alm.fields import is_unreadable
from alm.forms import AlmConnectionForm
from alm.models import AlmConnection
from alm.scopes import REQUIRED_PERMISSIONS
from alm.token_state import State, TokenFacts, TokenState, token_state


def summarize(connection: AlmConnection, report: TokenReport) -> str:
    """One line for a message: whose token, the permissions, the expiry."""
    granted = len(report.granted_keys)
    total = len(report.permissions)
    expiry = f"expires {report.expires_on:%Y-%m-%d}" if report.expires_on else "expiry unknown"
    missing = f"; missing: {', '.join(p.label for p in report.missing)}" if report.missing else ""
    unknown = f"; not determined: {', '.join(p.label for p in report.undetermined)}" if report.undetermined else ""
    return (
        f"{connection}: token of {report.identity.display_name}, {granted}/{total} permissions{missing}{unknown}, "
        f"{expiry}, {report.elapsed_ms} ms."
    )


# Sign in with Microsoft: read-only displays of the connection's Entra ID section (methods at the class end).
ENTRA_READONLY = ("entra_secret_status", "entra_redirect_uri", "entra_permissions")


@admin.register(AlmConnection)
class AlmConnectionAdmin(admin.ModelAdmin):
    form = AlmConnectionForm
    change_form_template = "admin/alm/almconnection/change_form.html"
    list_display = ("name", "kind", "url", "is_default", "test_status", "last_tested_at", "tested_identity", "expiry")
    list_display_links = ("name",)
    search_fields = ("name", "url")
    actions = ("test_connections",)
    readonly_fields = ("token_status", "last_test_result", *ENTRA_READONLY)

    def get_fieldsets(self, request: HttpRequest, obj: AlmConnection | None = None) -> Any:
        connection = ("Connection", {"fields": ("name", "kind", "url", "default_project")})
        if obj is None:
            account: tuple[str, dict[str, tuple[str, ...]]] = (
                "Service account",
                {"fields": ("token", "allow_service_account_fallback")},
            )
            return (connection, account, entra_fieldset(obj), ("Default", {"fields": ("is_default",)}))
        account = ("Service account", {"fields": ("token_status", "token", "allow_service_account_fallback")})
        return (
            connection,
            account,
            entra_fieldset(obj),
            ("Default", {"fields": ("is_default",)}),
            ("Last test", {"fields": ("last_test_result",)}),
        )

    def get_form(
        self, request: HttpRequest, obj: AlmConnection | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        # The form is built with the viewer's right to see every cause of a failed test.
        return functools.partial(form, detailed_errors=request.user.is_superuser)  # type: ignore[call-arg]

    @method_decorator(sensitive_post_parameters("token", "entra_secret"))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)

    # Every variable, in this frame and in all it calls: Django's save() holds the service token in
    # lists named `values`, which an error report would otherwise show.
    @method_decorator(sensitive_variables())
    def save_model(self, request: HttpRequest, obj: AlmConnection, form: ModelForm, change: bool) -> None:
        if isinstance(form, AlmConnectionForm) and (form.token_report or form.token_error):
            services.record_test_outcome(connection=obj, report=form.token_report, error=form.token_error, save=False)
        super().save_model(request, obj, form, change)
        if isinstance(form, AlmConnectionForm) and form.token_report and form.test_passed:
            messages.success(request, f"Token tested. {summarize(obj, form.token_report)}")
        elif isinstance(form, AlmConnectionForm) and form.cleaned_data.get("save_anyway"):
            messages.warning(request, f"{obj} was saved with a token that failed its test.")

    # --- Test connection: the change page's button and the list's action ---------------------

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "GET":
            for warning in service_account_warnings():
                messages.warning(request, warning)
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        custom = [
            path(
                "<path:object_id>/test/",
                self.admin_site.admin_view(self.test_connection_view),
                name="{}_{}_test".format(*info),
            ),
        ]
        return custom + super().get_urls()

    @method_decorator(require_POST)
    def test_connection_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        connection = self.get_object(request, unquote(object_id))
        if connection is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)  # type: ignore[attr-defined]
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        self._test_and_report(request, connection)
        return HttpResponseRedirect(reverse("admin:alm_almconnection_change", args=[connection.pk]))

    @admin.action(description="Test selected connections", permissions=["change"])
    def test_connections(self, request: HttpRequest, queryset: QuerySet[AlmConnection]) -> None:
        for connection in queryset:
            self._test_and_report(request, connection)

    def _test_and_report(self, request: HttpRequest, connection: AlmConnection) -> None:
        report_entra_test(request, connection)
        try:
            report = services.check_connection(connection=connection)
        except AlmlinkError as error:
            detail = message_for(error, detailed=request.user.is_superuser)
            messages.error(request, f"{connection}: the test failed. {detail}")
            return
        level = messages.SUCCESS if report.ok else messages.WARNING
        messages.add_message(request, level, summarize(connection, report))

    # --- Read-only displays (never the token) ----------------------------------------------------

    @admin.display(description="Saved token")
    def token_status(self, obj: AlmConnection) -> str:
        if is_unreadable(obj.service_token):
            return "A token is saved but cannot be decrypted with the current key: type it again below."
        if not obj.service_token:
            return "No token is saved: type one below."
        return "A token is saved (hidden). To replace it, type the new token below; leave the field blank to keep it."

    @admin.display(description="Outcome")
    def last_test_result(self, obj: AlmConnection) -> SafeString:
        return render_to_string(
            "admin/alm/almconnection/_test_result.html",
            {
                "details": obj.last_test_details,
                "error": obj.last_test_error,
                "ok": obj.last_test_ok,
                "expires_on": obj.last_test_expires_on,
                "tested_at": obj.last_tested_at,
            },
        )

    @admin.display(description="Last test", boolean=True)
    def test_status(self, obj: AlmConnection) -> bool | None:
        return obj.last_test_ok

    @admin.display(description="Service account")
    def tested_identity(self, obj: AlmConnection) -> str:
        return obj.last_test_identity_name or "—"

    @admin.display(description="Token expires", ordering="last_test_expires_on")
    def expiry(self, obj: AlmConnection) -> str:
        return format_html("{}", f"{obj.last_test_expires_on:%Y-%m-%d}") if obj.last_test_expires_on else "—"

    # --- Sign in with Microsoft (Entra ID): read-only displays, never the secret ------------------------------

    @admin.display(description="Saved client secret")
    def entra_secret_status(self, obj: AlmConnection) -> str:
        return entra_secret_status(obj)

    @admin.display(description="Redirect URI")
    def entra_redirect_uri(self, obj: AlmConnection | None) -> SafeString:
        return entra_redirect_uri()

    @admin.display(description="Delegated permissions")
    def entra_permissions(self, obj: AlmConnection | None) -> SafeString:
        return entra_permissions()


# --- Sign in with Microsoft (Entra ID) --------------------------------------------------------------------

def entra_fieldset(obj: AlmConnection | None) -> tuple[str, dict[str, Any]]:
    fields = ("credential_types", "entra_tenant_id", "entra_client_id")
    secret = ("entra_secret",) if obj is None else ("entra_secret_status", "entra_secret")
    return (
        "Sign in with Microsoft (Entra ID)",
        {
            "fields": (*fields, *secret, "entra_redirect_uri", "entra_permissions", "service_identity"),
            "description": "Azure DevOps Services only. Register an application in Microsoft Entra ID (see the "
            "README, “Sign in with Microsoft”), then copy its ids and a client secret here.",
        },
    )


def report_entra_test(request: HttpRequest, connection: AlmConnection) -> None:
    """Test connection also tests the app registration, when the connection uses one."""
    if not (connection.offers_entra or connection.acts_as_service_principal):
        return
    try:
        entra_services.check_entra_configuration(connection=connection)
    except AlmlinkError as error:
        messages.error(request, f"{connection}: Sign in with Microsoft is not ready. {error.message}")
        return
    messages.success(request, f"{connection}: Entra ID issued the application a token; its settings are valid.")


def entra_secret_status(obj: AlmConnection) -> str:
    if is_unreadable(obj.entra_client_secret):
        return "A client secret is saved but cannot be decrypted with the current key: type it again below."
    if not obj.entra_client_secret:
        return "No client secret is saved."
    return "A client secret is saved (hidden). To replace it, type the new one below; leave it blank to keep it."


def entra_redirect_uri() -> SafeString:
    uri = f"{settings.ALM_SITE_URL.rstrip('/')}{reverse('entra_callback')}"
    return format_html(
        "<code>{}</code><div class=\"help\">Add it to the app registration: Authentication → Add a platform → "
        "Web → Redirect URIs.</div>",
        uri,
    )


def entra_permissions() -> SafeString:
    items = format_html_join(
        "", "<li><code>{}</code> {}</li>", ((scope, label) for scope, label in entra_permission_labels())
    )
    return format_html(
        "<ul>{}</ul><div class=\"help\">API permissions → Add a permission → Azure DevOps → Delegated "
        "permissions; then grant admin consent, or let each user consent at sign-in.</div>",
        items,
    )


def entra_permission_labels() -> list[tuple[str, str]]:
    labels = [(p.scope, f"({p.ado_name}: {p.access})") for p in REQUIRED_PERMISSIONS]
    return [*labels, (PATS_SCOPE, "(Personal access tokens: manage; only for “Create my token for me”)")]


def service_account_warnings() -> list[str]:
    """Every user without a personal token depends on the service account: say when its token needs care."""
    now = timezone.now()
    warnings = []
    for connection in AlmConnection.objects.defer("service_token"):
        state = service_token_state(connection, now=now)
        if state.state is State.RETEST:
            warnings.append(
                f"The URL of {connection.name} changed since its service account token was entered: type the "
                "token again on the connection's page (it is not sent to the new address until then)."
            )
        elif state.blocks:
            warnings.append(
                f"The service account token of {connection.name} failed its last test: replace it, since every "
                "user without a personal token depends on it."
            )
        elif state.state is State.EXPIRING and connection.last_test_expires_on:
            warnings.append(
                f"The service account token of {connection.name} expires on "
                f"{connection.last_test_expires_on:%Y-%m-%d}: replace it before then."
            )
    return warnings


def service_token_state(connection: AlmConnection, *, now: datetime) -> TokenState:
    """The service account token's state, from what its last test stored (alm.token_state decides)."""
    facts = TokenFacts(
        present=True,
        verified=bool(connection.last_test_ok),
        rejected_reason="" if connection.last_test_ok is not False else "invalid",
        unverified=connection.last_test_ok is None,
        expires_on=connection.last_test_expires_on,
        bound_here=not connection.service_token_moved,
    )
    return token_state(facts, now=now)
