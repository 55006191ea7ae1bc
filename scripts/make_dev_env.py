"""Print development settings for a git-ignored `.env` (used by `make run`).

Fresh random secrets every time the file is created; DEBUG on. Never use these
values in production.
"""

from __future__ import annotations

import base64
import secrets

print("# Development settings written by `make run`. Not for production.")
print("DJANGO_DEBUG=true")
print(f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"ALM_ENCRYPTION_KEY={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}")
