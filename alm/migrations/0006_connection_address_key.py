from django.db import migrations, models

from alm.token_state import address_key


def note_address_keys(apps, schema_editor):
    """Each connection's URL as addresses are compared (AlmConnection.save keeps it from now on)."""
    AlmConnection = apps.get_model("alm", "AlmConnection")
    for connection in AlmConnection.objects.only("url"):
        AlmConnection.objects.filter(pk=connection.pk).update(address_key=address_key(connection.url))


class Migration(migrations.Migration):
    dependencies = [
        ("alm", "0005_connection_name_without_control_characters"),
    ]

    operations = [
        migrations.AddField(
            model_name="almconnection",
            name="address_key",
            field=models.CharField(default="", editable=False, max_length=500),
            preserve_default=False,
        ),
        migrations.RunPython(note_address_keys, migrations.RunPython.noop),
    ]
