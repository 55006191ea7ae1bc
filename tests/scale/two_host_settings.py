"""The app's own settings for the app hosts the two-host tests start; everything that is shared between
hosts (database, cache, secret, encryption key) as deployed. Two test-only differences: static files are
served without a manifest (no collectstatic for a throwaway host), and the suite's fast password
hasher is accepted (the test users are made by the suite)."""

from __future__ import annotations

from django.conf import global_settings

from config.settings import *  # noqa: F403
from config.settings import STORAGES

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
PASSWORD_HASHERS = [*global_settings.PASSWORD_HASHERS, "django.contrib.auth.hashers.MD5PasswordHasher"]
