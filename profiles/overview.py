"""The administrator's overview of everyone's credential state, per connection, computed by the database.

A row is an active person and a connection, with the state of their credential for it (missing when
they saved none). Counting, filtering and ordering happen in SQL (profiles.state.state_expression), so a
page costs the same few queries whether 1,000 or 50,000 people are listed, and no token is read:
readability comes from the key note that `note_token_keys` keeps current.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, FilteredRelation, IntegerField, Q, QuerySet, Value, When
from django.db.models import CharField as CharOutput
from django.utils.functional import cached_property

from alm.models import AlmConnection
from alm.token_state import State
from profiles.models import AlmCredential
from profiles.state import note_token_keys, state_expression

logger = logging.getLogger(__name__)

STATES = tuple(State)
# The counts per state cost one aggregate over every saved credential (about 110 ms at 50,000 people on
# SQLite, measured by `make bench`), so pages reuse them for this long; any save or delete of a credential,
# connection or person counts again at once (profiles.apps connects the signals), and the page says when
# they were counted. Only the crossing of an expiry threshold can wait this long to show.
COUNTS_SECONDS = 60
COUNTS_VERSION_KEY = "almlink:overview-counts-version"
PER_PAGE = 100
COLUMNS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "connection_name",
    "state",
    "ado_identity",
    "expires_on",
    "last_verified_at",
    "connection_rank",
)


@dataclass(frozen=True)
class OverviewRow:
    username: str
    full_name: str
    email: str
    connection: str
    state: str
    ado_identity: str
    expires_on: datetime | None
    last_verified_at: datetime | None


def connections_shown() -> list[AlmConnection]:
    """The connections the overview covers, in the admin's order (the default first)."""
    return list(AlmConnection.objects.defer("service_token").order_by("-is_default", "name"))


def counts_changed(**_signal: object) -> None:
    """Something the counts depend on changed: the next overview counts again (a signal receiver too)."""
    try:
        cache.incr(COUNTS_VERSION_KEY)
    except ValueError:
        cache.set(COUNTS_VERSION_KEY, 1, None)
    except Exception:  # the cache is down: the overview then counts on every view anyway
        logger.warning("The cache is unavailable: overview counts not invalidated", exc_info=True)


def recent_state_counts(*, connections: list[AlmConnection], now: datetime) -> tuple[dict[str, int], datetime]:
    """`state_counts`, reused for COUNTS_SECONDS unless something they depend on changed; and when counted."""
    try:
        version = cache.get(COUNTS_VERSION_KEY, 0)
        key = f"almlink:overview-counts:{version}:{','.join(str(c.pk) for c in connections)}"
        cached = cache.get(key)
    except Exception:  # fail open, like the limits: count now
        logger.warning("The cache is unavailable: overview counts computed for this view", exc_info=True)
        return state_counts(connections=connections, now=now), now
    if cached is not None:
        counts, counted_at = cached
        return {State(name): number for name, number in counts.items()}, counted_at
    counts = state_counts(connections=connections, now=now)
    try:
        cache.set(key, ({str(state): number for state, number in counts.items()}, now), COUNTS_SECONDS)
    except Exception:
        logger.warning("The cache is unavailable: overview counts not kept", exc_info=True)
    return counts, now


def state_counts(*, connections: list[AlmConnection], now: datetime) -> dict[str, int]:
    """How many rows are in each state (every state listed, zeros included): two aggregate queries."""
    note_token_keys()
    counts: dict[str, int] = dict.fromkeys(STATES, 0)
    # The connection's address from the list in hand rather than a join to every row's connection.
    address = Case(*(When(connection=c.pk, then=Value(c.address_key)) for c in connections), output_field=CharOutput())
    saved = AlmCredential.objects.filter(user__is_active=True, connection__in=[c.pk for c in connections])
    saved = saved.annotate(state=state_expression(now=now, connection_address=address))
    for state, number in saved.values_list("state").annotate(number=Count("pk")).order_by():
        counts[State(state)] += number
    people = get_user_model().objects.filter(is_active=True).count()
    counts[State.MISSING] += people * len(connections) - sum(counts.values())
    return counts


def overview_rows(
    *, now: datetime, state: str | None = None, connections: list[AlmConnection] | None = None
) -> QuerySet:
    """Every active person x connection with its state, as dicts (COLUMNS), by user name then connection.

    The order is total (user names are unique, and so are connections), so paging and the CSV are stable.
    """
    connections = connections_shown() if connections is None else connections
    parts = [_rows_for(connection, rank, now=now, state=state) for rank, connection in enumerate(connections)]
    if not parts:
        return get_user_model().objects.none().values(*COLUMNS[:4])
    if len(parts) == 1:
        return parts[0].order_by("username")
    return parts[0].union(*parts[1:], all=True).order_by("username", "connection_rank")


def _rows_for(connection: AlmConnection, rank: int, *, now: datetime, state: str | None) -> QuerySet:
    people = get_user_model().objects.filter(is_active=True)
    rows = people.annotate(
        credential=FilteredRelation("alm_credentials", condition=Q(alm_credentials__connection=connection.pk)),
    ).annotate(
        connection_name=Value(connection.name, output_field=CharOutput()),
        connection_rank=Value(rank, output_field=IntegerField()),
        state=state_expression(now=now, credential="credential__", connection_address=Value(connection.address_key)),
        ado_identity=F("credential__ado_display_name"),
        expires_on=F("credential__expires_on"),
        last_verified_at=F("credential__last_verified_at"),
    )
    if state:
        rows = rows.filter(state=state)
    return rows.values(*COLUMNS).order_by()


def overview_row(values: dict) -> OverviewRow:
    return OverviewRow(
        username=values["username"],
        full_name=f"{values['first_name']} {values['last_name']}".strip(),
        email=values["email"],
        connection=values["connection_name"],
        state=values["state"],
        ado_identity=values["ado_identity"] or "",
        expires_on=values["expires_on"],
        last_verified_at=values["last_verified_at"],
    )


class CountedPaginator(Paginator):
    """A Paginator told its total, which the state counts already hold: no COUNT over the rows again."""

    def __init__(self, object_list: QuerySet, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def iterate_rows(rows: QuerySet, *, chunk_size: int = 2000) -> Iterator[OverviewRow]:
    """The rows one chunk at a time (a server-side cursor on PostgreSQL): memory stays flat."""
    for values in rows.iterator(chunk_size=chunk_size):
        yield overview_row(values)


def total_for(counts: dict[str, int], state: str | None) -> int:
    return counts[State(state)] if state else sum(counts.values())


def rows_of(page: Iterable[dict]) -> list[OverviewRow]:
    return [overview_row(values) for values in page]
