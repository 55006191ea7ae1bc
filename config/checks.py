"""System checks for a deployment (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

# Backends that keep their data inside one process: every worker counts on its own.
PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register(Tags.security, Tags.caches, deploy=True)
def check_shared_cache(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Rate limits and sign-in lockouts live in the cache: with a per-process cache each worker counts alone."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or backend not in PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            f"The cache ({backend.rsplit('.', 1)[-1]}) is not shared between processes: rate limits, the "
            "per-user limit of Azure DevOps calls and the sign-in lockout count per worker, so each worker "
            "allows the full limit; and the connections and credentials the pages keep (alm.listing, "
            "profiles.kept) are refreshed only in the worker that changed them.",
            hint="Set CACHE_URL to a shared cache, e.g. redis://127.0.0.1:6379/1.",
            id="almlink.W001",
        )
    ]
