"""workitems.services.actor_for: whose token acts, decided in one place."""

from __future__ import annotations

import pytest

from alm.models import AlmConnection
from profiles.models import AlmCredential
from profiles.services import save_credential
from workitems.services import ActingRefused, actor_for

pytestmark = pytest.mark.django_db


def _unverified(user, connection, token) -> AlmCredential:
    """A token saved while Azure DevOps could not be asked: its owner is not known yet."""
    return AlmCredential.objects.create(
        user=user, connection=connection, token=token, status=AlmCredential.Status.UNVERIFIED, origin=connection.url
    )


def test_own_working_token_acts_as_you(alice, connection, alice_credential):
    actor = actor_for(user=alice, connection=connection, for_change=True)

    assert (actor.kind, actor.own, actor.display_name) == ("user", True, "Alice Example")
    assert actor.token == alice_credential.token
    assert actor.describe() == "as you, Alice Example"


def test_foreign_token_allowed_acts_under_its_owners_name_never_as_you(alice, connection, bob_pat, settings):
    settings.ALM_ALLOW_FOREIGN_TOKENS = True
    credential, outcome = save_credential(user=alice, connection=connection, token=bob_pat)
    assert credential is not None, outcome

    actor = actor_for(user=alice, connection=connection, for_change=True)

    assert (actor.kind, actor.own, actor.display_name) == ("user", False, "Bob Example")
    assert actor.describe() == "as Bob Example, the owner of the token you saved"
    assert "as you" not in actor.describe()


def test_foreign_token_not_allowed_never_acts(alice, connection, bob_pat):
    _unverified(alice, connection, bob_pat)

    actor = actor_for(user=alice, connection=connection, for_change=True)

    assert actor.kind == "service_account"
    credential = AlmCredential.objects.get(user=alice, connection=connection)
    assert credential.status == AlmCredential.Status.FOREIGN


def test_unverified_token_is_verified_on_first_use_then_acts(alice, connection, alice_pat, ado):
    _unverified(alice, connection, alice_pat)
    ado.clear_requests()

    actor = actor_for(user=alice, connection=connection, for_change=True)

    assert (actor.kind, actor.own) == ("user", True)
    assert ado.requests, "the token was not asked about"
    credential = AlmCredential.objects.get(user=alice, connection=connection)
    assert (credential.status, credential.ado_email) == (AlmCredential.Status.WORKING, "alice@fabrikam.example")


def test_unverified_token_that_azure_devops_refuses_falls_back_to_the_service_account(
    alice, connection, alice_pat, ado
):
    _unverified(alice, connection, alice_pat)
    ado.revoke_pat(alice_pat)

    actor = actor_for(user=alice, connection=connection, for_change=True)

    assert actor.kind == "service_account"
    assert AlmCredential.objects.get(user=alice, connection=connection).status == AlmCredential.Status.REJECTED


def test_without_a_token_the_service_account_acts_visibly(alice, connection):
    actor = actor_for(user=alice, connection=connection, for_change=True)

    assert (actor.kind, actor.display_name, actor.credential) == ("service_account", "ALM Service Account", None)
    assert actor.token == connection.service_token
    assert actor.describe() == "as ALM Service Account, because you have no working personal token"


def test_without_a_token_and_without_fallback_no_change_is_made(alice, connection):
    connection.allow_service_account_fallback = False
    connection.save()

    with pytest.raises(ActingRefused) as refused:
        actor_for(user=alice, connection=connection, for_change=True)

    assert refused.value.code == "no_token"


def test_without_fallback_reads_still_use_the_service_account(alice, connection):
    connection.allow_service_account_fallback = False
    connection.save()

    assert actor_for(user=alice, connection=connection, for_change=False).kind == "service_account"


def test_a_service_token_entered_for_another_address_never_acts(alice, connection):
    AlmConnection.objects.filter(pk=connection.pk).update(service_token_origin="https://dev.azure.com/elsewhere")
    connection.refresh_from_db()

    with pytest.raises(ActingRefused) as refused:
        actor_for(user=alice, connection=connection, for_change=False)

    assert refused.value.code == "no_service_token"


def test_without_a_service_token_nobody_acts(alice, connection):
    connection.service_token = ""  # in memory only: the database keeps a connection's token

    with pytest.raises(ActingRefused) as refused:
        actor_for(user=alice, connection=connection, for_change=False)

    assert refused.value.code == "no_service_token"
