"""Template context for every page: the ALM token banner, computed only if a template shows it."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from profiles.auth import SignedInRequest
from profiles.banner import DISMISSED_SESSION_KEY, banner_for
from profiles.standing import standings


def alm_banner(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def build() -> object:
        mine = standings(cast(SignedInRequest, request))  # its user is signed in: checked above
        dismissed = request.session.get(DISMISSED_SESSION_KEY)
        return banner_for(standing=mine[0] if mine else None, dismissed=dismissed) or ""

    return {"alm_banner": SimpleLazyObject(build)}
