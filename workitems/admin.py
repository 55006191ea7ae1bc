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
    list_filter = ("outcome", "action", "actor_kind", "connection", "user", "ado_identity")
    search_fields = ("user__username", "ado_identity", "ado_identity_id", "activity_id", "=work_item_id")
    date_hierarchy = "created_at"
    list_select_related = ("user", "connection")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False
