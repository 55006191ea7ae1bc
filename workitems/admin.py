"""The read-only audit log in the admin."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from workitems.models import AuditRecord

# What workitems.services records (AuditRecord's field comments).
OUTCOMES = [(v, v) for v in ("success", "conflict", "rejected", "failed", "refused", "mismatch")]
ACTIONS = [(v, v) for v in ("update", "delete")]
NO_ACTOR = "none"
ACTOR_KINDS = [("user", "the person's"), ("service_account", "the service account's"), (NO_ACTOR, "none (refused)")]


def _fixed_filter(field: str, title: str, choices: list[tuple[str, str]]) -> type[admin.SimpleListFilter]:
    """A list filter with the choices given, rather than those read from every record on each page."""

    class FixedFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            return choices

        def queryset(self, request: HttpRequest, queryset: QuerySet[AuditRecord]) -> QuerySet[AuditRecord]:
            value = self.value()
            if value is None:
                return queryset
            return queryset.filter(**{field: "" if value == NO_ACTOR else value})

    FixedFilter.title = title
    return FixedFilter


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
    # Filters with fixed choices, each backed by an index with the date (workitems.models). Django's own
    # filters for these read every record on every page (SELECT DISTINCT outcome, the date hierarchy's
    # months), and the user filter listed every person. People and identities are found with the search
    # box, or a link with ?user__id__exact= or ?ado_identity=.
    list_filter = (
        _fixed_filter("outcome", "outcome", OUTCOMES),
        _fixed_filter("action", "action", ACTIONS),
        _fixed_filter("actor_kind", "whose token acted", ACTOR_KINDS),
        "connection",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("user__username", "ado_identity", "ado_identity_id", "activity_id", "=work_item_id")
    list_select_related = ("user", "connection")
    show_full_result_count = False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # One person's records (?user__id__exact=) still filter, without a filter that lists everyone.
        return lookup == "user__id__exact" or super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False
