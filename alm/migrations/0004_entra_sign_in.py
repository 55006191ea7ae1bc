# Sign in with Microsoft: credential types, the Entra ID app registration, acting as its service principal.

from django.db import migrations, models

import alm.fields


class Migration(migrations.Migration):
    dependencies = [
        ("alm", "0003_service_token_origin"),
    ]

    operations = [
        migrations.AddField(
            model_name="almconnection",
            name="credential_types",
            field=models.CharField(
                choices=[
                    ("pat", "Personal access tokens"),
                    ("entra", "Sign in with Microsoft (Entra ID)"),
                    ("both", "Both: personal access tokens and Sign in with Microsoft"),
                ],
                default="pat",
                help_text="Azure DevOps Server offers personal access tokens only.",
                max_length=8,
                verbose_name="users may connect with",
            ),
        ),
        migrations.AddField(
            model_name="almconnection",
            name="entra_client_id",
            field=models.CharField(blank=True, max_length=64, verbose_name="application (client) ID"),
        ),
        migrations.AddField(
            model_name="almconnection",
            name="entra_client_secret",
            field=alm.fields.EncryptedTokenField(blank=True, null=True, verbose_name="client secret"),
        ),
        migrations.AddField(
            model_name="almconnection",
            name="entra_tenant_id",
            field=models.CharField(blank=True, max_length=64, verbose_name="directory (tenant) ID"),
        ),
        migrations.AddField(
            model_name="almconnection",
            name="service_identity",
            field=models.CharField(
                choices=[
                    ("token", "The service account's personal access token"),
                    ("entra_app", "The Entra ID application itself (service principal, client credentials)"),
                ],
                default="token",
                help_text="Who acts for users without their own credential (when the fallback is allowed).",
                max_length=16,
                verbose_name="the ALM connection acts as",
            ),
        ),
        migrations.AlterField(
            model_name="almconnection",
            name="service_token",
            field=alm.fields.EncryptedTokenField(blank=True, null=True, verbose_name="service account token"),
        ),
    ]
