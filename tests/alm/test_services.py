"""Connection and token services: the client for a connection, checking tokens, storing the outcome."""

from __future__ import annotations

import pytest

from alm import services
from alm.exceptions import TokenRejected, TokenUnreadable
from alm.fields import UnreadableToken
from alm.models import AlmConnection
from tests.alm.conftest import PROJECT

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(ado, service_token) -> AlmConnection:
    return AlmConnection.objects.create(
        name="Fabrikam", url=ado.org_url("fabrikam"), service_token=service_token, default_project=PROJECT
    )


def test_check_connection_stores_the_outcome(connection):
    report = services.check_connection(connection=connection)

    connection.refresh_from_db()
    assert report.ok
    assert connection.last_test_ok is True
    assert connection.last_test_identity_name == report.identity.display_name
    assert connection.last_test_expires_on == report.expires_on
    assert connection.last_test_details["elapsed_ms"] == report.elapsed_ms
    assert connection.last_test_error == ""


def test_failed_check_stores_the_error_and_raises(ado, connection, service_token):
    ado.revoke_pat(service_token)

    with pytest.raises(TokenRejected):
        services.check_connection(connection=connection)

    connection.refresh_from_db()
    assert connection.last_test_ok is False
    assert "revoked" in connection.last_test_error
    assert connection.last_test_permissions == []


def test_user_token_check_stores_nothing_on_the_connection(connection, alice_token):
    report = services.check_token(connection=connection, token=alice_token)

    connection.refresh_from_db()
    assert report.identity.display_name == "Alice Example"
    assert connection.last_tested_at is None


def test_unreadable_service_token_says_so(connection):
    connection.service_token = UnreadableToken(b"ciphertext from another key")

    with pytest.raises(TokenUnreadable) as caught:
        services.client_for(connection=connection)

    assert "ALM_ENCRYPTION_KEY" in caught.value.message


def test_client_for_uses_the_configured_timeout(connection, settings):
    settings.ALM_HTTP_TIMEOUT = 1.5

    with services.client_for(connection=connection) as client:
        assert client.timeout == 1.5
        assert client.url == connection.url
