"""Hostile input in every field that takes a token or a URL: a clear 4xx or a form error, never a 500 or an echo."""

from __future__ import annotations

import html
import re
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from alm.connection_urls import normalize_connection_url
from alm.forms import AlmConnectionForm
from alm.models import AlmConnection
from profiles.forms import MAX_TOKEN_LENGTH, TokenForm
from profiles.models import AlmCredential

CREDENTIALS = reverse("alm_credentials")
ADD_CONNECTION = reverse("admin:alm_almconnection_add")
FUZZ = hypothesis_settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

HOSTILE = {
    "empty": "",
    "whitespace": " \t\r\n  ",
    "100 KB": "A" * 100_000,
    "NUL": "abc\x00def",
    "only NUL": "\x00",
    "control characters": "abc\x01\x07\x1b[31mdef",
    "header injection": "abcdef\r\nX-Injected: yes",
    "right-to-left override": "\u202eabcdefgh",
    "right-to-left mark": "abcd\u200fefgh",
    "zero-width space": "abcd\u200befgh",
    "byte order mark": "\ufeffabcdefgh",
    "emoji": "🔑🔓💥" * 8,
    "HTML": "<b>bold</b><img src=x onerror=alert(1)>",
    "script": "<script>alert('pwned')</script>",
    "SQL": "' OR '1'='1'; DROP TABLE profiles_almcredential; --",
    "javascript URL": "javascript:alert(document.cookie)",
    "file URL": "file:///etc/passwd",
    "data URL": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "format string": "%(token)s{0}{token}%s%n",
    "template tag": "{{ settings.SECRET_KEY }}{% debug %}",
}
# Where a Services connection must never point, whatever the DNS says: cloud metadata, private networks,
# link-local, loopback in disguise, and URLs that hide another host behind a user name.
SSRF_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "https://169.254.169.254/fabrikam",
    "https://10.0.0.5/fabrikam",
    "https://172.16.3.4/fabrikam",
    "https://192.168.1.10/fabrikam",
    "https://100.64.0.1/fabrikam",
    "https://[fe80::1]/fabrikam",
    "https://[fd00::1]/fabrikam",
    "https://0.0.0.0/fabrikam",
    "https://metadata.google.internal/fabrikam",
    "https://dev.azure.com@169.254.169.254/fabrikam",
    "https://dev.azure.com.evil.example/fabrikam",
    "https://169.254.169.254.visualstudio.com/fabrikam",
    "https://dev.azure.com:8443/fabrikam",
    "http://dev.azure.com/fabrikam",
]
# Loopback spelled so that a naive check misses it; refused whenever loopback is not allowed (production).
LOOPBACK_IN_DISGUISE = [
    "https://127.0.0.1/DefaultCollection",
    "https://127.1/DefaultCollection",
    "https://2130706433/DefaultCollection",
    "https://0x7f000001/DefaultCollection",
    "https://0177.0.0.1/DefaultCollection",
    "https://0.0.0.0/DefaultCollection",
    "https://[::1]/DefaultCollection",
    "https://[::ffff:127.0.0.1]/DefaultCollection",
    "https://localhost/DefaultCollection",
    "https://localhost./DefaultCollection",
]


def could_be_a_token(value: str) -> bool:
    """Printable ASCII without spaces, of a sane length: only such a value is worth asking Azure DevOps about."""
    core = value.strip()
    return 0 < len(core) <= MAX_TOKEN_LENGTH and core.isascii() and core.isprintable() and " " not in core


def visible_forms(value: str) -> list[str]:
    """How an echoed value would look in a page: as is, or HTML-escaped (only values long enough to be telling)."""
    core = value.strip()
    if len(core) < 6:
        return []
    return [core, html.escape(core), html.escape(core, quote=False)]


def assert_clean_refusal(response, value: str) -> None:
    """A 4xx, or a page with an error on it; never a 500, a traceback or the value itself."""
    assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR, response.status_code
    body = response.content.decode()
    assert "Traceback" not in body
    for form in visible_forms(value):
        assert form not in body
    if response.status_code == HTTPStatus.OK:
        assert re.search(r'class="(field-error|errornote|errorlist|result result-bad)', body), body[:500]


# --- The token on ALM Credentials ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("action", ["test", "save", "save_unverified"])
@pytest.mark.parametrize("fetch", [False, True], ids=["page", "fetch"])
def test_hostile_token_on_alm_credentials_gets_a_form_error(alice_client, alice, connection, ado, value, action, fetch):
    ado.clear_requests()
    headers = {"X-Requested-With": "fetch"} if fetch else {}

    response = alice_client.post(
        CREDENTIALS, {"connection": connection.pk, "token": value, "action": action}, headers=headers
    )

    assert response.status_code == HTTPStatus.OK
    assert_clean_refusal(response, value)
    assert not AlmCredential.objects.filter(user=alice).exists()
    if not could_be_a_token(value):
        assert ado.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"connection": "abc"},
        {"connection": ""},
        {"connection": "-1"},
        {"connection": "99999999999999999999999"},
        {"connection": "1 OR 1=1"},
        {"action": "delete"},
        {"action": "<script>alert(1)</script>"},
        {"connection": "abc", "token": "has a space"},
    ],
    ids=lambda data: repr(data),
)
@pytest.mark.parametrize("fetch", [False, True], ids=["page", "fetch"])
def test_tampered_hidden_fields_are_a_bad_request(alice_client, alice, connection, ado, data, fetch):
    ado.clear_requests()
    posted = {"connection": connection.pk, "token": "a" * 52, "action": "test", **data}
    headers = {"X-Requested-With": "fetch"} if fetch else {}

    response = alice_client.post(CREDENTIALS, posted, headers=headers)

    assert response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND)
    assert ado.requests == []
    assert not AlmCredential.objects.filter(user=alice).exists()


@pytest.mark.django_db
def test_undecodable_bytes_in_the_form_are_answered_not_crashed(alice_client, connection):
    body = f"connection={connection.pk}&action=save&token=%FF%FE%00%C0%AF".encode()

    response = alice_client.post(CREDENTIALS, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == HTTPStatus.OK
    assert_clean_refusal(response, "")


@pytest.mark.django_db
@FUZZ
@given(token=st.text(st.characters(exclude_categories=("Cs",)), max_size=600))
def test_fuzzed_token_never_breaks_the_page(alice_client, connection, settings, token):
    settings.ALM_CREDENTIAL_RATE_LIMIT = 1_000_000

    response = alice_client.post(CREDENTIALS, {"connection": connection.pk, "token": token, "action": "test"})

    assert response.status_code == HTTPStatus.OK
    body = response.content.decode()
    assert "Traceback" not in body
    if len(token.strip()) >= 8:
        assert html.escape(token.strip()) not in body


@FUZZ
@given(token=st.text(max_size=700), action=st.sampled_from(["test", "save", "save_unverified"]))
def test_token_form_accepts_only_what_can_be_a_token(token, action):
    form = TokenForm({"connection": "1", "token": token}, action=action)

    if form.is_valid():
        cleaned = form.cleaned_data["token"]
        assert cleaned == token.strip()
        assert cleaned or action == "test"
        assert len(cleaned) <= MAX_TOKEN_LENGTH
        assert cleaned.isascii()
        assert cleaned.isprintable()
        assert " " not in cleaned
    else:
        assert "token" in form.errors
        if len(token.strip()) >= 6:
            assert token.strip() not in str(form.errors)


# --- The ALM connection in the admin: URL and service account token ---------------------------------


def connection_form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Hostile",
        "kind": "services",
        "url": "https://dev.azure.com/fabrikam",
        "default_project": "Fabrikam Fiber",
        "token": "a" * 52,
        "allow_service_account_fallback": "on",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("kind", ["services", "server"])
def test_hostile_url_in_the_admin_gets_a_form_error(admin_client, ado, value, kind):
    ado.clear_requests()

    response = admin_client.post(ADD_CONNECTION, connection_form(url=value, kind=kind))

    assert response.status_code == HTTPStatus.OK
    assert_clean_refusal(response, "")
    assert "<script>" not in response.content.decode()
    assert not AlmConnection.objects.exists()
    assert ado.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_service_token_in_the_admin_gets_a_form_error(admin_client, ado, value):
    ado.clear_requests()

    response = admin_client.post(ADD_CONNECTION, connection_form(url=ado.org_url("fabrikam"), token=value))

    assert response.status_code == HTTPStatus.OK
    assert_clean_refusal(response, value)
    assert not AlmConnection.objects.exists()
    if not could_be_a_token(value):
        assert ado.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize("url", SSRF_URLS)
def test_services_connection_never_points_at_a_private_or_link_local_address(admin_client, ado, url):
    ado.clear_requests()

    response = admin_client.post(ADD_CONNECTION, connection_form(url=url))

    assert response.status_code == HTTPStatus.OK
    assert_clean_refusal(response, "")
    assert not AlmConnection.objects.exists()


@pytest.mark.parametrize("url", SSRF_URLS + LOOPBACK_IN_DISGUISE)
def test_services_url_refuses_private_link_local_and_loopback_addresses(url):
    with pytest.raises(ValidationError):
        normalize_connection_url(url, kind="services", allow_insecure_server=True, allow_loopback_http=False)


@pytest.mark.parametrize("url", LOOPBACK_IN_DISGUISE)
def test_server_url_refuses_loopback_in_any_spelling_outside_development(url):
    with pytest.raises(ValidationError) as caught:
        normalize_connection_url(url, kind="server", allow_insecure_server=True, allow_loopback_http=False)

    assert caught.value.code == "loopback"


@FUZZ
@given(url=st.text(max_size=300), kind=st.sampled_from(["services", "server"]), loopback=st.booleans())
def test_fuzzed_url_is_normalized_or_refused_with_a_validation_error(url, kind, loopback):
    try:
        normalized = normalize_connection_url(url, kind=kind, allow_loopback_http=loopback)
    except ValidationError:
        return
    assert normalize_connection_url(normalized, kind=kind, allow_loopback_http=loopback) == normalized
    assert "@" not in normalized.split("/")[2]
    assert not any(char.isspace() for char in normalized)


HOSTS = st.one_of(
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
    st.sampled_from(["dev.azure.com", "fabrikam.visualstudio.com", "localhost", "evil.example", "metadata"]),
    st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,3}", fullmatch=True),
)


@FUZZ
@given(
    scheme=st.sampled_from(["https", "http", "ftp", "javascript", "file", "data", ""]),
    userinfo=st.sampled_from(["", "user@", "user:pass@", "dev.azure.com@"]),
    host=HOSTS,
    port=st.sampled_from(["", ":443", ":8080", ":0", ":99999", ":x"]),
    path=st.sampled_from(["", "/", "/fabrikam", "/tfs/DefaultCollection", "/_apis", "/a/b/c/d"]),
)
def test_fuzzed_services_url_only_ever_names_azure_devops(scheme, userinfo, host, port, path):
    url = f"{scheme}://{userinfo}{host}{port}{path}" if scheme else f"{userinfo}{host}{port}{path}"
    try:
        normalized = normalize_connection_url(url, kind="services", allow_loopback_http=False)
    except ValidationError:
        return
    assert re.fullmatch(r"https://(dev\.azure\.com/[A-Za-z0-9-]+|[a-z0-9-]+\.visualstudio\.com)", normalized)


@pytest.mark.django_db
@FUZZ
@given(
    name=st.text(max_size=120),
    url=st.text(max_size=120),
    project=st.text(max_size=300),
    token=st.text(max_size=600),
    kind=st.text(max_size=10) | st.sampled_from(["services", "server"]),
)
def test_fuzzed_connection_form_validates_without_raising(name, url, project, token, kind):
    # Without a token checker the form only validates: no network, as the style demands.
    form = AlmConnectionForm(data={"name": name, "kind": kind, "url": url, "default_project": project, "token": token})

    if form.is_valid():
        assert form.cleaned_data["kind"] in ("services", "server")
        assert form.instance.url.startswith(("https://", "http://"))
    else:
        assert form.errors
        if len(token.strip()) >= 6:
            assert token.strip() not in str(form.errors.get("token", ""))


# --- Numbers in URLs ------------------------------------------------------------------------------------

OUT_OF_RANGE = ["0", "2147483648", "9223372036854775808", "99999999999999999999999"]


@pytest.mark.django_db
@pytest.mark.parametrize("number", OUT_OF_RANGE)
@pytest.mark.parametrize("method", ["get", "post"])
def test_out_of_range_numbers_in_urls_are_not_found(alice_client, alice_credential, ado, number, method):
    paths = [
        f"/work-items/{number}/",
        f"/work-items/{number}/delete/",
        f"/profile/alm-credentials/{number}/remove/",
    ]
    data = {"title": "Renamed", "state": "To Do", "rev": "1", "actor": "user"}

    answers = {path: getattr(alice_client, method)(path, data if method == "post" else None) for path in paths}

    assert {path: r.status_code for path, r in answers.items() if r.status_code != HTTPStatus.NOT_FOUND} == {}


@pytest.mark.django_db
@pytest.mark.parametrize("number", OUT_OF_RANGE)
def test_out_of_range_numbers_in_admin_urls_are_answered(admin_client, connection, number):
    paths = [
        path.replace("/1/", f"/{number}/")
        for path in (
            "/admin/alm/almconnection/1/change/",
            "/admin/alm/almconnection/1/test/",
            "/admin/alm/almconnection/1/delete/",
            "/admin/alm/almconnection/1/history/",
            "/admin/workitems/auditrecord/1/change/",
            "/admin/profiles/almcredential/1/change/",
            "/admin/auth/user/1/change/",
        )
    ]

    answers = {path: admin_client.post(path) for path in paths} | {path: admin_client.get(path) for path in paths}

    assert [path for path, r in answers.items() if r.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR] == []


@pytest.mark.django_db
def test_out_of_range_filters_on_the_work_item_list_are_answered(alice_client, alice_credential):
    for query in ("page=99999999999999999999", "per_page=99999999999", "page=-1", "type=<script>", "state=%00"):
        response = alice_client.get(f"/work-items/?{query}")

        assert response.status_code == HTTPStatus.OK, query
        assert "<script>" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("rev", ["0", "-1", "abc", "99999999999999999999999", ""])
@pytest.mark.parametrize("title", ["", "x" * 300, "Nul\x00title", "<script>alert(1)</script>"])
def test_hostile_edit_form_gets_a_form_error(alice_client, alice_credential, ado, rev, title):
    response = alice_client.post("/work-items/1/", {"title": title, "state": "To Do", "rev": rev, "actor": "user"})

    assert response.status_code == HTTPStatus.OK
    assert_clean_refusal(response, "")
    assert "<script>alert(1)</script>" not in response.content.decode()


@pytest.mark.django_db
def test_overlong_service_token_is_refused_before_it_travels(admin_client, ado):
    # The emulator, like many servers, cannot even log a 100 KB header: the form must not send one.
    response = admin_client.post(ADD_CONNECTION, connection_form(url=ado.org_url("fabrikam"), token="A" * 100_000))

    assert response.status_code == HTTPStatus.OK
    assert f"at most {MAX_TOKEN_LENGTH} characters" in response.content.decode()
    assert "HTTP 431" not in response.content.decode()


# --- Where a redirect may lead ---------------------------------------------------------------------------

FOREIGN_TARGETS = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https:evil.example",
    "/%09/evil.example",
    "\x00https://evil.example",
]


def stays_on_site(location: str) -> bool:
    """A path on this site: no scheme, no host, nothing a browser would read as another host."""
    parts = urlsplit(location)
    return not parts.scheme and not parts.netloc and location.startswith("/") and not location.startswith(("//", "/\\"))


@pytest.mark.django_db
@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_banner_dismissal_never_redirects_off_site(alice_client, connection, target):
    response = alice_client.post(reverse("dismiss_banner"), {"state": "<script>" * 20, "next": target})

    assert response.status_code == HTTPStatus.FOUND
    assert stays_on_site(response["Location"]), response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_sign_in_never_redirects_off_site(client, alice, password, target):
    response = client.post(reverse("login"), {"username": "alice", "password": password, "next": target})

    assert response.status_code == HTTPStatus.FOUND
    assert stays_on_site(response["Location"]), response["Location"]
