"""Helpers shared by the tests (not fixtures)."""

from __future__ import annotations


def demo_identity(ado, email: str) -> dict:
    """The emulator's demo identity (name, email, id, pat, ...) with this e-mail."""
    for identity in ado.demo_info()["identities"]:
        if identity["email"] == email:
            return identity
    raise LookupError(email)


SERVICE_EMAIL = "almlink-svc@fabrikam.example"


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


def text_of(html: str) -> str:
    """The visible text of a page, tags removed and white space folded, for wording checks."""
    import re
    from html import unescape

    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).replace(" ,", ",").replace(" .", ".")
