"""A short-lived shared copy of the work item list as the service account read it.

When many people have no personal token, every list they open is read with the one service account,
and Azure DevOps throttles per identity. Those people would all be shown the same thing: what the
service account can read. So one read serves them all for a few seconds.

The rules that keep it safe:
- Only reads done as the service account are stored, and only people who would read as the service
  account anyway (no token that may act) are served from it. Someone with a working token of their own
  never reads from it nor writes to it: they see what their own token may see, which can be less.
- The key names the connection, its address, when its service token last changed, the Entra ID
  application it reads as (if it does), the project, the filters and the page: another account's or
  another project's list is never served.
- Every change made through this app (edit, delete) starts a new generation for the connection, so the
  next list is read afresh on every host (the generation lives in the shared cache). Changes made in
  Azure DevOps itself show after at most TTL seconds.
- Like the limits (profiles.limits), it fails open: with the cache down, every list is read afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from django.core.cache import cache

if TYPE_CHECKING:
    from alm.models import AlmConnection
    from alm.types import WorkItem

logger = logging.getLogger(__name__)

TTL = 15  # seconds a stored list is served
# The generation outlives every entry by far; should it be evicted, entries are at most TTL old anyway.
GENERATION_TTL = 24 * 3600


def _generation_key(connection: AlmConnection) -> str:
    return f"wi-list-gen:{connection.pk}"


def _key(connection: AlmConnection, query: dict[str, Any]) -> str:
    generation = cache.get(_generation_key(connection)) or "0"
    changed = connection.service_token_changed_at.isoformat() if connection.service_token_changed_at else ""
    facts = json.dumps(
        {
            "url": connection.url,
            "service_token_changed": changed,
            # Reading as the Entra ID application instead of the service account token is another identity.
            "principal": [connection.acts_as_service_principal, connection.entra_tenant_id, connection.entra_client_id],
            "project": connection.default_project,
            **query,
        },
        sort_keys=True,
    )
    return f"wi-list:{connection.pk}:{generation}:{hashlib.sha256(facts.encode()).hexdigest()}"


def read(*, connection: AlmConnection, query: dict[str, Any]) -> tuple[list[WorkItem], bool] | None:
    """The stored service-account read (items, whether more follow) for this connection and query, or None."""
    try:
        stored = cache.get(_key(connection, query))
    except Exception:  # any cache failure (Redis down): read from Azure DevOps, as without the cache
        logger.warning("The cache is unavailable: the work item list is read afresh", exc_info=True)
        return None
    if stored is None:
        return None
    items, more = stored
    return [replace(item, fields=MappingProxyType(item.fields)) for item in items], more


def store(*, connection: AlmConnection, query: dict[str, Any], items: list[WorkItem], more: bool) -> None:
    """Keep a service-account read for TTL seconds."""
    # The client hands out read-only field mappings, which do not pickle: store plain dicts.
    plain = [replace(item, fields=dict(item.fields)) for item in items]
    try:
        cache.set(_key(connection, query), (plain, more), timeout=TTL)
    except Exception:  # nothing stored: the next person reads afresh
        logger.warning("The cache is unavailable: the work item list is not shared", exc_info=True)


def forget(*, connection: AlmConnection) -> None:
    """This app changed something on the connection: no stored list is served again."""
    try:
        cache.set(_generation_key(connection), uuid.uuid4().hex, timeout=GENERATION_TTL)
    except Exception:  # the cache is down, so nothing is served from it; entries expire within TTL anyway
        logger.warning("The cache is unavailable: could not retire the shared work item lists", exc_info=True)
