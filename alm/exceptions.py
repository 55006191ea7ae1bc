"""What can go wrong, each with a message a person can act on: one error model for the whole app.

`AlmlinkError` is the base of every error the app shows a person. It carries a short machine
`code`, a human `message` and two class attributes the app decides by: `is_transient` (Azure DevOps
could not be asked; nothing is learned about the token) and `is_token_fault` (the token itself is
the problem). `AdoError` is what Azure DevOps answered (or did not); `TokenUnreadable` and
`TokenNotBound` are local refusals made before anything is sent. `http_status` turns any of them
into the status of the page that shows it.

Every sentence is keyed by code, as Django's form fields key theirs (`Field.default_error_messages`):
each class lists its templates in `default_messages` (code → `str.format` template), merged along the
class hierarchy into `error.messages` (a subclass's entry wins), and `error.message` is
`messages[code]` filled with the parameters its `__init__` computes. So one dict per class is the place
to read or change what that class says; an unknown code raises KeyError. Where one code has several
wordings, a `REASONS` dict (reason → the words that fill `{what}`) sits next to it. Other apps' errors
(profiles, workitems) subclass `AlmlinkError` and keep their own sentences in their own dicts.

None of them is ever given the token: messages are built from fixed text, URLs without credentials
and the server's own error text (which the client scrubs of the token before it gets here). No
template has a field for a token (tests/alm/test_error_messages.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from alm.scopes import how_to_grant

if TYPE_CHECKING:
    from alm.scopes import Permission

PAT_PAGE = "User settings → Personal access tokens"


class AlmlinkError(Exception):
    """Base of every error the app words for a person. `str(error)` is the message.

    `AlmlinkError(code, activity_id=..., **params)`: the message is `self.messages[code]` (the class's own
    code when none is given) formatted with `params`. Subclasses declare `default_messages` and compute
    the parameters in their `__init__`.
    """

    code = "error"
    is_transient = False
    is_token_fault = False
    # code → str.format template; merged along the MRO into `self.messages`.
    default_messages: ClassVar[dict[str, str]] = {}

    def __init__(self, code: str | None = None, *, activity_id: str | None = None, **params: object) -> None:
        if code is not None:
            self.code = code
        self.messages = self.merged_messages()
        self.message = self.messages[self.code].format(**params)
        super().__init__(self.message)
        # Azure DevOps's ActivityId of the failed call, for a support ticket; never secret.
        self.activity_id = activity_id

    @classmethod
    def merged_messages(cls) -> dict[str, str]:
        """Every template the class knows: its bases' `default_messages`, then its own (which win)."""
        messages: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            messages.update(vars(klass).get("default_messages", {}))
        return messages

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class AdoError(AlmlinkError):
    """Base of every Azure DevOps failure: what it answered, or that it could not be asked."""

    code = "ado_error"
    default_messages = {
        # What anyone but a superuser is shown for every connection failure (message_for).
        "connection_failed": (
            "Cannot connect to Azure DevOps{where}. Check the URL; a superuser can test the connection "
            "to see the cause."
        ),
    }


class TokenRejected(AdoError):
    """The token did not authenticate: Azure DevOps does not know it, or treated the call as anonymous."""

    code = "token_rejected"
    is_token_fault = True
    default_messages = {
        "token_rejected": (
            "The personal access token {what}. Create a new token in Azure DevOps ({pat_page}) "
            "for the organization{where} and save it here."
        ),
    }
    # reason → the words that fill {what}; an unknown reason reads as "unknown".
    REASONS: ClassVar[dict[str, str]] = {
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
        super().__init__(
            activity_id=activity_id,
            what=self.REASONS.get(reason, self.REASONS["unknown"]),
            pat_page=PAT_PAGE,
            where=f" {url}" if url else "",
        )


class TokenExpired(AdoError):
    code = "token_expired"
    is_token_fault = True
    default_messages = {
        "token_expired": (
            "The personal access token expired{when}. In Azure DevOps ({pat_page}) extend it "
            "(Edit → Expiration) or create a new one, then save it here."
        ),
    }

    def __init__(self, expired_on: datetime | None = None, *, activity_id: str | None = None) -> None:
        self.expired_on = expired_on
        super().__init__(
            activity_id=activity_id, when=f" on {expired_on:%Y-%m-%d}" if expired_on else "", pat_page=PAT_PAGE
        )


class TokenUnreadable(AlmlinkError):
    """The saved token cannot be decrypted with the current key (the key was changed or lost): a local problem."""

    code = "token_unreadable"
    default_messages = {
        "token_unreadable": (
            "{whose} cannot be decrypted with the current encryption key (ALM_ENCRYPTION_KEY changed). "
            "Enter the token again, or restore the previous key."
        ),
    }

    def __init__(self, whose: str = "The saved token") -> None:
        super().__init__(whose=whose)


class PermissionMissing(AdoError):
    """The token is valid but lacks a scope the call needs (Azure DevOps answers 401, docs/azure-devops-behaviours.md
    §3.5)."""

    code = "permission_missing"
    is_token_fault = True
    default_messages = {
        "permission_missing": "The personal access token lacks the permission “{label}”. {how_to_grant}",
    }

    def __init__(self, permission: Permission, *, activity_id: str | None = None) -> None:
        self.permission = permission
        super().__init__(activity_id=activity_id, label=permission.label, how_to_grant=how_to_grant(permission))


class AccessDenied(AdoError):
    """The token has the scope, but the account itself is not allowed to do this in Azure DevOps (403)."""

    code = "access_denied"
    default_messages = {
        "access_denied": (
            "Azure DevOps refused this for the account behind the token: {detail} "
            "Ask an Azure DevOps administrator for the missing access."
        ),
    }

    def __init__(self, detail: str, *, activity_id: str | None = None) -> None:
        self.detail = detail
        super().__init__(activity_id=activity_id, detail=detail)


class NotFound(AdoError):
    code = "not_found"
    default_messages = {
        "not_found": (
            "{what} was not found in Azure DevOps{extra}. Check the name or number, and that the account can see it."
        ),
    }

    def __init__(self, what: str, detail: str = "", *, activity_id: str | None = None) -> None:
        self.what = what
        super().__init__(activity_id=activity_id, what=what, extra=f" ({detail})" if detail else "")


class OrganizationNotFound(NotFound):
    """Nothing answers at the connection URL: most often a typo in the organization (or collection) name."""

    code = "organization_not_found"
    default_messages = {
        "organization_not_found": (
            "There is no {noun} named “{name}” at {base}. Check its spelling in the connection's URL."
        ),
    }

    def __init__(self, url: str, *, kind: str = "services", activity_id: str | None = None) -> None:
        parts = urlsplit(url.rstrip("/"))
        base, _, name = url.rstrip("/").rpartition("/")
        if not parts.path.strip("/"):  # https://{organization}.visualstudio.com
            base, name = url.rstrip("/"), (parts.hostname or "").split(".")[0]
        self.what = f"the organization “{name}”"
        AdoError.__init__(
            self,
            activity_id=activity_id,
            noun="collection" if kind == "server" else "organization",
            name=name,
            base=base,
        )


class Conflict(AdoError):
    """Someone changed the work item since it was read (412 VS403351 on the test /rev, or 409 revision mismatch)."""

    code = "conflict"
    default_messages = {
        "conflict": (
            "The work item was changed by someone else since it was loaded{now}. Reload it and apply your change again."
        ),
    }

    def __init__(self, current_rev: int | None = None, *, activity_id: str | None = None) -> None:
        self.current_rev = current_rev
        super().__init__(
            activity_id=activity_id,
            now=f" (it is now at revision {current_rev})" if current_rev is not None else "",
        )


class RequestRejected(AdoError):
    """Azure DevOps refused the request itself (400), e.g. a work item rule (TF401320)."""

    code = "rejected"
    default_messages = {
        "rejected": "Azure DevOps refused the request: {detail}",
    }

    def __init__(self, detail: str, *, activity_id: str | None = None) -> None:
        self.detail = detail
        super().__init__(activity_id=activity_id, detail=detail)


class Throttled(AdoError):
    code = "throttled"
    is_transient = True
    default_messages = {
        "throttled": "Azure DevOps is rate-limiting requests from this account (HTTP 429). Try again {wait}.",
    }

    def __init__(self, retry_after: float | None = None, *, activity_id: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(
            activity_id=activity_id,
            wait=f"in {retry_after:g} seconds" if retry_after is not None else "in a minute",
        )


class ServiceFailing(AdoError):
    code = "service_failing"
    is_transient = True
    default_messages = {
        "service_failing": (
            "Azure DevOps is failing (HTTP {status}){extra}. Try again later; if it persists, check "
            "https://status.dev.azure.com or the server's health."
        ),
    }

    def __init__(self, status: int, detail: str = "", *, activity_id: str | None = None) -> None:
        self.status = status
        super().__init__(activity_id=activity_id, status=status, extra=f": {detail}" if detail else "")


class RequestTimedOut(AdoError):
    code = "timeout"
    is_transient = True
    default_messages = {
        "timeout": (
            "No answer{where} within {seconds:g} seconds. Azure DevOps may be slow or unreachable; "
            "try again later, or raise ALM_HTTP_TIMEOUT."
        ),
    }

    def __init__(self, seconds: float, *, url: str = "") -> None:
        self.seconds = seconds
        self.url = url
        super().__init__(where=f" from {url}" if url else "", seconds=seconds)


class Unreachable(AdoError):
    code = "unreachable"
    is_transient = True
    default_messages = {
        "unreachable": "Cannot reach Azure DevOps at{where}: {what}.",
    }
    # reason → the words that fill {what}; an unknown reason reads as "network".
    REASONS: ClassVar[dict[str, str]] = {
        "dns": "its host name could not be resolved (check the URL's spelling and the server's DNS)",
        "refused": "the connection was refused (check the URL's host and port, and that the server runs)",
        "tls": "the secure (TLS) connection failed (check https vs http and the server's certificate)",
        "connection_lost": "the connection was dropped before an answer arrived (a proxy or the server closed it)",
        "network": "the network connection failed (check proxy and firewall settings)",
        "address": (
            "its host name leads to a loopback, private, link-local or reserved address, which almlink does not "
            "connect to (for an Azure DevOps Server on the internal network an administrator can set "
            "ALM_ALLOW_PRIVATE_SERVER_ADDRESSES)"
        ),
    }

    def __init__(self, reason: str, *, url: str = "") -> None:
        self.reason = reason
        self.url = url
        super().__init__(where=f" {url}" if url else "", what=self.REASONS.get(reason, self.REASONS["network"]))


class UnexpectedAnswer(AdoError):
    code = "unexpected_answer"
    is_transient = True
    default_messages = {
        "unexpected_answer": (
            "Azure DevOps gave an answer almlink does not understand: {detail}. "
            "Check that the URL points at Azure DevOps (not a proxy or login page) and try again."
        ),
    }

    def __init__(self, detail: str, *, activity_id: str | None = None) -> None:
        self.detail = detail
        super().__init__(activity_id=activity_id, detail=detail)


class TokenNotBound(AlmlinkError):
    """A token was about to travel to another address than the one it was verified against: refused here."""

    code = "token_not_bound"
    default_messages = {
        "token_not_bound": (
            "The token was verified for another Azure DevOps address, so almlink does not send it to this one. "
            "Test it again on your profile (ALM Credentials) to use it at the connection's new address."
        ),
    }

    def __init__(self) -> None:
        super().__init__()


# Failures that say nothing about the token: Azure DevOps could not be asked, or did not answer sensibly.
# A stored token's recorded state is never changed because of one of these.
TRANSIENT_ERRORS: tuple[type[AdoError], ...] = (
    RequestTimedOut,
    Unreachable,
    ServiceFailing,
    Throttled,
    UnexpectedAnswer,
)
# Failures that say something about the token itself.
TOKEN_FAULTS: tuple[type[AdoError], ...] = (TokenRejected, TokenExpired, PermissionMissing)


def http_status(error: AlmlinkError) -> int:
    """The status of a page that shows `error`: the one mapping every view uses."""
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, AdoError):
        return 502
    # A local refusal (no usable token, unreadable token, another address): a page that says what to do.
    return 200


# --- Sign in with Microsoft (Entra ID) ---------------------------------------------------------------------


class SignInEnded(TokenRejected):
    """The user's Microsoft sign-in no longer gives tokens: only signing in again helps.

    A kind of TokenRejected, so every place that treats a rejected token (the banner, the daily check, the
    e-mails, "never retried as the service account") treats an ended sign-in the same way.
    """

    code = "sign_in_ended"
    default_messages = {
        "sign_in_ended": "Your Microsoft sign-in {what}{suffix}. Sign in with Microsoft again.",
    }
    # reason → the words that fill {what}; an unknown reason reads as "unknown".
    REASONS: ClassVar[dict[str, str]] = {
        "revoked": "was revoked (a changed or reset password, or an administrator ended your sessions)",
        "inactive": "expired after a long time without use",
        "consent": "no longer has your consent for almlink",
        "conditional_access": "needs a new interactive sign-in (your organization's access policy asks for it)",
        "disabled": "belongs to an account that is disabled or no longer exists",
        "missing": "is not stored here any more",
        "refused": "was not accepted by Azure DevOps",
        "unknown": "has ended",
    }

    def __init__(self, reason: str, *, code: int | None = None, activity_id: str | None = None) -> None:
        # `code` here is Microsoft's AADSTS number (kept as `aadsts`); the error's own code stays "sign_in_ended".
        self.reason = reason
        self.aadsts = code
        AdoError.__init__(
            self,
            activity_id=activity_id,
            what=self.REASONS.get(reason, self.REASONS["unknown"]),
            suffix=f" (AADSTS{code})" if code else "",
        )


class SignInFailed(AdoError):
    """A sign-in attempt did not complete (declined, replayed or stale callback, PKCE or state mismatch)."""

    code = "sign_in_failed"
    default_messages = {
        "sign_in_failed": "Signing in with Microsoft {what}{extra}. Try again.",
    }
    # reason → the words that fill {what}; an unknown reason reads as "unknown".
    REASONS: ClassVar[dict[str, str]] = {
        "declined": "was cancelled or consent was declined",
        "state": "came back with a callback that does not belong to it (start the sign-in again from this page)",
        "code_used": "came back with a code that was already used",
        "code_expired": "took too long",
        "pkce": "could not be verified (PKCE)",
        "no_account": "returned no account",
        "unknown": "failed",
    }

    def __init__(self, reason: str, *, detail: str = "", code: int | None = None) -> None:
        # `code` here is Microsoft's AADSTS number (kept as `aadsts`).
        self.reason = reason
        self.aadsts = code
        super().__init__(
            what=self.REASONS.get(reason, self.REASONS["unknown"]),
            extra=f" ({detail})" if detail else (f" (AADSTS{code})" if code else ""),
        )


class EntraMisconfigured(AdoError):
    """The connection's Entra ID app registration settings are wrong: the administrator must fix them."""

    code = "entra_misconfigured"
    default_messages = {
        "entra_misconfigured": "The Entra ID configuration of this connection is wrong: {what}{suffix}.",
    }
    # reason → the words that fill {what}; an unknown reason reads as "client".
    REASONS: ClassVar[dict[str, str]] = {
        "secret": "the client secret was not accepted (enter the secret's Value, not its ID)",
        "secret_expired": "the client secret has expired (add a new one to the app registration)",
        "client_id": "no application with this application (client) id exists in the directory",
        "tenant": "the directory (tenant) id is not known to Microsoft Entra ID",
        "redirect_uri": "the redirect URI is not registered on the app registration",
        "scope": "the Azure DevOps permissions requested are not valid",
        "permissions": "the app registration lacks the Azure DevOps delegated permissions",
        "client": "the application was refused",
    }

    def __init__(self, reason: str, *, code: int | None = None) -> None:
        # `code` here is Microsoft's AADSTS number (kept as `aadsts`).
        self.reason = reason
        self.aadsts = code
        super().__init__(
            what=self.REASONS.get(reason, self.REASONS["client"]), suffix=f" (AADSTS{code})" if code else ""
        )


# Failures to connect at all: which one it was (refused, TLS, DNS, timeout, a refused address) tells open
# ports from closed ones, so only superusers see it (message_for).
CONNECTION_FAILURES: tuple[type[AdoError], ...] = (Unreachable, RequestTimedOut)


def message_for(error: AlmlinkError, *, detailed: bool) -> str:
    """The error as shown to someone: `detailed` (superusers) gets every cause; anyone else one wording for
    every connection failure, so a connection URL cannot be used to probe which hosts and ports answer."""
    if detailed or not isinstance(error, CONNECTION_FAILURES):
        return error.message
    url = getattr(error, "url", "")
    return error.messages["connection_failed"].format(where=f" at {url}" if url else "")
