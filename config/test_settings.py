"""Settings for the test suite: fast hashing, local memory cache and mail."""

from __future__ import annotations

import os

# The suite never reads a developer's `.env` (written by `make run`): tests see the same settings everywhere.
os.environ.setdefault("DJANGO_ENV_FILE", os.devnull)
# Throwaway values for tests only; real deployments must set their own.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("ALM_ENCRYPTION_KEY", "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM=")

from config.settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
ALM_ALLOW_LOOPBACK_HTTP = True
ALM_HTTP_TIMEOUT = 5.0
