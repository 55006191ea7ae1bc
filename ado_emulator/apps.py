from django.apps import AppConfig


class AdoEmulatorConfig(AppConfig):
    """Registered only so that `python manage.py ado_emulator` exists; the emulator itself imports no Django."""

    name = "ado_emulator"
    verbose_name = "Azure DevOps emulator"
