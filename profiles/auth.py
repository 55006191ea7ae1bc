"""The request a signed-in page sees, for type checkers."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class SignedInRequest(HttpRequest):
    """A request `LoginRequiredMiddleware` let through: its `user` is signed in (an annotation, not a check)."""

    user: User
