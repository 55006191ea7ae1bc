"""The ALM token banner: what the signed-in user is told on every page, from the request's standing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from alm.token_state import State

if TYPE_CHECKING:
    from profiles.standing import Standing

DISMISSED_SESSION_KEY = "alm_banner_dismissed"


@dataclass(frozen=True)
class Banner:
    # missing | expired | revoked | invalid | permissions | unreadable | expiring | unverified | foreign | retest
    state: str
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
    banner = _banner(standing)
    if banner is None or banner.key == dismissed:
        return None
    return banner


REPLACE = "Create a new token in Azure DevOps and replace it on your profile."
# Rejected reasons: the banner's state key, its title and what to do.
REJECTED = {
    "revoked": ("revoked", "Your personal ALM token was revoked.", REPLACE),
    "sign_in_ended": (
        "sign_in_ended",
        "Your Microsoft sign-in has ended: sign in again.",
        "Until you sign in with Microsoft again on your profile, you cannot change work items as yourself.",
    ),
    "permissions": (
        "permissions",
        "Your personal ALM token is missing permissions.",
        "Edit the token in Azure DevOps to add them, then test it again on your profile.",
    ),
}
INVALID = (
    "invalid",
    "Your personal ALM token is no longer valid.",
    "Azure DevOps refused it. Create a new token and replace it on your profile.",
)


def _banner(standing: Standing) -> Banner | None:
    connection, credential, state = standing.connection, standing.credential, standing.state
    cid = connection.pk
    match state.state:
        case State.MISSING:
            if connection.allow_service_account_fallback:
                consequence = (
                    f"Until you add it, changes you make in Azure DevOps are recorded as "
                    f"{connection.service_account_name}."
                )
            else:
                consequence = "Until you add it, you cannot change work items in Azure DevOps from here."
            return Banner("missing", "Your personal profile ALM token is not present.", consequence, cid)
        case State.UNREADABLE:
            return Banner(
                "unreadable",
                "Your saved ALM token can no longer be read.",
                "The server's encryption key changed. Enter your token again on your profile.",
                cid,
                "bad",
            )
        case State.FOREIGN:
            owner = credential.ado_display_name if credential and credential.ado_display_name else "another person"
            return Banner(
                "foreign",
                f"Your saved ALM token belongs to {owner}, not to you.",
                "It is never used for your changes. Create a token while signed in to Azure DevOps as yourself "
                "and replace it on your profile.",
                cid,
                "bad",
            )
        case State.EXPIRED:
            when = f" on {state.expires_on:%d %b %Y}" if state.expires_on else ""
            return Banner("expired", f"Your personal ALM token expired{when}.", REPLACE, cid, "bad")
        case State.REJECTED:
            key, title, detail = REJECTED.get(state.reason, INVALID)
            return Banner(key, title, detail, cid, "bad")
        case State.RETEST:
            return Banner(
                "retest",
                "The ALM connection moved to a new address.",
                "Your saved token is not sent there until you test it again on your profile.",
                cid,
            )
        case State.UNVERIFIED:
            return Banner(
                "unverified",
                "Your personal ALM token has not been verified yet.",
                "Azure DevOps could not be reached when you saved it, so it is not used yet. Test it on your "
                "profile.",
                cid,
            )
        case State.EXPIRING:
            return Banner(
                "expiring",
                f"Your personal ALM token expires in {state.days_left} days ({state.expires_on:%d %b %Y}).",
                "Create a new token with a 12-month expiry and replace it on your profile before then.",
                cid,
            )
    return None
