"""The demo's ALM side: filled in once the ALM connection and credentials exist."""

from __future__ import annotations


def seed_alm(*, users: dict, emulator_url: str) -> None:
    """Create the demo ALM connection and Bob's saved token (idempotent)."""
