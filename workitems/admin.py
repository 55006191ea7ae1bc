"""The read-only audit log in the admin."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from workitems.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    """Every change made through the app, read-only: who asked, whose token acted, what happened."""

    list_display = (
        "created_at",
        "user",
        "ado_identity",
        "actor_kind",
        "action",
        "work_item_id",
        "outcome",
        "connection",
    )
    # Filters with few choices, each backed by an index with the date (workitems.models). People and
    # identities are found with the search box: as filters they listed every user (tens of thousands
    # of links) and read every record for the distinct identities, on each page.
    list_filter = ("outcome", "action", "actor_kind", "connection")
    search_fields = ("user__username", "ado_identity", "ado_identity_id", "activity_id", "=work_item_id")
    date_hierarchy = "created_at"
    list_select_related = ("user", "connection")
    show_full_result_count = False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # One person's records (?user__id__exact=) still filter, without a filter that lists everyone.
        return lookup == "user__id__exact" or super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False
