"""Every call to Azure DevOps ends within ALM_HTTP_TIMEOUT + 1 s whatever the server does: headers, body or TLS
handshake sent one byte a second, a silent server, a name that takes long to resolve."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
from django.urls import reverse

from alm.client import AdoClient
from alm.exceptions import RequestTimedOut, Throttled
from alm.transport import AddressPolicy
from tests.helpers import text_of
from tests.security import hostile
from tests.security.support import move_connection

TIMEOUT = 1.0
BUDGET = TIMEOUT + 1.0
LOOPBACK = AddressPolicy(allow_loopback=True)

TRICKLES = {
    "headers": ("http", hostile.slow_headers),
    "body": ("http", hostile.slow_body),
    "chunked body": ("http", hostile.slow_chunked_body),
    "tls handshake": ("https", hostile.slow_tls_handshake),
}


@pytest.mark.parametrize("phase", list(TRICKLES))
def test_a_server_trickling_one_byte_a_second_is_cut_off_at_the_timeout(phase):
    scheme, behaviour = TRICKLES[phase]
    with hostile.hostile_server(behaviour) as port:
        client = AdoClient(f"{scheme}://127.0.0.1:{port}/fabrikam", "a" * 52, timeout=TIMEOUT, addresses=LOOPBACK)
        started = time.monotonic()
        with pytest.raises(RequestTimedOut) as caught:
            client.connection_data()
        elapsed = time.monotonic() - started

    assert elapsed <= BUDGET, f"{phase}: {elapsed:.2f} s"
    assert "within 1 seconds" in caught.value.message


@pytest.mark.django_db
@pytest.mark.parametrize("phase", ["headers", "body", "tls handshake"])
def test_test_connection_page_answers_in_time_while_the_server_trickles(
    alice_client, alice, connection, alice_pat, settings, phase
):
    settings.ALM_HTTP_TIMEOUT = TIMEOUT
    settings.ALM_CREDENTIAL_RATE_LIMIT = 100
    scheme, behaviour = TRICKLES[phase]
    with hostile.hostile_server(behaviour) as port:
        move_connection(connection, f"{scheme}://127.0.0.1:{port}/fabrikam", kind="services")
        started = time.monotonic()
        response = alice_client.post(
            reverse("alm_credentials"), {"connection": connection.pk, "token": alice_pat, "action": "test"}
        )
        elapsed = time.monotonic() - started

    assert response.status_code == HTTPStatus.OK
    assert elapsed <= BUDGET, f"{phase}: {elapsed:.2f} s"
    assert "No answer from" in text_of(response.content.decode())


def test_a_throttled_read_and_its_retry_end_within_the_timeout_together():
    """A slow 429 asking for a short wait: the retry is made only when it can end in time, and gets what is left."""

    def slow_throttle(conn, stop):
        while not stop.is_set() and hostile.read_request(conn):
            if stop.wait(0.9):
                return
            conn.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0.8\r\nContent-Length: 0\r\n\r\n")

    with hostile.hostile_server(slow_throttle) as port:
        client = AdoClient(f"http://127.0.0.1:{port}/fabrikam", "a" * 52, timeout=TIMEOUT, addresses=LOOPBACK)
        started = time.monotonic()
        with pytest.raises(Throttled):
            client.connection_data()
        elapsed = time.monotonic() - started

    assert elapsed <= BUDGET, f"{elapsed:.2f} s"
