"""What can go wrong talking to Azure DevOps, each with a message a person can act on.

Every exception carries a short machine `code` and a human `message`. None of them is ever
given the token: messages are built from fixed text, URLs without credentials and the
server's own error text (which the client scrubs of the token before it gets here).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alm.scopes import Permission

PAT_PAGE = "User settings → Personal access tokens"


class AdoError(Exception):
    """Base of every Azure DevOps failure. `str(error)` is the message."""

    code = "ado_error"

    def __init__(self, message: str, *, activity_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Azure DevOps's ActivityId of the failed call, for a support ticket; never secret.
        self.activity_id = activity_id

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class TokenRejected(AdoError):
    """The token did not authenticate: Azure DevOps does not know it, or treated the call as anonymous."""

    code = "token_rejected"
    REASONS = {
        # The wire gives the same empty 401 for an unknown token, a revoked one and one made for another organization
        # (docs/azure-devops-behaviours.md §3.2, 3.4, 3.6), so "unknown" covers all three.
        "unknown": "was not accepted by this organization (unknown, revoked, or made for another organization)",
        "revoked": "has been revoked",
        "wrong_organization": "was made for another organization",
        "sign_in_page": "was not accepted: Azure DevOps answered with a sign-in page instead of data",
        "anonymous": (
            "was not accepted: Azure DevOps treated the request as anonymous "
            "(organizations with public projects do not refuse a bad token outright)"
        ),
        "malformed": "cannot be a personal access token (it contains spaces or characters tokens never have)",
    }

    def __init__(self, reason: str, *, url: str | None = None, activity_id: str | None = None) -> None:
        self.reason = reason
        where = f" {url}" if url else ""
        what = self.REASONS.get(reason, self.REASONS["unknown"])
        super().__init__(
            f"The personal access token {what}. Create a new token in Azure DevOps ({PAT_PAGE}) "
            f"for the organization{where} and save it here.",
            activity_id=activity_id,
        )


class TokenExpired(AdoError):
    code = "token_expired"

    def __init__(self, expired_on: datetime | None = None, *, activity_id: str | None = None) -> None:
        self.expired_on = expired_on
        when = f" on {expired_on:%Y-%m-%d}" if expired_on else ""
        super().__init__(
            f"The personal access token expired{when}. In Azure DevOps ({PAT_PAGE}) extend it "
            "(Edit → Expiration) or create a new one, then save it here.",
            activity_id=activity_id,
        )


class TokenUnreadable(AdoError):
    """The saved token cannot be decrypted with the current key (the key was changed or lost)."""

    code = "token_unreadable"

    def __init__(self, whose: str = "The saved token") -> None:
        super().__init__(
            f"{whose} cannot be decrypted with the current encryption key (ALM_ENCRYPTION_KEY changed). "
            "Enter the token again, or restore the previous key."
        )


class PermissionMissing(AdoError):
    """The token is valid but lacks a scope the call needs (Azure DevOps answers 401, docs/azure-devops-behaviours.md
    §3.5)."""

    code = "permission_missing"

    def __init__(self, permission: Permission, *, activity_id: str | None = None) -> None:
        self.permission = permission
        super().__init__(
            f"The personal access token lacks the permission “{permission.label}”. In Azure DevOps "
            f"({PAT_PAGE} → Edit) tick {permission.ado_name} → {permission.access}, then try again.",
            activity_id=activity_id,
        )


class AccessDenied(AdoError):
    """The token has the scope, but the account itself is not allowed to do this in Azure DevOps (403)."""

    code = "access_denied"

    def __init__(self, detail: str, *, activity_id: str | None = None) -> None:
        self.detail = detail
        super().__init__(
            f"Azure DevOps refused this for the account behind the token: {detail} "
            "Ask an Azure DevOps administrator for the missing access.",
            activity_id=activity_id,
        )


class NotFound(AdoError):
    code = "not_found"

    def __init__(self, what: str, detail: str = "", *, activity_id: str | None = None) -> None:
        self.what = what
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{what} was not found in Azure DevOps{extra}. Check the name or number, and that the account can see it.",
            activity_id=activity_id,
        )


class Conflict(AdoError):
    """Someone changed the work item since it was read (412 VS403351 on the test /rev, or 409 revision mismatch)."""

    code = "conflict"

    def __init__(self, current_rev: int | None = None, *, activity_id: str | None = None) -> None:
        self.current_rev = current_rev
        now = f" (it is now at revision {current_rev})" if current_rev is not None else ""
        super().__init__(
            f"The work item was changed by someone else since it was loaded{now}. "
            "Reload it and apply your change again.",
            activity_id=activity_id,
        )


class RequestRejected(AdoError):
    """Azure DevOps refused the request itself (400), e.g. a work item rule (TF401320)."""

    code = "rejected"

    def __init__(self, detail: str, *, activity_id: str | None = None) -> None:
        self.detail = detail
        super().__init__(f"Azure DevOps refused the request: {detail}", activity_id=activity_id)


class Throttled(AdoError):
    code = "throttled"

    def __init__(self, retry_after: float | None = None, *, activity_id: str | None = None) -> None:
        self.retry_after = retry_after
        wait = f"in {retry_after:g} seconds" if retry_after is not None else "in a minute"
        super().__init__(
            f"Azure DevOps is rate-limiting requests from this account (HTTP 429). Try again {wait}.",
            activity_id=activity_id,
        )


class ServiceFailing(AdoError):
    code = "service_failing"

    def __init__(self, status: int, detail: str = "", *, activity_id: str | None = None) -> None:
        self.status = status
        extra = f": {detail}" if detail else ""
        super().__init__(
            f"Azure DevOps is failing (HTTP {status}){extra}. Try again later; if it persists, check "
            "https://status.dev.azure.com or the server's health.",
            activity_id=activity_id,
        )


class RequestTimedOut(AdoError):
    code = "timeout"

    def __init__(self, seconds: float, *, url: str = "") -> None:
        self.seconds = seconds
        where = f" from {url}" if url else ""
        super().__init__(
            f"No answer{where} within {seconds:g} seconds. Azure DevOps may be slow or unreachable; "
            "try again later, or raise ALM_HTTP_TIMEOUT."
        )


class Unreachable(AdoError):
    code = "unreachable"
    REASONS = {
        "dns": "its host name could not be resolved (check the URL's spelling and the server's DNS)",
        "refused": "the connection was refused (check the URL's host and port, and that the server runs)",
        "tls": "the secure (TLS) connection failed (check https vs http and the server's certificate)",
        "connection_lost": "the connection was dropped before an answer arrived (a proxy or the server closed it)",
        "network": "the network connection failed (check proxy and firewall settings)",
    }

    def __init__(self, reason: str, *, url: str = "") -> None:
        self.reason = reason
        where = f" {url}" if url else ""
        super().__init__(f"Cannot reach Azure DevOps at{where}: {self.REASONS.get(reason, self.REASONS['network'])}.")


class UnexpectedAnswer(AdoError):
    code = "unexpected_answer"

    def __init__(self, detail: str, *, activity_id: str | None = None) -> None:
        self.detail = detail
        super().__init__(
            f"Azure DevOps gave an answer almlink does not understand: {detail}. "
            "Check that the URL points at Azure DevOps (not a proxy or login page) and try again.",
            activity_id=activity_id,
        )


# Failures that say nothing about the token: Azure DevOps could not be asked, or did not answer sensibly.
# A stored token's recorded state is never changed because of one of these.
TRANSIENT_ERRORS: tuple[type[AdoError], ...] = (
    RequestTimedOut,
    Unreachable,
    ServiceFailing,
    Throttled,
    UnexpectedAnswer,
)
