"""The saved card puts each date beside its own label ("Saved", "Last verified")."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from profiles.models import AlmCredential

pytestmark = pytest.mark.django_db
URL = reverse("alm_credentials")


class _Facts(HTMLParser):
    """The <dt>/<dd> pairs inside one element (by id), as {label: value} with whitespace collapsed."""

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id = element_id
        self.depth = 0  # >0 while inside the element
        self.current: str | None = None
        self.label = ""
        self.texts: dict[str, list[str]] = {"dt": [], "dd": []}
        self.facts: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += tag not in {"br", "img", "input", "meta", "link", "hr"}
        elif dict(attrs).get("id") == self.element_id:
            self.depth = 1
        if self.depth and tag in {"dt", "dd"}:
            self.current = tag
            self.texts[tag] = []

    def handle_endtag(self, tag: str) -> None:
        if not self.depth:
            return
        if tag == self.current:
            text = " ".join("".join(self.texts[tag]).split())
            if tag == "dt":
                self.label = text
            else:
                self.facts[self.label] = text
            self.current = None
        self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and self.current:
            self.texts[self.current].append(data)


def facts_of(html: str, element_id: str) -> dict[str, str]:
    parser = _Facts(element_id)
    parser.feed(html)
    return parser.facts


def test_saved_and_last_verified_each_show_their_own_date(alice_client, connection, alice_credential, settings):
    settings.TIME_ZONE = "UTC"
    AlmCredential.objects.filter(pk=alice_credential.pk).update(
        saved_at=datetime(2026, 11, 28, 19, 1, tzinfo=UTC), last_verified_at=datetime(2026, 11, 28, 19, 8, tzinfo=UTC)
    )
    facts = facts_of(alice_client.get(URL).content.decode(), f"connection-{connection.pk}")
    assert facts["Saved"] == "28 Nov 2026, 19:01"
    assert facts["Last verified"] == "28 Nov 2026, 19:08"


def test_save_without_verifying_shows_saved_and_never_verified(
    alice_client, alice, connection, alice_pat, ado, settings
):
    settings.TIME_ZONE = "UTC"
    ado.set_fault("status", status=503)
    alice_client.post(URL, {"connection": connection.pk, "token": alice_pat, "action": "save_unverified"})
    credential = AlmCredential.objects.get(user=alice)
    assert credential.last_verified_at is None
    facts = facts_of(alice_client.get(URL).content.decode(), f"connection-{connection.pk}")
    assert facts["Last verified"] == "never"
    saved = credential.saved_at.astimezone(UTC)
    assert facts["Saved"] == f"{saved.day} {saved:%b %Y, %H:%M}"
