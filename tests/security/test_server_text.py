"""Text from Azure DevOps reaches pages and logs without the token in any form or any 8-character piece of it,
and no answer, however deeply nested, is a 500."""

from __future__ import annotations

import base64
import logging
from http import HTTPStatus
from urllib.parse import quote

import pytest
from django.urls import reverse

from alm.client import AdoClient
from alm.exceptions import RequestRejected, ServiceFailing, UnexpectedAnswer
from alm.transport import AddressPolicy
from tests.helpers import text_of
from tests.security import hostile
from tests.security.support import move_connection

LOOPBACK = AddressPolicy(allow_loopback=True)
TOKEN = "7kq2m4xw9p3n5r8t6v2b4c7d9f3h5j8l2n4p6r8t3v5x7z9b2d4f"  # the shape of a PAT, not a real one


def pieces(token: str) -> list[str]:
    """Every 8-character run of every form of the token (a scrubbed text holds none of them)."""
    forms = [
        token,
        quote(token, safe=""),
        base64.b64encode(token.encode()).decode(),
        base64.b64encode(f":{token}".encode()).decode(),
        base64.urlsafe_b64encode(f":{token}".encode()).decode(),
    ]
    return [form[start : start + 8] for form in forms for start in range(len(form) - 7)]


def leaked(text: str) -> list[str]:
    return [piece for piece in pieces(TOKEN) if piece in text]


def client_for(port: int, token: str = TOKEN) -> AdoClient:
    return AdoClient(f"http://127.0.0.1:{port}/fabrikam", token, timeout=2.0, addresses=LOOPBACK)


def error_saying(message: str, *, status: int = 400, content_type: str = "application/json"):
    body = hostile.json_body({"message": message}) if content_type == "application/json" else message.encode()
    return hostile.answering(lambda _line: (status, {"Content-Type": content_type}, body))


ECHOES = {
    "token straddling the cut at 500": "x" * 480 + TOKEN,
    "token at the very end, cut": "Bad request: " + "y" * 470 + TOKEN,
    "basic header straddling the cut": "z" * 470 + "Basic " + base64.b64encode(f":{TOKEN}".encode()).decode(),
    "base64 of the token": "got " + base64.b64encode(TOKEN.encode()).decode(),
    "url-safe base64 without padding": "got " + base64.urlsafe_b64encode(f":{TOKEN}".encode()).decode().rstrip("="),
    "first 20 characters": f"token {TOKEN[:20]}... is invalid",
    "first 8 characters": f"token starting {TOKEN[:8]} is invalid",
    "percent-encoded": "see ?pat=" + quote(TOKEN, safe=""),
}


@pytest.mark.parametrize("echo", list(ECHOES))
@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_server_error_text_reaches_the_message_without_any_piece_of_the_token(echo, content_type):
    behaviour = error_saying(ECHOES[echo], content_type=content_type)
    with hostile.hostile_server(behaviour) as port, pytest.raises(RequestRejected) as caught:
        client_for(port).connection_data()

    assert leaked(caught.value.message) == []
    assert leaked(repr(caught.value)) == []
    assert "<redacted>" in caught.value.message


def test_scrubbing_keeps_the_rest_of_the_server_text():
    behaviour = error_saying(f"TF400813: token {TOKEN} is not authorized here.")
    with hostile.hostile_server(behaviour) as port, pytest.raises(RequestRejected) as caught:
        client_for(port).connection_data()

    assert "TF400813: token <redacted> is not authorized here." in caught.value.message


def test_a_service_location_holding_the_token_is_logged_without_it(caplog):
    areas = {
        "count": 1,
        "value": [{"id": "1", "name": "Tokens", "locationUrl": f"https://evil.example/{TOKEN}/?basic=" + TOKEN[:12]}],
    }

    def route(line: str):
        if "ResourceAreas" in line:
            return 200, {"Content-Type": "application/json"}, hostile.json_body(areas)
        return 404, {"Content-Type": "application/json"}, hostile.json_body({"message": "not here"})

    caplog.set_level(logging.DEBUG)
    with hostile.hostile_server(hostile.answering(route)) as port:
        client = client_for(port)
        assert client._area_base("tokens") == client.url  # the foreign location is ignored...

    assert "Ignoring service location" in caplog.text  # ...and logged, without the token
    assert leaked(caplog.text) == []


DEEP = b"[" * 200_000 + b"]" * 200_000


@pytest.mark.parametrize(
    ("status", "error"), [(200, UnexpectedAnswer), (400, RequestRejected), (500, ServiceFailing)]
)
def test_deeply_nested_json_is_the_client_s_own_error_never_a_crash(status, error):
    behaviour = hostile.answering(lambda _line: (status, {"Content-Type": "application/json"}, DEEP))
    with hostile.hostile_server(behaviour) as port, pytest.raises(error) as caught:
        client_for(port).connection_data()

    if status == 200:
        assert "nested too deeply" in caught.value.message


@pytest.mark.django_db
def test_deeply_nested_json_on_test_connection_and_work_items_is_a_page_not_a_500(
    alice_client, alice_credential, connection, alice_pat
):
    behaviour = hostile.answering(lambda _line: (200, {"Content-Type": "application/json"}, DEEP))
    with hostile.hostile_server(behaviour) as port:
        move_connection(connection, f"http://127.0.0.1:{port}/fabrikam")
        test = alice_client.post(
            reverse("alm_credentials"), {"connection": connection.pk, "token": alice_pat, "action": "test"}
        )
        listing = alice_client.get(reverse("work_items"))

    assert test.status_code == HTTPStatus.OK
    assert "nested too deeply" in text_of(test.content.decode())
    assert listing.status_code == HTTPStatus.BAD_GATEWAY
    assert "nested too deeply" in text_of(listing.content.decode())


def test_headers_echoing_the_token_are_logged_and_kept_without_it(caplog):
    """ActivityId (shown for support) and the rate-limit headers (logged) are server text too."""
    me = {"authenticatedUser": {"id": "0f2a5b6c-0000-4000-8000-000000000001", "providerDisplayName": "Someone"}}
    headers = {
        "Content-Type": "application/json",
        "ActivityId": TOKEN,
        "X-RateLimit-Resource": f"Basic {base64.b64encode(f':{TOKEN}'.encode()).decode()}",
        "X-RateLimit-Delay": TOKEN[:12],
    }
    caplog.set_level(logging.DEBUG)
    with hostile.hostile_server(hostile.answering(lambda _line: (200, headers, hostile.json_body(me)))) as port:
        client = client_for(port)
        client.connection_data()

    assert "rate limit warning" in caplog.text
    assert leaked(caplog.text) == []
    assert leaked(client.last_activity_id or "") == []
