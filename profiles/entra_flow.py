"""Sign in with Microsoft on ALM Credentials: start, finish, and "Create my token for me".

The in-progress sign-in (MSAL's flow, with the PKCE verifier, `state` and `nonce`) waits in the server-side
session for one callback only: a second use of the same callback finds nothing and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, cast

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from alm import exceptions as ado
from alm.client import PAT_NAME
from alm.entra_services import entra_client_for
from alm.models import AlmConnection
from alm.pat_lifecycle import create_pat
from alm.scopes import REQUIRED_PERMISSIONS
from profiles import entra, services
from profiles.entra_models import EntraSignIn
from profiles.models import AlmCredential

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.base import SessionBase

FLOW_SESSION_KEY = "entra_sign_in_flow"
# "Create my token for me": a 12-month token with exactly the five permissions, named as the app reads expiry.
CREATED_TOKEN_LIFETIME = timedelta(days=365)
CREATED_TOKEN_SCOPES = " ".join(permission.scope for permission in REQUIRED_PERMISSIONS)


@dataclass(frozen=True)
class SignInResult:
    credential: AlmCredential
    outcome: services.CheckOutcome


def begin(*, session: SessionBase, connection: AlmConnection, redirect_uri: str, login_hint: str | None) -> str:
    """The Microsoft sign-in URL to send the browser to; the flow waits in the session."""
    if not connection.offers_entra:
        raise services.CredentialError("no_entra")
    with entra_client_for(connection=connection) as client:
        start = client.begin_sign_in(redirect_uri=redirect_uri, login_hint=login_hint)
    session[FLOW_SESSION_KEY] = {"connection": connection.pk, "flow": start.flow}
    return start.url


@sensitive_variables()
def finish(*, user: User, session: SessionBase, response: dict[str, str]) -> SignInResult:
    """Redeem the callback, store the sign-in encrypted, and test it like a token (Test Connection)."""
    pending = session.pop(FLOW_SESSION_KEY, None)
    if not isinstance(pending, dict):
        # No sign-in waits here: a replayed or foreign callback.
        raise ado.SignInFailed("state")
    connection = AlmConnection.objects.filter(pk=cast(int, pending.get("connection"))).first()
    if connection is None or not connection.offers_entra:
        raise ado.SignInFailed("unknown")
    with entra_client_for(connection=connection) as client:
        sign_in = client.finish_sign_in(flow=pending["flow"], response=response)
        cache = entra.stored_cache(client)
    with transaction.atomic():
        credential = AlmCredential.objects.select_for_update().filter(user=user, connection=connection).first()
        credential = credential or AlmCredential(user=user, connection=connection)
        # The Microsoft sign-in replaces a pasted token: no token is stored for it.
        credential.token = None
        credential.saved_at = timezone.now()
        # Nothing learned about a replaced token carries over: the test below learns whose sign-in it is.
        blank = AlmCredential()
        for name in AlmCredential.LEARNED_FIELDS:
            setattr(credential, name, getattr(blank, name))
        credential.status = AlmCredential.Status.UNVERIFIED
        credential.origin = connection.url
        credential.save()
        EntraSignIn.objects.update_or_create(
            credential=credential,
            defaults={"account_id": sign_in.account_id, "cache": cache, "signed_in_at": timezone.now(), "acting": True},
        )
    stored = EntraSignIn.objects.select_related("credential__connection").get(credential=credential)
    entra.remember(stored, sign_in.access)
    outcome = check(sign_in=stored)
    return SignInResult(credential=credential, outcome=outcome)


def probe(*, credential: AlmCredential) -> services.CheckOutcome:
    """Test Connection for the credential's Microsoft sign-in (nothing recorded)."""
    sign_in = entra.acting_sign_in(credential)
    try:
        if sign_in is None:
            raise ado.SignInEnded("missing")
        report = entra.check_sign_in(sign_in)
    except ado.AdoError as error:
        return services.CheckOutcome(connection_id=credential.connection_id, error=error, tested_saved_token=True)
    problems, foreign = services.token_problems(user=credential.user, report=report)
    return services.CheckOutcome(
        connection_id=credential.connection_id,
        report=report,
        problems=problems,
        foreign_owner=foreign,
        tested_saved_token=True,
        elapsed_ms=report.elapsed_ms,
    )


def check(*, sign_in: EntraSignIn) -> services.CheckOutcome:
    """Test Connection for a Microsoft sign-in; the outcome is recorded on the credential like a token's."""
    outcome = probe(credential=sign_in.credential)
    services.record_outcome(credential=sign_in.credential, outcome=outcome)
    return outcome


@sensitive_variables()
def create_my_token(*, user: User, connection: AlmConnection) -> AlmCredential:
    """Create a personal access token through the PAT lifecycle API with the user's sign-in, and save it.

    Afterwards the token acts; the sign-in stays (not acting) so that renewal works the same way.
    """
    sign_in = (
        EntraSignIn.objects.select_related("credential__connection")
        .filter(credential__user=user, credential__connection=connection)
        .first()
    )
    if sign_in is None:
        raise services.CredentialError("no_sign_in")
    try:
        with entra.bearer_client(sign_in) as client:
            created = create_pat(
                client,
                name=PAT_NAME,
                scopes=CREATED_TOKEN_SCOPES,
                valid_to=timezone.now() + CREATED_TOKEN_LIFETIME,
            )
    except ado.SignInEnded as error:
        services.mark_rejected(credential=sign_in.credential, error=error)
        raise
    saved, outcome = services.save_credential(user=user, connection=connection, token=created.token)
    if saved is None:
        problem = outcome.error.message if outcome.error else "; ".join(outcome.problems)
        raise services.CredentialError("failed", problem=problem)
    if saved.expires_on is None and created.valid_to is not None:
        # The test may not tell this token from another of the same name; the create answer says its expiry.
        saved.expires_on = created.valid_to
        AlmCredential.objects.filter(pk=saved.pk, saved_at=saved.saved_at).update(expires_on=created.valid_to)
    EntraSignIn.objects.filter(pk=sign_in.pk).update(acting=False)
    return saved
