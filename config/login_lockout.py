"""django-axes wiring: the lockout page, and a record of each lockout that an administrator can lift.

axes' cache handler counts failures in the cache only, so axes' admin ("Access attempts") would have
nothing to show or delete. This handler also writes one AccessAttempt row per locked-out user name and
address; deleting that row in the admin deletes the cache counter, which unlocks the pair at once.
"""

from __future__ import annotations

import logging
from typing import Any

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_cache, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

logger = logging.getLogger(__name__)


class LockoutRecordingCacheHandler(AxesCacheHandler):
    """axes' cache handler, plus an AccessAttempt row for each lockout (the admin's way to unlock).

    Like the other limits (profiles.limits), it fails open when the cache fails (Redis down): sign-in
    works, unlimited, and a warning is logged, rather than nobody (administrators included) signing in.
    """

    # axes keeps the cache it found at start; Django's cache connections are per thread and follow
    # settings changes, so ask for it at each use.
    @property
    def cache(self) -> Any:
        return get_cache()

    @cache.setter
    def cache(self, value: Any) -> None:
        pass

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        try:
            return super().get_failures(request, credentials)
        except Exception:  # any cache failure: Redis and memcached clients raise their own types
            logger.warning("The cache is unavailable: the sign-in lockout is not enforced (fail open)", exc_info=True)
            return 0

    def user_logged_in(self, sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        try:
            super().user_logged_in(sender, request, user, **kwargs)
        except Exception:  # the count could not be reset: it expires with the cool-off anyway
            logger.warning("The cache is unavailable: failed sign-ins were not reset", exc_info=True)

    def user_login_failed(self, sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any):
        try:
            super().user_login_failed(sender, credentials, request, **kwargs)
        except Exception:
            logger.warning("The cache is unavailable: a failed sign-in was not counted (fail open)", exc_info=True)
            return
        if request is None or not getattr(request, "axes_locked_out", False):
            return
        axes: Any = request  # django-axes puts its axes_* attributes on the request
        AccessAttempt.objects.update_or_create(
            username=get_client_username(request, credentials) or "",
            ip_address=axes.axes_ip_address,
            user_agent=(axes.axes_user_agent or "")[:255],
            defaults={
                "path_info": axes.axes_path_info,
                "http_accept": axes.axes_http_accept,
                "get_data": "",
                "post_data": "",
                "failures_since_start": getattr(request, "axes_failures_since_start", 0),
                "attempt_time": timezone.now(),
            },
        )

    def post_save_access_attempt(self, instance: AccessAttempt, **kwargs: Any) -> None:
        """Nothing to do: the count lives in the cache; the row is only the record."""

    def post_delete_access_attempt(self, instance: AccessAttempt, **kwargs: Any) -> None:
        # The admin deleted the record: lift the lockout it stands for.
        self.reset_attempts(ip_address=instance.ip_address, username=instance.username)


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """The page a locked-out sign-in gets: for how long, and who can lift it (HTTP 429)."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
