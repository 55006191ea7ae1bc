"""The ALM token banner: what the signed-in user is told on every page, from one SQL query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.db import connection as db_connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alm.fields import is_unreadable
from profiles.models import EXPIRY_WARNING_DAYS, AlmCredential

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

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


@dataclass(frozen=True)
class _Row:
    """The default connection and the user's credential for it, as the banner needs them."""

    pk: int
    service_account_name: str
    allow_service_account_fallback: bool
    cred_id: int | None
    cred_status: str | None
    cred_reason: str | None
    cred_expires_on: datetime | None
    cred_token: object = field(repr=False)


def _aware(value: object) -> datetime | None:
    # SQLite hands back text, PostgreSQL an aware datetime; both are stored in UTC (USE_TZ).
    if value is None:
        return None
    moment = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


def _default_connection_row(user: AbstractBaseUser) -> _Row | None:
    """One small SQL query, written by hand: it runs on every page, and the ORM's compile step for the
    equivalent FilteredRelation query cost several times the query itself (see `make bench`)."""
    from alm.models import AlmConnection

    quote = db_connection.ops.quote_name
    sql = (
        "SELECT c.id, c.last_test_identity_name, c.allow_service_account_fallback, "  # noqa: S608 - names from _meta
        "p.id, p.status, p.rejected_reason, p.expires_on, p.token "
        f"FROM {quote(AlmConnection._meta.db_table)} c LEFT JOIN {quote(AlmCredential._meta.db_table)} p "
        "ON p.connection_id = c.id AND p.user_id = %s WHERE c.is_default = %s LIMIT 1"
    )
    with db_connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, True])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, service_name, fallback, cred_id, status, reason, expires_on, token = row
    if token is not None:
        token = AlmCredential._meta.get_field("token").from_db_value(token, None, db_connection)
    return _Row(
        pk=pk,
        service_account_name=AlmConnection(last_test_identity_name=service_name or "").service_account_name,
        allow_service_account_fallback=bool(fallback),
        cred_id=cred_id,
        cred_status=status,
        cred_reason=reason,
        cred_expires_on=_aware(expires_on),
        cred_token=token,
    )


def banner_for(*, user: AbstractBaseUser, dismissed: str | None = None) -> Banner | None:
    """The banner to show, or None. One query; never calls Azure DevOps."""
    connection = _default_connection_row(user)
    if connection is None:
        return None
    banner = _banner(connection)
    if banner is None or banner.key == dismissed:
        return None
    return banner


def _banner(connection: _Row) -> Banner | None:
    cid = connection.pk
    actor = connection.service_account_name
    if connection.cred_id is None:
        if connection.allow_service_account_fallback:
            consequence = f"Until you add it, changes you make in Azure DevOps are recorded as {actor}."
        else:
            consequence = "Until you add it, you cannot change work items in Azure DevOps from here."
        return Banner("missing", "Your personal profile ALM token is not present.", consequence, cid)
    if is_unreadable(connection.cred_token):
        return Banner(
            "unreadable",
            "Your saved ALM token can no longer be read.",
            "The server's encryption key changed. Enter your token again on your profile.",
            cid,
            "bad",
        )
    expires_on = connection.cred_expires_on
    now = timezone.now()
    if connection.cred_status == AlmCredential.Status.REJECTED:
        reason = connection.cred_reason
        if reason == AlmCredential.RejectedReason.EXPIRED or (expires_on and expires_on <= now):
            when = f" on {expires_on:%d %b %Y}" if expires_on else ""
            return Banner(
                "expired",
                f"Your personal ALM token expired{when}.",
                "Create a new token in Azure DevOps and replace it on your profile.",
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
    if connection.cred_status == AlmCredential.Status.UNVERIFIED:
        return Banner(
            "unverified",
            "Your personal ALM token has not been verified yet.",
            "Azure DevOps could not be reached when you saved it. Test it on your profile.",
            cid,
        )
    return None
