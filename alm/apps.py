from django.apps import AppConfig


class AlmConfig(AppConfig):
    name = "alm"
    verbose_name = "Azure DevOps (ALM)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from alm import listing  # noqa: F401 - connects the receivers that keep the listed connections fresh
