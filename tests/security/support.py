"""Helpers of the security suite (not fixtures): the forms a secret can take, a port nobody listens on, the
database and sessions as text."""

from __future__ import annotations

import base64
import socket
from urllib.parse import quote


def secret_forms(token: str) -> list[str]:
    """Every form in which a token could show up: as is, in the Basic header, base64, percent-encoded."""
    return [
        token,
        base64.b64encode(f":{token}".encode()).decode(),
        base64.b64encode(token.encode()).decode(),
        quote(token, safe=""),
    ]


def leaks(text: str, *tokens: str) -> list[str]:
    """The secret forms of `tokens` found in `text` (empty when nothing leaked)."""
    return [form for token in tokens for form in secret_forms(token) if form in text]


def closed_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def every_url(*, object_id: str = "1") -> list[tuple[str, str]]:
    """(name, path) of every URL pattern of the site, the admin's included, arguments filled with `object_id`."""
    import re

    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[tuple[str, str]] = []

    def walk(patterns, namespace: str | None, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace, route)
                continue
            assert isinstance(pattern, URLPattern)
            # The admin's two regex patterns: one app's index, and the catch-all behind everything.
            route = route.replace("^(?P<app_label>auth|alm|profiles)/$", "alm/").replace("(?P<url>.*)$", "no-such/")
            path = "/" + re.sub(r"<(?:\w+:)?\w+>", object_id, route)
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name or route
            found.append((name or path, path))

    walk(get_resolver().url_patterns, None, "")
    return found


def move_connection(connection, url: str, *, kind: str = "server") -> None:
    """Point the connection at `url`, its tokens with it (as if entered and tested there).

    Server kind: the only kind whose URL may name any host (the form would refuse loopback for Services).
    """
    from alm.models import AlmConnection
    from profiles.models import AlmCredential

    AlmConnection.objects.filter(pk=connection.pk).update(url=url, kind=kind, service_token_origin=url)
    AlmCredential.objects.filter(connection=connection).update(origin=url)


def database_text() -> str:
    """Every value of every table, as text (bytes read as latin-1), to search for a secret in the clear."""
    from django.db import connection as db

    dumped = []
    with db.cursor() as cursor:
        for table in db.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                dumped.extend(
                    bytes(value).decode("latin-1") if isinstance(value, bytes | memoryview) else str(value)
                    for value in row
                )
    return "\n".join(dumped)


def sessions_text() -> str:
    """Every stored session, decoded."""
    from django.contrib.sessions.models import Session

    return "\n".join(str(session.get_decoded()) for session in Session.objects.all())
