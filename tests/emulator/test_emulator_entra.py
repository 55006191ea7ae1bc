"""The emulator's Entra ID authority over HTTPS, and Azure DevOps taking its bearer tokens.

See docs/azure-devops-behaviours.md §9.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ado_emulator import Emulator
from ado_emulator.entra import ADO_RESOURCE, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, pkce_challenge

REDIRECT = "http://127.0.0.1:8123/profile/entra/callback"
FIVE = (
    "vso.memberentitlementmanagement",
    "vso.project_manage",
    "vso.tokenadministration",
    "vso.tokens",
    "vso.work_full",
)
ALICE = "alice@fabrikam.example"


def tls_session(ado: Emulator) -> requests.Session:
    session = requests.Session()
    # The machine's REQUESTS_CA_BUNDLE would override verify= (docs/azure-devops-behaviours.md §9): ignore the
    # environment.
    session.trust_env = False
    session.verify = ado.entra.ca_bundle
    return session


def claims_of(jwt_text: str) -> dict:
    payload = jwt_text.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def authorize(ado: Emulator, http: requests.Session, *, email: str = ALICE, scopes=FIVE, challenge=True, **extra):
    """Walk the authorize page as a tester would: open it, pick the identity, Accept. Returns (query, verifier)."""
    verifier = secrets.token_urlsafe(48)
    params = {
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": " ".join([*(f"{ADO_RESOURCE}/{s}" for s in scopes), "openid", "profile", "offline_access"]),
        "state": "st-123",
        "nonce": "n-456",
        **extra,
    }
    if challenge:
        params.update(code_challenge=pkce_challenge(verifier), code_challenge_method="S256")
    url = f"{ado.entra.authority}/oauth2/v2.0/authorize"
    page = http.get(url, params=params, timeout=5)
    assert page.status_code == HTTPStatus.OK
    identity = ado.state.identity_by_email(email)
    assert identity is not None
    assert f'value="{identity.id}"' in page.text
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    form = {k: v.replace("&amp;", "&") for k, v in form.items()}
    answer = http.post(
        url, data={**form, "account": identity.id, "decision": "accept"}, allow_redirects=False, timeout=5
    )
    assert answer.status_code == HTTPStatus.FOUND
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}, verifier


def token(ado: Emulator, http: requests.Session, **form) -> requests.Response:
    form.setdefault("client_id", DEMO_CLIENT_ID)
    form.setdefault("client_secret", DEMO_CLIENT_SECRET)
    return http.post(f"{ado.entra.authority}/oauth2/v2.0/token", data=form, timeout=5)


def redeem(ado, http, query, verifier) -> requests.Response:
    return token(
        ado, http, grant_type="authorization_code", code=query["code"], redirect_uri=REDIRECT, code_verifier=verifier
    )


def signed_in(ado, http, **kwargs) -> dict:
    query, verifier = authorize(ado, http, **kwargs)
    response = redeem(ado, http, query, verifier)
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()


def bearer(access_token: str) -> dict:
    return {"Authorization": f"Bearer {access_token}", "X-TFS-FedAuthRedirect": "Suppress"}


def who_am_i(ado: Emulator, access_token: str) -> requests.Response:
    return requests.get(
        f"{ado.org_url()}/_apis/connectionData",
        params={"api-version": "7.1-preview.1"},
        headers=bearer(access_token),
        timeout=5,
    )


def patch_title(ado: Emulator, access_token: str, title: str) -> requests.Response:
    """PATCH the title of work item 1 with the bearer token."""
    return requests.patch(
        f"{ado.org_url()}/_apis/wit/workitems/1",
        params={"api-version": "7.1"},
        headers={**bearer(access_token), "Content-Type": "application/json-patch+json"},
        data=json.dumps([{"op": "add", "path": "/fields/System.Title", "value": title}]),
        timeout=5,
    )


def aadsts(response: requests.Response) -> tuple[str, int]:
    body = response.json()
    assert body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}: ")
    return body["error"], body["error_codes"][0]


@pytest.fixture
def http(ado: Emulator) -> requests.Session:
    return tls_session(ado)


def test_authority_serves_discovery_and_keys_over_https_trusted_only_through_its_ca(ado, http):
    discovery = http.get(f"{ado.entra.authority}/v2.0/.well-known/openid-configuration", timeout=5).json()
    assert discovery["authorization_endpoint"] == f"{ado.entra.authority}/oauth2/v2.0/authorize"
    assert discovery["token_endpoint"].startswith("https://127.0.0.1:")
    keys = http.get(discovery["jwks_uri"], timeout=5).json()["keys"]
    assert [(k["kty"], k["alg"]) for k in keys] == [("RSA", "RS256")]
    untrusted = requests.Session()
    untrusted.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        untrusted.get(discovery["jwks_uri"], timeout=5)


def test_signed_in_user_acts_on_azure_devops_with_the_bearer_token(ado, http):
    tokens = signed_in(ado, http)
    claims = claims_of(tokens["access_token"])
    assert claims["aud"] == ADO_RESOURCE
    assert set(claims["scp"].split()) == set(FIVE)
    assert claims_of(tokens["id_token"])["nonce"] == "n-456"
    me = who_am_i(ado, tokens["access_token"])
    assert me.status_code == HTTPStatus.OK
    assert me.json()["authenticatedUser"]["properties"]["Account"]["$value"] == ALICE
    changed = patch_title(ado, tokens["access_token"], "Changed through Entra")
    assert changed.status_code == HTTPStatus.OK, changed.text
    assert ado.work_item_revisions("fabrikam", 1)[-1]["changed_by"]["email"] == ALICE


def test_authorize_redirect_carries_the_clients_state_back(ado, http):
    query, _verifier = authorize(ado, http)
    assert query["state"] == "st-123"


def test_replayed_code_is_refused(ado, http):
    query, verifier = authorize(ado, http)
    assert redeem(ado, http, query, verifier).status_code == HTTPStatus.OK
    again = redeem(ado, http, query, verifier)
    assert again.status_code == HTTPStatus.BAD_REQUEST
    assert aadsts(again) == ("invalid_grant", 54005)


def test_wrong_code_verifier_is_refused(ado, http):
    query, _verifier = authorize(ado, http)
    response = redeem(ado, http, query, secrets.token_urlsafe(48))
    assert aadsts(response) == ("invalid_grant", 501481)


def test_code_requested_without_pkce_cannot_be_redeemed(ado, http):
    query, verifier = authorize(ado, http, challenge=False)
    response = redeem(ado, http, query, verifier)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert aadsts(response)[1] == 9002325


def test_wrong_client_secret_is_invalid_client(ado, http):
    query, verifier = authorize(ado, http)
    response = token(
        ado,
        http,
        client_secret="not-the-secret",
        grant_type="authorization_code",
        code=query["code"],
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert aadsts(response) == ("invalid_client", 7000215)


def test_refresh_rotates_and_the_used_refresh_token_is_refused(ado, http):
    first = signed_in(ado, http)
    second = token(ado, http, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == HTTPStatus.OK
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert who_am_i(ado, second.json()["access_token"]).status_code == HTTPStatus.OK
    reused = token(ado, http, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert aadsts(reused)[0] == "invalid_grant"


@pytest.mark.parametrize(
    ("reason", "code", "suberror"),
    [
        ("revoked", 50173, None),
        ("consent", 65001, "consent_required"),
        ("inactive", 700082, None),
        ("mfa", 50076, "basic_action"),
    ],
)
def test_ended_sign_in_refuses_refresh_with_entras_code(ado, http, reason, code, suberror):
    tokens = signed_in(ado, http)
    ended = http.post(
        f"{ado.entra.base_url}/_emulator/entra/end-sign-in", json={"email": ALICE, "reason": reason}, timeout=5
    )
    assert ended.status_code == HTTPStatus.OK
    response = token(ado, http, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert aadsts(response) == ("invalid_grant", code)
    assert response.json().get("suberror") == suberror


def test_revoked_sign_in_makes_azure_devops_refuse_the_access_token(ado, http):
    tokens = signed_in(ado, http)
    ado.entra.end_sign_in(ALICE, "revoked")
    response = who_am_i(ado, tokens["access_token"])
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.content == b""


def test_expired_access_token_is_refused_by_azure_devops(ado, http):
    ado.entra.access_token_lifetime = timedelta(0)
    tokens = signed_in(ado, http)
    assert who_am_i(ado, tokens["access_token"]).status_code == HTTPStatus.UNAUTHORIZED


def test_token_signed_by_another_authority_is_refused(ado, http):
    tokens = signed_in(ado, http)
    header, payload, _signature = tokens["access_token"].split(".")
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(b'x' * 256).decode().rstrip('=')}"
    assert who_am_i(ado, forged).status_code == HTTPStatus.UNAUTHORIZED


def test_scp_limits_what_the_bearer_token_may_do(ado, http):
    tokens = signed_in(ado, http, scopes=("vso.work",))
    assert patch_title(ado, tokens["access_token"], "x").status_code == HTTPStatus.UNAUTHORIZED


def test_client_credentials_give_the_service_principal_an_app_token(ado, http):
    ado.entra.add_service_principal()
    response = token(ado, http, grant_type="client_credentials", scope=f"{ADO_RESOURCE}/.default")
    assert response.status_code == HTTPStatus.OK
    app_token = response.json()["access_token"]
    assert "refresh_token" not in response.json()
    assert claims_of(app_token)["idtyp"] == "app"
    me = who_am_i(ado, app_token).json()["authenticatedUser"]
    assert me["id"] == ado.entra.apps[DEMO_CLIENT_ID].service_principal_id


def test_client_credentials_need_the_default_scope(ado, http):
    response = token(ado, http, grant_type="client_credentials", scope=f"{ADO_RESOURCE}/vso.work_full")
    assert aadsts(response) == ("invalid_scope", 1002012)


def test_declined_consent_redirects_with_access_denied(ado, http):
    url = f"{ado.entra.authority}/oauth2/v2.0/authorize"
    params = {
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": f"{ADO_RESOURCE}/.default",
        "state": "s",
    }
    alice = ado.state.identity_by_email(ALICE)
    answer = http.post(
        url, data={**params, "account": alice.id, "decision": "cancel"}, allow_redirects=False, timeout=5
    )
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s"]


def test_unregistered_redirect_uri_is_shown_not_followed(ado, http):
    response = http.get(
        f"{ado.entra.authority}/oauth2/v2.0/authorize",
        params={
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": "https://evil.example/cb",
            "response_type": "code",
            "scope": f"{ADO_RESOURCE}/.default",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert aadsts(response)[1] == 50011


def test_expired_authorization_code_is_refused():
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    with Emulator(clock=lambda: now[0]) as emu:
        http = tls_session(emu)
        query, verifier = authorize(emu, http)
        now[0] += timedelta(minutes=11)
        assert aadsts(redeem(emu, http, query, verifier)) == ("invalid_grant", 70008)


# --- the PAT lifecycle API --------------------------------------------------------------------------------

PATS_VERSION = {"api-version": "7.1-preview.1"}
PREVIEW = PATS_VERSION


def pats_url(ado: Emulator) -> str:
    return f"{ado.base_url}/_vssps/fabrikam/_apis/tokens/pats"


def test_entra_token_creates_lists_updates_and_revokes_a_pat(ado, http):
    access = signed_in(ado, http, scopes=(*FIVE, "vso.pats_manage"))["access_token"]
    valid_to = (datetime.now(UTC) + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    created = requests.post(
        pats_url(ado),
        params=PATS_VERSION,
        headers=bearer(access),
        json={"displayName": "almlink", "scope": " ".join(FIVE), "validTo": valid_to, "allOrgs": False},
        timeout=5,
    )
    assert created.status_code == HTTPStatus.OK
    result = created.json()
    assert result["patTokenError"] == "none"
    pat = result["patToken"]
    assert pat["scope"] == " ".join(FIVE)
    assert pat["targetAccounts"] == [ado.state.org_data("fabrikam").org.id]
    # The new PAT works as a PAT.
    works = requests.get(f"{ado.org_url()}/_apis/connectionData", params=PREVIEW, auth=("", pat["token"]), timeout=5)
    assert works.status_code == HTTPStatus.OK
    listed = requests.get(pats_url(ado), params=PATS_VERSION, headers=bearer(access), timeout=5).json()
    mine = [p for p in listed["patTokens"] if p["authorizationId"] == pat["authorizationId"]]
    assert mine
    assert mine[0]["token"] is None
    updated = requests.put(
        pats_url(ado),
        params=PATS_VERSION,
        headers=bearer(access),
        json={"authorizationId": pat["authorizationId"], "displayName": "renamed"},
        timeout=5,
    ).json()
    assert updated["patToken"]["displayName"] == "renamed"
    revoked = requests.delete(
        pats_url(ado),
        params={**PATS_VERSION, "authorizationId": pat["authorizationId"]},
        headers=bearer(access),
        timeout=5,
    )
    assert revoked.status_code == HTTPStatus.NO_CONTENT
    gone = requests.get(f"{ado.org_url()}/_apis/connectionData", params=PREVIEW, auth=("", pat["token"]), timeout=5)
    assert gone.status_code == HTTPStatus.UNAUTHORIZED


def test_pat_lifecycle_api_refuses_a_full_access_pat(ado, http_for):
    alice = ado.state.identity_by_email(ALICE)
    full = ado.issue_pat(alice, scopes="app_token")
    suppressed = http_for(full).get(pats_url(ado), params=PATS_VERSION)
    assert suppressed.status_code == HTTPStatus.UNAUTHORIZED
    browser_like = http_for(full, suppress=False).get(pats_url(ado), params=PATS_VERSION)
    # The recorded answer to a PAT on this API: 203 and the sign-in page (docs/azure-devops-behaviours.md §4.3,
    # vsts-rest-api-specs#574).
    assert browser_like.status_code == HTTPStatus.NON_AUTHORITATIVE_INFORMATION


def test_pat_lifecycle_api_needs_the_pats_scope_in_the_entra_token(ado, http):
    access = signed_in(ado, http)["access_token"]
    response = requests.get(pats_url(ado), params=PATS_VERSION, headers=bearer(access), timeout=5)
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_restricted_pat_creation_is_refused(ado, http):
    access = signed_in(ado, http, scopes=("vso.pats_manage",))["access_token"]
    ado.entra.pat_creation_restricted.add("fabrikam")
    valid_to = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    response = requests.post(
        pats_url(ado),
        params=PATS_VERSION,
        headers=bearer(access),
        json={"displayName": "x", "scope": "vso.work", "validTo": valid_to},
        timeout=5,
    )
    assert response.json() == {"patToken": None, "patTokenError": "accessDenied"}
