"""Helpers shared by the tests (not fixtures)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.test.html import Element, parse_html

ROOT = Path(__file__).resolve().parent.parent
# A well-formed encryption key for subprocesses that load the real settings (tests only).
GOOD_KEY = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM="


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`manage.py ARGS` with the real settings and only the given DJANGO_/ALM_ variables (no `.env`)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ALM_", "DATABASE_URL", "CACHE_URL"))}
    base.update({"DJANGO_ENV_FILE": os.devnull, "DJANGO_SETTINGS_MODULE": "config.settings"}, **env)
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def demo_identity(ado, email: str) -> dict:
    """The emulator's demo identity (name, email, id, pat, ...) with this e-mail."""
    for identity in ado.demo_info()["identities"]:
        if identity["email"] == email:
            return identity
    raise LookupError(email)


SERVICE_EMAIL = "almlink-svc@fabrikam.example"
# The five permissions as the pages name them: written out rather than read from alm.scopes, so that a change
# there shows in the tests.
FIVE_PERMISSIONS = (
    "Member Entitlement Management: Read",
    "Project and Team: Read, write, & manage",
    "Token Administration: Read & manage",
    "Tokens: Read & manage",
    "Work Items: Read, write, & manage",
)


def demo_item_ids(ado) -> list[int]:
    """Ids of the demo project's live work items, in ascending order."""
    ids = []
    for candidate in range(1, 200):
        try:
            ado.work_item("fabrikam", candidate)
        except KeyError:
            continue
        ids.append(candidate)
    return ids


def demo_member(ado, email: str):
    """The emulator's Identity object of a demo person, to issue them further tokens."""
    identity = ado.state.identity_by_email(email)
    if identity is None:
        raise LookupError(email)
    return identity


def find_element(markup: str | Element, tag: str | None = None, **attributes: str) -> Element | None:
    """The first element (parsed, as `assertContains(..., html=True)` parses) with this tag and these attributes."""
    root = markup if isinstance(markup, Element) else parse_html(markup)

    def walk(node: Element | str) -> Element | None:
        if isinstance(node, str):
            return None
        attrs = dict(node.attributes)
        if node.name and tag in (None, node.name) and all(attrs.get(k) == v for k, v in attributes.items()):
            return node
        return next((found for child in node.children if (found := walk(child)) is not None), None)

    return walk(root)


def element_text(element: Element | str) -> str:
    """The text inside a parsed element, white space folded."""
    if isinstance(element, str):
        return element
    return " ".join(" ".join(element_text(child) for child in element.children).split())


def text_of(html: str) -> str:
    """The text of a page (parsed markup, white space folded), for wording checks."""
    return element_text(parse_html(html)).replace(" ,", ",").replace(" .", ".")


class Listener:
    """A loopback HTTP server that answers 404 to everything and records the Authorization of each request.

    Stands for a host an attacker controls: tests count what reaches it.
    """

    def __init__(self) -> None:
        import http.server
        import threading

        self.authorizations: list[str] = []
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                listener.authorizations.append(self.headers.get("Authorization", ""))
                body = b"not here"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = do_OPTIONS = _answer

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/fabrikam") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def requests_with_a_token(self) -> int:
        return sum(1 for value in self.authorizations if value)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
