"""Admin for people's credentials: their state, never their token; and the overview with CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from profiles.models import AlmCredential, TokenNotice
from profiles.overview import (
    PER_PAGE,
    STATES,
    CountedPaginator,
    OverviewRow,
    connections_shown,
    iterate_rows,
    overview_rows,
    recent_state_counts,
    rows_of,
    total_for,
)
from profiles.state import annotate_state, note_token_keys


class StateChangeList(ChangeList):
    """The credential list with each shown row's state from the database, in one query for the page.

    Annotated on the page's rows only: on the list's own query, the joins the state needs (user,
    connection) would stay in its COUNT over every credential.
    """

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = list(self.result_list)
        shown = AlmCredential.objects.filter(pk__in=[credential.pk for credential in self.result_list])
        states = dict(annotate_state(shown, now=timezone.now()).values_list("pk", "state"))
        for credential in self.result_list:
            credential.state = states[credential.pk]


@admin.register(AlmCredential)
class AlmCredentialAdmin(admin.ModelAdmin):
    list_display = ("user", "connection", "state", "status", "ado_display_name", "expires_on", "last_verified_at")
    list_filter = ("status", "connection")
    list_select_related = ("user", "connection")
    # One COUNT for the filtered list; the unfiltered total of tens of thousands is not worth another.
    show_full_result_count = False
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[AlmCredential]:
        # The token is never loaded, so never decrypted, to list credentials.
        return super().get_queryset(request).defer("token")

    def get_changelist(self, request: HttpRequest, **kwargs: object) -> type[ChangeList]:
        return StateChangeList

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        note_token_keys()  # readability, as the state column reads it, is current
        return super().changelist_view(request, extra_context)

    @admin.display(description="state")
    def state(self, credential: AlmCredential) -> str:
        return getattr(credential, "state", "")

    def get_urls(self):
        return [
            path("overview/", self.admin_site.admin_view(self.overview_view), name="profiles_credential_overview"),
            *super().get_urls(),
        ]

    def overview_view(self, request: HttpRequest) -> HttpResponseBase:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        state = request.GET.get("state") if request.GET.get("state") in STATES else None
        try:
            connection_id = int(request.GET.get("connection", "")) or None
        except ValueError:
            connection_id = None
        now = timezone.now()
        every_connection = connections_shown()
        connections = [c for c in every_connection if c.pk == connection_id] if connection_id else every_connection
        counts, counted_at = recent_state_counts(connections=connections, now=now)
        rows = overview_rows(now=now, state=state, connections=connections)
        if request.GET.get("format") == "csv":
            return _csv(iterate_rows(rows))

        paginator = CountedPaginator(rows, PER_PAGE, count=total_for(counts, state))
        page = paginator.get_page(request.GET.get("page"))
        filters = {k: v for k, v in (("state", state), ("connection", connection_id)) if v}
        context = {
            **self.admin_site.each_context(request),
            "title": "ALM credentials overview",
            "rows": rows_of(page.object_list),
            "page": page,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "counts": [(s, counts[s]) for s in STATES],
            "counted_at": counted_at,
            "state": state,
            "connection_id": connection_id,
            "connections": every_connection,
            "opts": self.model._meta,
            "query": urlencode(filters),
        }
        return TemplateResponse(request, "admin/profiles/almcredential/overview.html", context)


CSV_HEADER = (
    "username",
    "name",
    "email",
    "connection",
    "state",
    "azure_devops_identity",
    "expires_on",
    "last_verified_at",
)
# Rows per chunk sent: big enough that the server does not write 50,000 tiny pieces, small enough
# that memory stays flat whatever the number of people.
CSV_ROWS_PER_CHUNK = 500


def _timestamp(value) -> str:
    """ISO 8601 to the second with the zone offset, in the site's time zone: 2026-11-28T19:01:00+00:00."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


class _Echo:
    """A file for csv.writer that hands each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def _csv(rows: Iterable[OverviewRow]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="alm-credentials.csv"'
    return response


def _csv_chunks(rows: Iterable[OverviewRow]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    chunk = [writer.writerow(CSV_HEADER)]
    for row in rows:
        chunk.append(
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
        )
        if len(chunk) >= CSV_ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)


def _cell(value: object) -> str:
    text = str(value)
    # A leading = + - @ TAB or CR would make a spreadsheet evaluate the cell (CSV injection, OWASP's list).
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


@admin.register(TokenNotice)
class TokenNoticeAdmin(admin.ModelAdmin):
    list_display = ("connection", "subject", "event", "sent_at")
    list_filter = ("event", "connection")
    list_select_related = ("connection",)
    show_full_result_count = False
    readonly_fields = ("connection", "subject", "event", "token_saved_at", "sent_at", "recipients")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
