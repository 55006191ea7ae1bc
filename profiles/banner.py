"""The ALM token banner: what the signed-in user is told on every page (from the request's one standing query)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

from alm.fields import is_unreadable
from profiles.models import EXPIRY_WARNING_DAYS, AlmCredential

if TYPE_CHECKING:
    from alm.models import AlmConnection
    from profiles.standing import Standing

DISMISSED_SESSION_KEY = "alm_banner_dismissed"


@dataclass(frozen=True)
class Banner:
    state: str  # missing | expired | revoked | invalid | permissions | unreadable | expiring | unverified
    title: str
    detail: str
    connection_id: int
    severity: str = "warn"  # warn | bad

    @property
    def key(self) -> str:
        """Identifies this state of this connection, so a dismissal ends when the state changes."""
        return f"{self.connection_id}:{self.state}"

    @property
    def role(self) -> str:
        # An alert interrupts screen readers; use it for states that block work, status otherwise.
        return "alert" if self.severity == "bad" or self.state == "missing" else "status"


def banner_for(*, standing: Standing | None, dismissed: str | None = None) -> Banner | None:
    """The banner for the default connection's standing, or None. No query of its own, no Azure DevOps call."""
    if standing is None or not standing.connection.is_default:
        return None
    banner = _banner(standing.connection, standing.credential)
    if banner is None or banner.key == dismissed:
        return None
    return banner


def _banner(connection: AlmConnection, credential: AlmCredential | None) -> Banner | None:
    cid = connection.pk
    actor = connection.service_account_name
    if credential is None:
        if connection.allow_service_account_fallback:
            consequence = f"Until you add it, changes you make in Azure DevOps are recorded as {actor}."
        else:
            consequence = "Until you add it, you cannot change work items in Azure DevOps from here."
        return Banner("missing", "Your personal profile ALM token is not present.", consequence, cid)
    if is_unreadable(credential.token):
        return Banner(
            "unreadable",
            "Your saved ALM token can no longer be read.",
            "The server's encryption key changed. Enter your token again on your profile.",
            cid,
            "bad",
        )
    expires_on = credential.expires_on
    now = timezone.now()
    if credential.status == AlmCredential.Status.REJECTED:
        reason = credential.rejected_reason
        if reason == AlmCredential.RejectedReason.EXPIRED or (expires_on and expires_on <= now):
            when = f" on {expires_on:%d %b %Y}" if expires_on else ""
            return Banner(
                "expired",
                f"Your personal ALM token expired{when}.",
                "Create a new token in Azure DevOps and replace it on your profile.",
                cid,
                "bad",
            )
        if reason == AlmCredential.RejectedReason.SIGN_IN_ENDED:
            return Banner(
                "sign_in_ended",
                "Your Microsoft sign-in has ended: sign in again.",
                "Until you sign in with Microsoft again on your profile, you cannot change work items as yourself.",
                cid,
                "bad",
            )
        if reason == AlmCredential.RejectedReason.REVOKED:
            return Banner(
                "revoked",
                "Your personal ALM token was revoked.",
                "Create a new token in Azure DevOps and replace it on your profile.",
                cid,
                "bad",
            )
        if reason == AlmCredential.RejectedReason.PERMISSIONS:
            return Banner(
                "permissions",
                "Your personal ALM token is missing permissions.",
                "Edit the token in Azure DevOps to add them, then test it again on your profile.",
                cid,
                "bad",
            )
        return Banner(
            "invalid",
            "Your personal ALM token is no longer valid.",
            "Azure DevOps refused it. Create a new token and replace it on your profile.",
            cid,
            "bad",
        )
    if expires_on and expires_on <= now:
        return Banner(
            "expired",
            f"Your personal ALM token expired on {expires_on:%d %b %Y}.",
            "Create a new token in Azure DevOps and replace it on your profile.",
            cid,
            "bad",
        )
    if expires_on and (expires_on - now).days < EXPIRY_WARNING_DAYS:
        days = max((expires_on - now).days, 0)
        return Banner(
            "expiring",
            f"Your personal ALM token expires in {days} days ({expires_on:%d %b %Y}).",
            "Create a new token with a 12-month expiry and replace it on your profile before then.",
            cid,
        )
    if credential.status == AlmCredential.Status.UNVERIFIED:
        return Banner(
            "unverified",
            "Your personal ALM token has not been verified yet.",
            "Azure DevOps could not be reached when you saved it. Test it on your profile.",
            cid,
        )
    return None
