"""The audit record of every attempted change of a work item."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from alm.models import AlmConnection


class AuditRecord(models.Model):
    """One attempted change of a work item: who asked, whose token acted, and what Azure DevOps answered.

    Written by workitems.services for every outcome. Kept when the user or the connection is deleted.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="alm_audit_records"
    )
    connection = models.ForeignKey(AlmConnection, on_delete=models.SET_NULL, null=True, related_name="audit_records")
    work_item_id = models.PositiveIntegerField()
    # "update", "delete", ...
    action = models.CharField(max_length=32)
    # "success", "conflict", "rejected", "failed", "refused", "mismatch" (recorded under another identity)
    outcome = models.CharField(max_length=16)
    # "user" or "service_account"; empty when no token acted (refused before any call).
    actor_kind = models.CharField(max_length=32, blank=True)
    ado_identity = models.CharField("Azure DevOps identity", max_length=255, blank=True)
    ado_identity_id = models.CharField(max_length=64, blank=True)
    # The identity Azure DevOps itself recorded the change under (System.ChangedBy, or who deleted it).
    recorded_as = models.CharField("recorded by Azure DevOps as", max_length=255, blank=True)
    recorded_as_id = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    # Azure DevOps's ActivityId of the call, for a support ticket.
    activity_id = models.CharField(max_length=64, blank=True)

    class Meta:
        # The table was created when this model lived in the alm app.
        db_table = "alm_auditrecord"
        ordering = ["-created_at", "-pk"]
        # The admin list filters by each of these (the last two from links) and shows the newest first.
        indexes = [
            models.Index(fields=["outcome", "-created_at"], name="audit_outcome_idx"),
            models.Index(fields=["action", "-created_at"], name="audit_action_idx"),
            models.Index(fields=["actor_kind", "-created_at"], name="audit_actor_kind_idx"),
            models.Index(fields=["connection", "-created_at"], name="audit_connection_idx"),
            models.Index(fields=["user", "-created_at"], name="audit_user_idx"),
            models.Index(fields=["ado_identity", "-created_at"], name="audit_identity_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} #{self.work_item_id}: {self.outcome}"
