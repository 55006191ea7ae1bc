from django.apps import AppConfig


class AlmConfig(AppConfig):
    name = "alm"
    verbose_name = "Azure DevOps (ALM)"
    default_auto_field = "django.db.models.BigAutoField"
