# Sign in with Microsoft: the encrypted MSAL cache of a sign-in, no PAT for it, and "sign-in ended" as a rejection.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import alm.fields


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0002_credential_origin_and_foreign"),
    ]

    operations = [
        migrations.AlterField(
            model_name="almcredential",
            name="rejected_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("expired", "Expired"),
                    ("revoked", "Revoked"),
                    ("invalid", "No longer valid"),
                    ("permissions", "Missing permissions"),
                    ("sign_in_ended", "Microsoft sign-in ended"),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="almcredential",
            name="token",
            field=alm.fields.EncryptedTokenField(null=True),
        ),
        migrations.CreateModel(
            name="EntraSignIn",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("account_id", models.CharField(max_length=255)),
                ("cache", alm.fields.EncryptedTokenField(verbose_name="MSAL token cache")),
                ("signed_in_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("acting", models.BooleanField(default=True)),
                (
                    "credential",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="entra_sign_in",
                        to="profiles.almcredential",
                    ),
                ),
            ],
            options={
                "verbose_name": "Microsoft sign-in",
            },
        ),
    ]
