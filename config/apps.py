"""The site's own wiring as an app: it registers the deployment checks of config/checks.py."""

from __future__ import annotations

from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "config"
    label = "site_config"
    verbose_name = "Site configuration"

    def ready(self) -> None:
        from config import checks  # noqa: F401 - registering the checks is the import's purpose
