"""Every ALM connection as the pages list them, kept in the shared cache.

Every signed-in page reads the connections (the banner, the profile: profiles.standing); an administrator
changes them now and then. Reading them from the database cost each page a query that, with Django's
compilation of a 26-column SELECT, was a third of the page's own time (bench: /profile/ ÷ floor). So the
list is kept in the cache every app host shares, and dropped whenever a connection is saved or deleted,
at once and again when the transaction commits (so that a page reading meanwhile cannot keep the old
list). A write that sends no signal (`QuerySet.update`) is picked up within `SECONDS` at the latest.

The secrets (the service token, the Entra ID client secret) are never loaded here, so they never reach
the cache; reading one from a listed connection loads it from the database (Django's deferred fields).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from alm.models import AlmConnection

logger = logging.getLogger(__name__)

SECRETS = ("service_token", "entra_client_secret")
SECONDS = 300
# The model's columns are part of the key: after a deploy that changes them, no host reads the old shape.
KEY = "alm:connections:" + hashlib.sha256(
    ",".join(field.attname for field in AlmConnection._meta.concrete_fields).encode()
).hexdigest()[:12]


def listed_connections() -> list[AlmConnection]:
    """Every connection, the default first, without its secrets: from the shared cache, else one query."""
    try:
        listed = cache.get(KEY)
    except Exception:  # the cache is down: the database answers
        logger.warning("The cache is unavailable: connections read from the database", exc_info=True)
        return list(AlmConnection.objects.defer(*SECRETS))
    return listed if listed is not None else read_and_keep()


def read_and_keep() -> list[AlmConnection]:
    """The connections from the database, kept for the next page: for a caller that found none kept under
    KEY (profiles.standing reads KEY together with its own keys)."""
    listed = list(AlmConnection.objects.defer(*SECRETS))
    try:
        cache.set(KEY, listed, SECONDS)
    except Exception:
        logger.warning("The cache is unavailable: connections not kept", exc_info=True)
    return listed


def forget_connections(**kwargs: Any) -> None:
    """A connection changed: drop the kept list now, and again once the change is committed."""
    _drop()
    transaction.on_commit(_drop)


def _drop() -> None:
    try:
        cache.delete(KEY)
    except Exception:
        logger.warning("The cache is unavailable: the connections kept there may be stale", exc_info=True)


# Connected after alm.models' own post_delete receiver (which hands the default role on with an update()),
# so the list is dropped after that too.
post_save.connect(forget_connections, sender=AlmConnection, dispatch_uid="alm-listing-save")
post_delete.connect(forget_connections, sender=AlmConnection, dispatch_uid="alm-listing-delete")
