"""The values the Azure DevOps client returns: frozen, typed, never a raw dict, never a token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Identity:
    id: str
    display_name: str
    email: str | None
    descriptor: str | None
    subject_descriptor: str | None


@dataclass(frozen=True)
class IdentityRef:
    id: str | None
    display_name: str
    unique_name: str | None


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    state: str


@dataclass(frozen=True)
class WorkItem:
    id: int
    rev: int
    type: str
    title: str
    state: str
    assigned_to: str | None
    changed_by: IdentityRef | None
    changed_date: datetime | None
    fields: Mapping[str, object] = field(hash=False, repr=False)


@dataclass(frozen=True)
class SessionToken:
    """One of the user's personal access tokens as the Tokens API lists it (never the token itself)."""

    display_name: str
    valid_to: datetime | None
    scopes: frozenset[str]
