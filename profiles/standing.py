"""Where the signed-in user stands with each ALM connection: one hand-written query per request.

The banner (every page), the profile and the ALM Credentials page all need the connections and
the user's credential for each. They share one query per request, memoised on the request. It is
written by hand because it runs on every page: Django's compile step for the equivalent ORM query
(a FilteredRelation join) cost several times the query itself (`make bench` measures it). Rows
are turned into model instances with Django's own converters, so SQLite and PostgreSQL behave alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import Model

from profiles.models import AlmCredential

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

    from alm.models import AlmConnection

CONNECTION_FIELDS = (
    "id",
    "name",
    "kind",
    "url",
    "default_project",
    "is_default",
    "allow_service_account_fallback",
    "last_test_identity_name",
)


def _in_model_order(model: type[Model], names: tuple[str, ...]) -> tuple[str, ...]:
    """`names` in the order of the model's fields: `Model.from_db` maps a partial row by that order."""
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


CREDENTIAL_FIELDS = _in_model_order(
    AlmCredential, ("id", "user_id", "connection_id", "token", *AlmCredential.LEARNED_FIELDS, "saved_at")
)
REQUEST_ATTRIBUTE = "_alm_standings"


@dataclass(frozen=True)
class Standing:
    connection: AlmConnection
    credential: AlmCredential | None


@cache
def _plan(alias: str) -> tuple[str, list[tuple[Any, list[Any]]]]:
    """The SQL and, per column, Django's converters for it (built once per process and database)."""
    from alm.models import AlmConnection

    db = connections[alias]
    quote = db.ops.quote_name
    columns, converters = [], []
    for model, prefix, names in ((AlmConnection, "c", CONNECTION_FIELDS), (AlmCredential, "p", CREDENTIAL_FIELDS)):
        for name in names:
            field = next(f for f in model._meta.concrete_fields if f.attname == name)
            columns.append(f"{prefix}.{quote(field.column)}")
            column = field.get_col(model._meta.db_table)
            converters.append((column, db.ops.get_db_converters(column) + field.get_db_converters(db)))
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(AlmConnection._meta.db_table)} c "  # noqa: S608 - names from _meta
        f"LEFT JOIN {quote(AlmCredential._meta.db_table)} p ON p.{quote('connection_id')} = c.{quote('id')} "
        f"AND p.{quote('user_id')} = %s ORDER BY c.{quote('is_default')} DESC, c.{quote('name')}"
    )
    return sql, converters


def standings_for(user: AbstractBaseUser, *, alias: str = "default") -> list[Standing]:
    """Every connection (the default first) with the user's credential for it, in one query."""
    from alm.models import AlmConnection

    sql, converters = _plan(alias)
    db = connections[alias]
    with db.cursor() as cursor:
        cursor.execute(sql, [user.pk])
        rows = cursor.fetchall()
    standings = []
    split = len(CONNECTION_FIELDS)
    for row in rows:
        values = []
        for value, (column, functions) in zip(row, converters, strict=True):
            if value is not None:
                for function in functions:
                    value = function(value, column, db)
            values.append(value)
        connection = AlmConnection.from_db(alias, CONNECTION_FIELDS, values[:split])
        credential = None
        if values[split] is not None:
            credential = AlmCredential.from_db(alias, CREDENTIAL_FIELDS, values[split:])
            credential.connection = connection
            credential.user = user
        standings.append(Standing(connection, credential))
    return standings


def standings(request: HttpRequest) -> list[Standing]:
    """`standings_for` the signed-in user, once per request."""
    cached = getattr(request, REQUEST_ATTRIBUTE, None)
    if cached is None:
        cached = standings_for(request.user)
        setattr(request, REQUEST_ATTRIBUTE, cached)
    return cached


def forget(request: HttpRequest) -> None:
    """Drop the memo after the request itself changed a credential."""
    if hasattr(request, REQUEST_ATTRIBUTE):
        delattr(request, REQUEST_ATTRIBUTE)
