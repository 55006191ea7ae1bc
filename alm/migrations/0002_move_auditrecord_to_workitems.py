# The audit record moved to the workitems app; its table (alm_auditrecord) stays where it is.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("alm", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AuditRecord")]),
    ]
