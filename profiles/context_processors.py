"""Template context for every page: the ALM token banner, computed only if a template shows it."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from profiles.banner import DISMISSED_SESSION_KEY, banner_for


def alm_banner(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    dismissed = request.session.get(DISMISSED_SESSION_KEY)
    return {"alm_banner": SimpleLazyObject(lambda: banner_for(user=user, dismissed=dismissed) or "")}
