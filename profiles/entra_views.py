"""Sign in with Microsoft on ALM Credentials: start, callback, re-test, "Create my token for me"."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from alm import exceptions as ado
from alm.models import AlmConnection
from profiles import entra_flow, services
from profiles.auth import SignedInRequest
from profiles.standing import forget


def _back(connection_id: int | None = None) -> HttpResponse:
    anchor = f"#connection-{connection_id}" if connection_id else ""
    return redirect(f"{reverse('alm_credentials')}{anchor}")


# A link, not a form: the page's Content-Security-Policy (form-action 'self') would stop a form whose answer
# redirects to Microsoft. Starting a sign-in changes nothing but this session's pending flow.
@never_cache
@require_GET
def sign_in(request: HttpRequest, connection_id: int) -> HttpResponse:
    connection = get_object_or_404(AlmConnection, pk=connection_id)
    try:
        url = entra_flow.begin(
            session=request.session,
            connection=connection,
            redirect_uri=request.build_absolute_uri(reverse("entra_callback")),
            login_hint=getattr(request.user, "email", None) or None,
        )
    except (ado.AdoError, services.CredentialError) as error:
        messages.error(request, error.message)
        return _back(connection.pk)
    return redirect(url)


# The code and state arrive in the query; the page answers with a redirect at once (post/redirect/get), so
# the code leaves the address bar and history, and never reaches another site in a Referer.
@never_cache
@require_GET
@sensitive_variables()
def callback(request: SignedInRequest) -> HttpResponse:
    try:
        result = entra_flow.finish(user=request.user, session=request.session, response=request.GET.dict())
    except ado.AdoError as error:
        messages.error(request, error.message)
        return _back()
    forget(request)
    outcome = result.outcome
    if outcome.ok:
        name = result.credential.ado_display_name
        messages.success(request, f"Signed in with Microsoft. Your changes in Azure DevOps are now made as {name}.")
    elif outcome.error is not None:
        messages.error(request, f"Signed in with Microsoft, but the test failed: {outcome.error.message}")
    else:
        messages.warning(request, f"Signed in with Microsoft, but: {' '.join(outcome.problems)}")
    return _back(result.credential.connection_id)


@require_POST
@sensitive_variables()
def create_token(request: SignedInRequest, connection_id: int) -> HttpResponse:
    connection = get_object_or_404(AlmConnection, pk=connection_id)
    try:
        credential = entra_flow.create_my_token(user=request.user, connection=connection)
    except (ado.AdoError, services.CredentialError) as error:
        messages.error(request, error.message)
    else:
        expiry = f", valid until {credential.expires_on:%Y-%m-%d}" if credential.expires_on else ""
        messages.success(request, f"Your personal access token was created and saved{expiry}.")
    forget(request)
    return _back(connection.pk)
