from django.db import migrations, models

from alm.token_state import address_key, email_key


def note_matches_and_origins(apps, schema_editor):
    """What AlmCredential.save keeps from now on: whether Azure DevOps's e-mail is the person's, and the
    origin as addresses are compared."""
    AlmCredential = apps.get_model("profiles", "AlmCredential")
    rows = AlmCredential.objects.select_related("user").only("ado_email", "origin", "user__email")
    for credential in rows.iterator(chunk_size=1000):
        own = email_key(credential.ado_email)
        AlmCredential.objects.filter(pk=credential.pk).update(
            email_matches=bool(own) and own == email_key(credential.user.email),
            origin=address_key(credential.origin),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0004_overview_indexes"),
        ("alm", "0006_connection_address_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="almcredential",
            name="email_matches",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(note_matches_and_origins, migrations.RunPython.noop),
    ]
