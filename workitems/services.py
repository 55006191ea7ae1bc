"""Acting on Azure DevOps work items as the person who asked, or visibly as the service account.

One decision point, `actor_for`, picks the token for every change; views never pick a token.
A user's token that Azure DevOps rejects during a change is never replaced by the service
account's (that would record someone else's name on the change): the credential is marked
rejected and the user is told. Only a token that may act (alm.token_state) ever acts; one saved
unverified is verified first. After every change, the identity Azure DevOps recorded is compared
with the one the page promised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, TypeVar

from django.core.cache import cache
from django.views.decorators.debug import sensitive_variables

from alm import exceptions as ado
from alm.client import AdoClient
from alm.exceptions import AlmlinkError
from alm.fields import is_unreadable
from alm.models import AlmConnection
from alm.services import client_for
from alm.token_state import State, TokenState
from alm.types import IdentityRef, WorkItem
from profiles import entra
from profiles.models import AlmCredential
from profiles.services import mark_foreign, mark_rejected, verify_credential
from profiles.state import credential_state, is_own_token
from workitems import cache as list_cache
from workitems.models import AuditRecord

if TYPE_CHECKING:
    from django.contrib.auth.models import User

T = TypeVar("T")

LIST_FIELDS = (
    "System.Id",
    "System.WorkItemType",
    "System.Title",
    "System.State",
    "System.AssignedTo",
    "System.ChangedBy",
    "System.ChangedDate",
)
# The list filter offers the types and states of Azure DevOps' default processes, Scrum and Agile; the edit page
# reads the states of an item's type from Azure DevOps (work_item_states).
TYPES = ("Product Backlog Item", "Bug", "Task", "Feature", "Epic")  # Scrum's, the default process for new projects
FILTER_TYPES = (*TYPES, "User Story", "Issue")
FILTER_STATES = (
    "New",
    "Approved",
    "Committed",
    "To Do",
    "In Progress",
    "Active",
    "Resolved",
    "Done",
    "Closed",
    "Removed",
)
# How long a work item type's states are remembered per connection: processes change rarely.
STATES_CACHE_SECONDS = 3600
MAX_PAGE_SIZE = 1000

# Failures that say something about the token itself.
TOKEN_FAILURES = ado.TOKEN_FAULTS


class ActingRefused(AlmlinkError):
    """No token may act for this user here; `message` says what to do: `ActingRefused(code)`."""

    default_messages = {
        "no_token": (
            "Changes need your own Azure DevOps token here, and you have no working one. "
            "Add it under Profile → ALM Credentials."
        ),
        "no_service_token": (
            "The ALM connection's service account token is missing, unreadable or was entered for another "
            "address. Ask an administrator to enter it again in the admin."
        ),
        "actor_changed": (
            "Nothing was changed: your personal token was refused by Azure DevOps since this page was "
            "loaded, and the change would otherwise be recorded under another name. Replace your token "
            "under Profile → ALM Credentials, then try again."
        ),
    }


class ChangedAsSomeoneElse(AlmlinkError):
    """Azure DevOps recorded a change under another identity than the one the page promised."""

    code = "identity_mismatch"
    default_messages = {
        "identity_mismatch": "Azure DevOps recorded this change under the name {shown}, not as {promised}. {advice}",
    }
    # Whose token acted → what to do, the words that fill {advice}.
    ADVICE: ClassVar[dict[str, str]] = {
        "saved_token": (
            "The token you saved belongs to someone else, so it will not be used again: create a token "
            "while signed in to Azure DevOps as yourself and replace it under Profile → ALM Credentials."
        ),
        "service_account": "The service account token belongs to someone else: tell an administrator.",
    }

    def __init__(self, *, shown: str, promised: str, whose: str) -> None:
        super().__init__(shown=shown, promised=promised, advice=self.ADVICE[whose])


@dataclass(frozen=True)
class Actor:
    """Whose token acts: the user's own, or the connection's service account.

    `identity_id` and `identity_email` are what Azure DevOps said about the token at its last check:
    the identity the page promises, and that every change is compared with afterwards.
    """

    kind: str  # "user" | "service_account"
    display_name: str
    connection: AlmConnection
    token: str | None = field(repr=False)  # None: a Microsoft sign-in acts (Bearer), or the service principal
    credential: AlmCredential | None = field(default=None, repr=False)
    own: bool = False  # Azure DevOps said the token is the signed-in person's own
    identity_id: str = ""
    identity_email: str = ""

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    def describe(self) -> str:
        if self.is_user and self.own:
            return f"as you, {self.display_name}"
        if self.is_user:
            return f"as {self.display_name}, the owner of the token you saved"
        return f"as {self.display_name}, because you have no working personal token"

    def is_recorded_as(self, identity: IdentityRef | None) -> bool:
        """Whether the identity Azure DevOps put on a change is the one this actor promised."""
        if identity is None:
            return True  # nothing to compare: an older server that names nobody
        if self.identity_id and identity.id:
            return identity.id.lower() == self.identity_id.lower()
        if self.identity_email and identity.unique_name:
            return identity.unique_name.strip().lower() == self.identity_email.strip().lower()
        # Nothing known to compare with (a service account or principal never tested): no proof either way.
        return True


@dataclass(frozen=True)
class ActorPreview:
    """Who a change would be recorded as, for the page to say beforehand; `refused` when nobody may act."""

    actor: Actor | None
    refused: ActingRefused | None = None

    @property
    def kind(self) -> str:
        return self.actor.kind if self.actor else ""


def _credential(*, user: User, connection: AlmConnection) -> AlmCredential | None:
    credential = AlmCredential.objects.filter(user=user, connection=connection).first()
    if credential is not None:
        credential.user, credential.connection = user, connection
    return credential


@sensitive_variables("credential")
def _verified(credential: AlmCredential) -> TokenState:
    """A token saved unverified acts for nothing until Azure DevOps has said whose it is: ask now, once."""
    state = credential_state(credential)
    if state.state is State.UNVERIFIED:
        verify_credential(credential=credential)
        state = credential_state(credential)
    return state


def actor_for(*, user: User, connection: AlmConnection, for_change: bool) -> Actor:
    """Pick the token that acts for `user`: theirs when it may act, else the service account's if allowed."""
    credential = _credential(user=user, connection=connection)
    if credential is not None and _verified(credential).may_act:
        own = is_own_token(credential)
        name = credential.ado_display_name or (user.get_full_name() or user.get_username() if own else "")
        return Actor(
            "user",
            name or "the owner of your saved token",
            connection,
            credential.token,
            credential,
            own=own,
            identity_id=credential.ado_id,
            identity_email=credential.ado_email,
        )
    if for_change and not connection.allow_service_account_fallback:
        raise ActingRefused("no_token")
    if not connection.acts_as_service_principal and (  # Sign in with Microsoft: the app acts, no token
        not connection.service_token or is_unreadable(connection.service_token) or connection.service_token_moved
    ):
        raise ActingRefused("no_service_token")
    identity = connection.last_test_details.get("identity") if isinstance(connection.last_test_details, dict) else None
    return Actor(
        "service_account",
        connection.service_account_name,
        connection,
        connection.service_token,
        identity_id=str((identity or {}).get("id") or ""),
        identity_email=connection.last_test_identity_email,
    )


def preview_actor(*, user: User, connection: AlmConnection) -> ActorPreview:
    """Who a change would be recorded as, for the page to say beforehand."""
    try:
        return ActorPreview(actor_for(user=user, connection=connection, for_change=True))
    except ActingRefused as refused:
        return ActorPreview(None, refused)


@sensitive_variables("actor")
def client_for_actor(actor: Actor) -> AdoClient:
    """A client acting with the actor's token, which the client sends only where it was verified."""
    # Sign in with Microsoft: a user's Entra sign-in acts with `Bearer` (an ended one is marked like a rejected
    # token, never replaced by the service account); the connection may act as its service principal.
    sign_in = entra.acting_sign_in(actor.credential)
    if sign_in is not None:
        try:
            return entra.bearer_client(sign_in)
        except ado.SignInEnded as error:
            _reject(actor, error)
            raise
    if actor.credential is not None:
        return client_for(connection=actor.connection, token=actor.token, bound_to=actor.credential.origin)
    return client_for(connection=actor.connection)


@dataclass(frozen=True)
class WorkItemPage:
    """One page of the list, newest first; `older`/`newer` are the cursors of the neighbouring pages, if any."""

    items: tuple[WorkItem, ...]
    per_page: int
    actor: Actor
    older: int | None = None  # the pages after this one: ids below this one
    newer: int | None = None  # the pages before this one: ids above this one
    notice: str = ""


def _wiql(*, project: str, type_: str | None, state: str | None, below: int | None, above: int | None) -> str:
    def quoted(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    clauses = [f"[System.TeamProject] = {quoted(project)}"]
    if type_:
        clauses.append(f"[System.WorkItemType] = {quoted(type_)}")
    if state:
        clauses.append(f"[System.State] = {quoted(state)}")
    if below is not None:
        clauses.append(f"[System.Id] < {int(below)}")
    if above is not None:
        clauses.append(f"[System.Id] > {int(above)}")
    order = "ASC" if above is not None else "DESC"
    # WIQL, not SQL: every value is a quoted literal with its quotes doubled (WIQL's escape), ids are ints.
    return (
        "SELECT [System.Id] FROM WorkItems WHERE "  # noqa: S608
        + " AND ".join(clauses)
        + f" ORDER BY [System.Id] {order}"
    )


def _read(
    *, user: User, connection: AlmConnection, call: Callable[[AdoClient], T], actor: Actor | None = None
) -> tuple[Actor, T, str]:
    """Run a read with the user's token; if Azure DevOps rejects it, mark it and read as the service account."""
    actor = actor or actor_for(user=user, connection=connection, for_change=False)
    try:
        with client_for_actor(actor) as client:
            return actor, call(client), ""
    except TOKEN_FAILURES as error:
        if not actor.is_user:
            raise
        _reject(actor, error)
        fallback = actor_for(user=user, connection=connection, for_change=False)
        with client_for_actor(fallback) as client:
            notice = f"Your personal token was refused ({error.message}) This page was read as {fallback.display_name}."
            return fallback, call(client), notice


def list_work_items(
    *,
    user: User,
    connection: AlmConnection,
    type_: str | None = None,
    state: str | None = None,
    before: int | None = None,
    after: int | None = None,
    per_page: int = 100,
) -> WorkItemPage:
    """One page, newest first, of a project of any size: keyset paging on System.Id.

    Azure DevOps refuses a WIQL query over 20,000 results without a smaller `$top` (VS402337,
    docs/azure-devops-behaviours.md §5.4), so each page asks for one more id than it shows, below the
    `before` cursor (or above `after`, going back), then reads the page in batches of 200.
    """
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    project = connection.default_project
    going_back = after is not None and before is None

    def call(client: AdoClient) -> tuple[list[WorkItem], bool]:
        wiql = _wiql(
            project=project,
            type_=type_,
            state=state,
            below=None if going_back else before,
            above=after if going_back else None,
        )
        ids = client.query_work_item_ids(project=project, wiql=wiql, top=per_page + 1)
        more = len(ids) > per_page
        chosen = ids[:per_page]
        if going_back:
            chosen.reverse()
        return client.get_work_items(chosen, project=project, fields=LIST_FIELDS), more

    actor = actor_for(user=user, connection=connection, for_change=False)
    # Only a read as the service account, for someone who would read as it anyway, is shared (workitems.cache).
    shared = not actor.is_user
    query = {"type": type_, "state": state, "before": before, "after": after, "per_page": per_page}
    stored = list_cache.read(connection=connection, query=query) if shared else None
    notice = ""
    if stored is not None:
        items, more = stored
    else:
        actor, (items, more), notice = _read(user=user, connection=connection, call=call, actor=actor)
        if shared and not notice:
            list_cache.store(connection=connection, query=query, items=items, more=more)
    ids = [item.id for item in items]
    if going_back:
        older = min(ids) if ids else after
        newer = max(ids) if more and ids else None
    else:
        older = min(ids) if more and ids else None
        newer = max(ids) if before is not None and ids else None
    return WorkItemPage(tuple(items), per_page, actor, older=older, newer=newer, notice=notice)


def get_work_item(*, user: User, connection: AlmConnection, work_item_id: int) -> tuple[WorkItem, str]:
    _actor, item, notice = _read(
        user=user,
        connection=connection,
        call=lambda client: client.get_work_item(work_item_id, project=connection.default_project),
    )
    return item, notice


def work_item_states(*, user: User, connection: AlmConnection, type_name: str) -> tuple[str, ...]:
    """The states of a work item type in the connection's project, from Azure DevOps, cached per connection."""
    project = connection.default_project
    digest = hashlib.sha256(f"{connection.url}\n{project}\n{type_name}".encode()).hexdigest()[:32]
    key = f"almlink:wit-states:{connection.pk}:{digest}"
    states = cache.get(key)
    if states is None:
        _actor, states, _notice = _read(
            user=user,
            connection=connection,
            call=lambda client: client.get_work_item_type_states(project=project, type_name=type_name),
        )
        cache.set(key, states, STATES_CACHE_SECONDS)
    return tuple(states)


def _reject(actor: Actor, error: ado.AdoError) -> None:
    if actor.credential is not None:
        mark_rejected(credential=actor.credential, error=error)


def _audit(
    *,
    user: User,
    actor: Actor | None,
    connection: AlmConnection,
    work_item_id: int,
    action: str,
    outcome: str,
    detail: str = "",
    activity_id: str | None = None,
    recorded_as: IdentityRef | None = None,
) -> None:
    AuditRecord.objects.create(
        user=user,
        connection=connection,
        work_item_id=work_item_id,
        action=action,
        outcome=outcome,
        actor_kind=actor.kind if actor else "",
        ado_identity=actor.display_name if actor else "",
        ado_identity_id=actor.identity_id if actor else "",
        recorded_as=_identity_text(recorded_as),
        recorded_as_id=(recorded_as.id or "") if recorded_as else "",
        detail=detail[:500],
        activity_id=activity_id or "",
    )


def _identity_text(identity: IdentityRef | None) -> str:
    if identity is None:
        return ""
    if identity.unique_name and identity.unique_name != identity.display_name:
        return f"{identity.display_name} <{identity.unique_name}>"[:255]
    return identity.display_name[:255]


def _change(
    *,
    user: User,
    connection: AlmConnection,
    work_item_id: int,
    action: str,
    do: Callable[[AdoClient], tuple[IdentityRef | None, T]],
    expected_actor: str | None = None,
) -> tuple[Actor, T]:
    """Run one change with the chosen actor; audit every outcome; never retry as someone else.

    `do` returns the identity Azure DevOps recorded the change under, which is compared with the
    actor the page promised: a mismatch is audited, marks the user's token foreign, and is raised.
    """
    try:
        actor = actor_for(user=user, connection=connection, for_change=True)
        if expected_actor and actor.kind != expected_actor:
            raise ActingRefused("actor_changed")
    except ActingRefused as refused:
        _audit(
            user=user,
            actor=None,
            connection=connection,
            work_item_id=work_item_id,
            action=action,
            outcome="refused",
            detail=refused.message,
        )
        raise

    def record(
        outcome: str, *, detail: str = "", activity_id: str | None = None, recorded_as: IdentityRef | None = None
    ) -> None:
        _audit(
            user=user,
            actor=actor,
            connection=connection,
            work_item_id=work_item_id,
            action=action,
            outcome=outcome,
            detail=detail,
            activity_id=activity_id or (client.last_activity_id if client is not None else None),
            recorded_as=recorded_as,
        )

    client: AdoClient | None = None
    try:
        client = client_for_actor(actor)
    except AlmlinkError as error:
        record("refused", detail=error.message)
        raise
    try:
        recorded_as, result = do(client)
    except ado.AdoError as error:
        if actor.is_user and isinstance(error, TOKEN_FAILURES):
            _reject(actor, error)
        if isinstance(error, ado.Conflict):
            record("conflict", detail=error.message, activity_id=error.activity_id)
        elif isinstance(error, TOKEN_FAILURES):
            record("rejected", detail=error.message, activity_id=error.activity_id)
        else:
            record("failed", detail=error.message, activity_id=error.activity_id)
        raise
    finally:
        client.close()
        # Whatever happened, the item may have changed: no stored list is served again (workitems.cache).
        list_cache.forget(connection=connection)
    if not actor.is_recorded_as(recorded_as):
        shown = _identity_text(recorded_as)
        promised = "you" if actor.is_user and actor.own else actor.display_name
        mismatch = ChangedAsSomeoneElse(
            shown=shown, promised=promised, whose="saved_token" if actor.credential is not None else "service_account"
        )
        record("mismatch", detail=mismatch.message, recorded_as=recorded_as)
        if actor.credential is not None:
            mark_foreign(credential=actor.credential, identity_name=shown)
        raise mismatch
    record("success", recorded_as=recorded_as)
    return actor, result


def update_work_item(
    *,
    user: User,
    connection: AlmConnection,
    work_item_id: int,
    rev: int,
    title: str,
    state: str,
    expected_actor: str | None = None,
) -> tuple[Actor, WorkItem]:
    """Change title and state, only if the item is still at `rev`."""
    fields = {"System.Title": title, "System.State": state}
    return _change(
        user=user,
        connection=connection,
        work_item_id=work_item_id,
        action="update",
        expected_actor=expected_actor,
        do=lambda client: _recorded(
            client.update_work_item(work_item_id, rev=rev, fields=fields, project=connection.default_project)
        ),
    )


def delete_work_item(
    *, user: User, connection: AlmConnection, work_item_id: int, expected_actor: str | None = None
) -> Actor:
    """Move the item to the Azure DevOps recycle bin."""
    actor, _ = _change(
        user=user,
        connection=connection,
        work_item_id=work_item_id,
        action="delete",
        expected_actor=expected_actor,
        do=lambda client: (client.delete_work_item(work_item_id, project=connection.default_project), None),
    )
    return actor


def _recorded(item: WorkItem) -> tuple[IdentityRef | None, WorkItem]:
    """An updated item and the identity Azure DevOps put on the change (System.ChangedBy)."""
    return item.changed_by, item
