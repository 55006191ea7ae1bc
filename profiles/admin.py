"""Admin for people's credentials: their state, never their token; and the overview with CSV export."""

from __future__ import annotations

import csv

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from alm.models import AlmConnection
from profiles.models import AlmCredential, TokenNotice
from profiles.overview import STATES, overview


@admin.register(AlmCredential)
class AlmCredentialAdmin(admin.ModelAdmin):
    list_display = ("user", "connection", "status", "ado_display_name", "expires_on", "last_verified_at")
    list_filter = ("status", "connection")
    search_fields = ("user__username", "user__email", "ado_display_name", "ado_email")
    # The token is not among the fields: it is never shown, not even encrypted.
    fields = (
        "user",
        "connection",
        "status",
        "rejected_reason",
        "rejected_message",
        "rejected_at",
        "ado_id",
        "ado_display_name",
        "ado_email",
        "permissions",
        "expires_on",
        "saved_at",
        "last_verified_at",
    )
    readonly_fields = fields
    change_list_template = "admin/profiles/almcredential/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people add their own tokens on their profile

    def get_urls(self):
        return [
            path("overview/", self.admin_site.admin_view(self.overview_view), name="profiles_credential_overview"),
            *super().get_urls(),
        ]

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        state = request.GET.get("state") if request.GET.get("state") in STATES else None
        try:
            connection_id = int(request.GET.get("connection", "")) or None
        except ValueError:
            connection_id = None
        rows, counts = overview(state=state, connection_id=connection_id)
        if request.GET.get("format") == "csv":
            return _csv(rows)

        context = {
            **self.admin_site.each_context(request),
            "title": "ALM credentials overview",
            "rows": rows,
            "counts": [(s, counts[s]) for s in STATES],
            "state": state,
            "connection_id": connection_id,
            "connections": AlmConnection.objects.defer("service_token"),
            "opts": self.model._meta,
            "query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/profiles/almcredential/overview.html", context)


def _timestamp(value) -> str:
    """ISO 8601 to the second with the zone offset, in the site's time zone: 2026-11-28T19:01:00+00:00."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def _csv(rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="alm-credentials.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["username", "name", "email", "connection", "state", "azure_devops_identity", "expires_on", "last_verified_at"]
    )
    for row in rows:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    row.username,
                    row.full_name,
                    row.email,
                    row.connection,
                    row.state,
                    row.ado_identity,
                    _timestamp(row.expires_on),
                    _timestamp(row.last_verified_at),
                )
            ]
        )
    return response


def _cell(value: object) -> str:
    text = str(value)
    # A leading = + - @ TAB or CR would make a spreadsheet evaluate the cell (CSV injection, OWASP's list).
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


@admin.register(TokenNotice)
class TokenNoticeAdmin(admin.ModelAdmin):
    list_display = ("connection", "subject", "event", "sent_at")
    list_filter = ("event", "connection")
    readonly_fields = ("connection", "subject", "event", "token_saved_at", "sent_at", "recipients")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
