# The audit record moved here from the alm app; its table (alm_auditrecord) already exists.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("alm", "0002_move_auditrecord_to_workitems"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditRecord",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("work_item_id", models.PositiveIntegerField()),
                        ("action", models.CharField(max_length=32)),
                        ("outcome", models.CharField(max_length=16)),
                        ("actor_kind", models.CharField(blank=True, max_length=32)),
                        ("ado_identity", models.CharField(blank=True, max_length=255, verbose_name="Azure DevOps identity")),
                        ("ado_identity_id", models.CharField(blank=True, max_length=64)),
                        ("detail", models.CharField(blank=True, max_length=500)),
                        ("activity_id", models.CharField(blank=True, max_length=64)),
                        (
                            "connection",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="audit_records",
                                to="alm.almconnection",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="alm_audit_records",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "alm_auditrecord",
                        "ordering": ["-created_at", "-pk"],
                    },
                ),
            ],
        ),
    ]
