"""Per-user limits, counted in the shared cache: Test Connection / Save, and pages that call Azure DevOps.

Every user without a token acts through the connection's service account, so they share its Azure
DevOps budget: one person reloading a 1,000-item list must not spend it for everyone.

The count lives in the cache (shared by every worker with CACHE_URL=redis://...). When the cache
itself fails (Redis down), the limits fail open: the page is served and a warning logged. Refusing
every page because the counter is gone would turn a cache outage into a site outage, while Azure
DevOps still throttles an abuser on its side (429, which the client reports).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

WINDOW = 60


def _now() -> float:
    """The clock of the windows (one place for tests to read, never patched)."""
    return time.time()


def spend(*, user: AbstractBaseUser, kind: str, limit: int) -> int | None:
    """Count one use of `kind` by `user` in this minute: None while within `limit`, else the seconds to wait."""
    now = int(_now())
    key = f"limit:{kind}:{user.pk}:{now // WINDOW}"
    try:
        cache.add(key, 0, timeout=WINDOW + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=WINDOW + 5)
            count = 1
    except Exception:  # any cache failure: Redis and memcached clients raise their own types
        logger.warning("The cache is unavailable: the %s limit is not enforced (fail open)", kind, exc_info=True)
        return None
    if count > limit:
        return WINDOW - now % WINDOW or 1
    return None


def limit_ado_calls(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve at most ALM_USER_CALLS_PER_MINUTE of the decorated pages (they call Azure DevOps) per user a minute."""

    @functools.wraps(view)
    def limited(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        limit = settings.ALM_USER_CALLS_PER_MINUTE
        wait = spend(user=request.user, kind="ado-calls", limit=limit) if request.user.is_authenticated else None
        if wait is not None:
            response = render(request, "profiles/too_many_calls.html", {"limit": limit, "wait": wait}, status=429)
            response["Retry-After"] = str(wait)
            return response
        return view(request, *args, **kwargs)

    return limited
