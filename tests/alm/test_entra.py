"""The app's Entra ID client (alm/entra.py, msal) against the emulator's authority over real HTTPS."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ado_emulator.entra import DEMO_CLIENT_ID
from alm.entra import DELEGATED_SCOPES, EntraClient
from alm.exceptions import EntraMisconfigured, SignInEnded, SignInFailed, TokenRejected, Unreachable
from tests.entra_helpers import entra_config, walk_sign_in

REDIRECT = "http://127.0.0.1:8000/profile/entra/callback"
ALICE = "alice@fabrikam.example"


def signed_in_client(ado, email=ALICE):
    client = EntraClient(entra_config(ado))
    start = client.begin_sign_in(redirect_uri=REDIRECT)
    _target, query = walk_sign_in(ado, start.url, email=email)
    return client, client.finish_sign_in(flow=start.flow, response=query)


def test_sign_in_yields_the_users_account_and_an_azure_devops_token(ado):
    client, sign_in = signed_in_client(ado)
    assert sign_in.username == ALICE
    assert client.cache_changed()
    assert ado.entra.verify_access_token(sign_in.access.token).identity_id == ado.state.identity_by_email(ALICE).id
    assert ado.entra.consented(ALICE) == set(DELEGATED_SCOPES)


def test_authorize_url_carries_pkce_state_and_nonce(ado):
    client = EntraClient(entra_config(ado))
    start = client.begin_sign_in(redirect_uri=REDIRECT)
    for parameter in ("code_challenge=", "code_challenge_method=S256", "state=", "nonce="):
        assert parameter in start.url
    assert "code_verifier" in start.flow


def test_callback_with_another_state_is_refused(ado):
    client = EntraClient(entra_config(ado))
    start = client.begin_sign_in(redirect_uri=REDIRECT)
    _target, query = walk_sign_in(ado, start.url, email=ALICE)
    with pytest.raises(SignInFailed) as refused:
        client.finish_sign_in(flow=start.flow, response={**query, "state": "forged"})
    assert refused.value.reason == "state"


def test_replayed_callback_is_refused(ado):
    client = EntraClient(entra_config(ado))
    start = client.begin_sign_in(redirect_uri=REDIRECT)
    _target, query = walk_sign_in(ado, start.url, email=ALICE)
    client.finish_sign_in(flow=start.flow, response=query)
    with pytest.raises(SignInFailed) as refused:
        EntraClient(entra_config(ado)).finish_sign_in(flow=start.flow, response=query)
    assert refused.value.reason == "code_used"


def test_declined_consent_is_a_failed_sign_in(ado):
    client = EntraClient(entra_config(ado))
    start = client.begin_sign_in(redirect_uri=REDIRECT)
    _target, query = walk_sign_in(ado, start.url, email=ALICE, decision="cancel")
    with pytest.raises(SignInFailed) as refused:
        client.finish_sign_in(flow=start.flow, response=query)
    assert refused.value.reason == "declined"


def test_user_token_comes_from_the_serialized_cache_in_a_new_client(ado):
    client, sign_in = signed_in_client(ado)
    later = EntraClient(entra_config(ado), cache=client.serialized_cache())
    assert later.user_token(account_id=sign_in.account_id).token == sign_in.access.token


def test_expiring_access_token_is_refreshed_with_the_rotated_refresh_token(ado):
    ado.entra.access_token_lifetime = timedelta(seconds=60)  # inside msal's refresh margin
    client, sign_in = signed_in_client(ado)
    first = client.user_token(account_id=sign_in.account_id)
    assert first.token != sign_in.access.token
    # The rotated refresh token was kept: a second refresh from the saved cache works too.
    again = EntraClient(entra_config(ado), cache=client.serialized_cache()).user_token(account_id=sign_in.account_id)
    assert again.token not in {first.token, sign_in.access.token}


@pytest.mark.parametrize(
    ("how", "reason", "code"),
    [
        ("revoked", "revoked", 50173),
        ("consent", "consent", 65001),
        ("inactive", "inactive", 700082),
        ("mfa", "conditional_access", 50076),
    ],
)
def test_refused_refresh_ends_the_sign_in(ado, how, reason, code):
    client, sign_in = signed_in_client(ado)
    ado.entra.end_sign_in(ALICE, how)
    with pytest.raises(SignInEnded) as ended:
        client.user_token(account_id=sign_in.account_id, force_refresh=True)
    assert (ended.value.reason, ended.value.aadsts) == (reason, code)
    assert isinstance(ended.value, TokenRejected)
    assert "Sign in with Microsoft again" in str(ended.value)


def test_unknown_account_has_no_sign_in(ado):
    with pytest.raises(SignInEnded):
        EntraClient(entra_config(ado)).user_token(account_id="nobody.nowhere")


def test_app_token_acts_as_the_service_principal(ado):
    ado.entra.add_service_principal()
    token = EntraClient(entra_config(ado)).app_token()
    assert token.token.count(".") == 2


def test_wrong_client_secret_is_a_configuration_error(ado):
    with pytest.raises(EntraMisconfigured) as wrong:
        EntraClient(entra_config(ado, client_secret="not-the-secret")).app_token()
    assert wrong.value.aadsts == 7000215
    assert "not-the-secret" not in str(wrong.value)


def test_unknown_client_id_is_a_configuration_error(ado):
    with pytest.raises(EntraMisconfigured) as wrong:
        EntraClient(entra_config(ado, client_id="00000000-0000-0000-0000-00000000beef")).app_token()
    assert wrong.value.reason == "client_id"
    assert DEMO_CLIENT_ID not in str(wrong.value)


def test_authority_not_trusted_without_its_ca_is_unreachable_over_tls(ado):
    with pytest.raises(Unreachable) as failed:
        EntraClient(entra_config(ado, ca_bundle=None)).app_token()
    assert failed.value.reason == "tls"
