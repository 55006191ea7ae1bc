"""The person's pages: home, profile, ALM credentials, the banner's dismissal."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from alm.models import AlmConnection
from profiles import services
from profiles.auth import SignedInRequest
from profiles.banner import DISMISSED_SESSION_KEY
from profiles.forms import TokenForm
from profiles.models import AlmCredential
from profiles.services import CheckOutcome
from profiles.standing import forget, standings

ACTIONS = ("test", "save", "save_unverified")


def home(request: SignedInRequest) -> HttpResponse:
    # The banner already ran this request's standing query: reading it again costs nothing.
    default = next((s for s in standings(request) if s.connection.is_default), None)
    return render(request, "profiles/home.html", {"default": default})


def _blocks(request: SignedInRequest, *, form: TokenForm | None = None, outcome: CheckOutcome | None = None
) -> list[dict[str, Any]]:
    """One block per connection (the default first), with the user's saved credential and a form."""
    blocks = []
    for standing in standings(request):
        connection = standing.connection
        posted = form is not None and form.data.get("connection") == str(connection.pk)
        blocks.append(
            {
                "connection": connection,
                "credential": standing.credential,
                "standing": standing,
                "form": form if posted else TokenForm(initial={"connection": connection.pk}),
                "outcome": outcome if posted else None,
                "permission_rows": services.permission_rows(outcome.report if posted and outcome else None),
            }
        )
    return blocks


def profile(request: SignedInRequest) -> HttpResponse:
    return render(request, "profiles/profile.html", {"standings": standings(request)})


@sensitive_post_parameters("token")
def alm_credentials(request: SignedInRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "profiles/alm_credentials.html", {"blocks": _blocks(request)})
    action = request.POST.get("action", "test")
    form = TokenForm(request.POST, action=action)
    valid = form.is_valid()
    # The connection is a hidden field and the action a button: other values were not sent by this page,
    # and their errors would show nowhere on it.
    if action not in ACTIONS or "connection" in form.errors:
        raise BadRequest("Unknown connection or action.")
    connection = get_object_or_404(AlmConnection, pk=form.cleaned_data["connection"])
    outcome = None
    if valid:
        try:
            outcome = _act(request, connection=connection, action=action, token=form.cleaned_data["token"])
            forget(request)  # the credential may have changed
        except services.CredentialError as error:
            form.add_error("token", error.message)
        else:
            if outcome is None:
                return redirect(f"{reverse('alm_credentials')}#connection-{connection.pk}")
    context = {"blocks": _blocks(request, form=form, outcome=outcome)}
    if request.headers.get("X-Requested-With") == "fetch":
        block = next((b for b in context["blocks"] if b["form"] is form), None)
        return render(request, "profiles/_credential_block.html", {"block": block})
    return render(request, "profiles/alm_credentials.html", context)


# The token is a local here: hidden from error reports like the POST field it came from.
@sensitive_variables("token")
def _act(request: SignedInRequest, *, connection: AlmConnection, action: str, token: str) -> CheckOutcome | None:
    """Run Test Connection or Save; None means saved (redirect), else the outcome to show."""
    if action == "test":
        return services.check_credential(user=request.user, connection=connection, token=token or None)
    credential, outcome = services.save_credential(
        user=request.user, connection=connection, token=token, allow_unverified=action == "save_unverified"
    )
    if credential is None:
        return outcome
    if credential.status == AlmCredential.Status.WORKING:
        messages.success(request, f"Saved. Your changes in Azure DevOps are now made as {credential.ado_display_name}.")
    else:
        messages.warning(request, "Saved without verification: test it once Azure DevOps can be reached.")
    return None


def remove_credential(request: SignedInRequest, connection_id: int) -> HttpResponse:
    connection = get_object_or_404(AlmConnection, pk=connection_id)
    credential = get_object_or_404(AlmCredential, user=request.user, connection=connection)
    if request.method == "POST":
        services.remove_credential(user=request.user, connection=connection)
        messages.success(request, f"Your token for {connection.name} was removed.")
        return redirect("alm_credentials")
    return render(request, "profiles/remove_credential.html", {"connection": connection, "credential": credential})


@require_POST
def dismiss_banner(request: HttpRequest) -> HttpResponse:
    request.session[DISMISSED_SESSION_KEY] = request.POST.get("state", "")[:64]
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home")
    return redirect(target)
