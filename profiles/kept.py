"""What every page reads about the signed-in person's credentials, kept in the shared cache.

The banner (every page) and the profile pages read the person's credentials on every request. That one
query was most of what a page cost beyond the bare layout (bench: `/profile/` ÷ floor), while the rows
change only when someone tests, saves or removes a token, or the daily check records what it found. So
`profiles.standing` keeps each person's rows in the cache every app host shares, under a version that
every write to any credential replaces:

- `AlmCredential.save()` and `delete()` (signals), and every `QuerySet.update()` and `bulk_create()` on
  credentials (`profiles.models.AlmCredentialQuerySet`) call `credentials_changed()`, at once and again
  when the transaction commits (a page reading in between cannot keep what was about to change);
- a row is used only while the version it was read under is still the current one, and at most
  `SECONDS` (a write that bypasses the ORM is picked up by then).

The rows never hold the token: only whether one is saved and whether the current keys decrypt it (the
cache key names the reading keys, so a key change reads afresh). Who acts for a change never comes from
here: `workitems` reads the credential from the database.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

VERSION_KEY = "profiles:credentials:version"
SECONDS = 300


def entry_key(user_id: int, fingerprint: str) -> str:
    """Where one person's rows are kept; `fingerprint` names the columns and the reading keys."""
    return f"profiles:credentials:{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}:{user_id}"


def read(*keys: str) -> dict[str, Any]:
    """The kept values of `keys` in one round trip; nothing when the cache is down (the database answers)."""
    try:
        return cache.get_many(list(keys))
    except Exception:
        logger.warning("The cache is unavailable: credentials read from the database", exc_info=True)
        return {}


def keep(key: str, version: str | None, rows: list[tuple[Any, ...]]) -> None:
    """Keep `rows` as read under `version` (a new version is started when there is none)."""
    try:
        if version is None:
            version = uuid.uuid4().hex
            if not cache.add(VERSION_KEY, version, None):
                return  # another host started one meanwhile: keep nothing under a version it may not know
        cache.set(key, (version, rows), SECONDS)
    except Exception:
        logger.warning("The cache is unavailable: credentials not kept", exc_info=True)


def credentials_changed(**kwargs: Any) -> None:
    """A credential was written: every kept row is stale. Now, and once the transaction commits."""
    _new_version()
    transaction.on_commit(_new_version)


def _new_version() -> None:
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:
        # The kept rows may outlive this write: they expire within SECONDS.
        logger.warning("The cache is unavailable: kept credentials may be stale", exc_info=True)
