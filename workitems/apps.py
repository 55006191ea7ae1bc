from django.apps import AppConfig


class WorkitemsConfig(AppConfig):
    """Acting on Azure DevOps work items as the signed-in person; uses `alm` and `profiles`."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "workitems"
    verbose_name = "Work items"
