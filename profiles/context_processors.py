"""Template context for every page: the ALM token banner."""

from __future__ import annotations

from django.http import HttpRequest


def alm_banner(request: HttpRequest) -> dict[str, object]:
    return {}
