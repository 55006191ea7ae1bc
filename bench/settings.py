"""Settings for the benchmark: the app's own, plus a floor page that only the benchmark serves.

Production code gains no bench URL: the floor lives in bench.urls, reached only through this module.
"""

from __future__ import annotations

import os
from pathlib import Path

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR, TEMPLATES

ROOT_URLCONF = "bench.urls"

# A new list rather than an edit in place: config.settings' own TEMPLATES stays untouched.
TEMPLATES = [{**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]}]

# collectstatic writes into the run's temporary directory, never into the project's staticfiles/.
if os.environ.get("BENCH_STATIC_ROOT"):
    STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])

# The token lifecycle scenario counts the e-mails the job sends: one file per message in this directory.
if os.environ.get("BENCH_MAIL_DIR"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["BENCH_MAIL_DIR"]
