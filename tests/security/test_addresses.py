"""Where a call may connect: the address a host resolves to is checked when the call connects, every address, in
every IPv6 disguise; Azure DevOps Services only on public addresses, Server on private ones only when allowed."""

from __future__ import annotations

import ipaddress
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from alm.client import AdoClient
from alm.connection_urls import address_policy, normalize_connection_url
from alm.exceptions import RequestTimedOut, ServiceFailing, Unreachable, message_for
from alm.transport import PUBLIC_ONLY, AddressPolicy
from tests.helpers import text_of
from tests.security.support import move_connection

NOT_PUBLIC = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "0.0.0.0": "loopback",  # noqa: S104 - an address to refuse, not one to bind
    "::1": "loopback",
    "::": "loopback",
    "::ffff:127.0.0.1": "loopback",
    "::127.0.0.1": "loopback",
    "64:ff9b::7f00:1": "loopback",
    "2002:7f00:1::": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "100.64.0.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "64:ff9b::a01:203": "private",
    "::ffff:10.1.2.3": "private",
    "169.254.169.254": "link-local",
    "fe80::1": "link-local",
    "::ffff:169.254.169.254": "link-local",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "reserved",
    "198.51.100.7": "private",  # documentation range: not on the internet
}
PUBLIC = ["13.107.42.20", "20.37.158.1", "2620:1ec:4::147", "64:ff9b::d6b:2a14", "::ffff:13.107.42.20"]


@pytest.mark.parametrize(("address", "kind"), NOT_PUBLIC.items())
def test_every_non_public_address_is_refused_by_default(address, kind):
    assert PUBLIC_ONLY.refusal(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address):
    assert PUBLIC_ONLY.refusal(ipaddress.ip_address(address)) is None


def test_private_setting_opens_private_ranges_only():
    policy = AddressPolicy(allow_private=True)
    assert policy.refusal(ipaddress.ip_address("10.1.2.3")) is None
    assert policy.refusal(ipaddress.ip_address("fd12:3456::1")) is None
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) == "loopback"
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) == "link-local"
    assert policy.refusal(ipaddress.ip_address("224.0.0.1")) == "multicast"


def test_private_addresses_are_for_azure_devops_server_only_and_only_when_allowed(settings):
    settings.ALM_ALLOW_PRIVATE_SERVER_ADDRESSES = False
    assert not address_policy("server").allow_private
    settings.ALM_ALLOW_PRIVATE_SERVER_ADDRESSES = True
    assert address_policy("server").allow_private
    assert not address_policy("services").allow_private


LOOPBACK_SPELLINGS = [
    "localhost",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_client_refuses_loopback_in_every_spelling_before_sending_anything(ado, host):
    port = ado.base_url.rsplit(":", 1)[1]
    ado.clear_requests()
    client = AdoClient(f"http://{host}:{port}/fabrikam", "a" * 52, timeout=2.0, kind="server")

    with pytest.raises(Unreachable) as caught:
        client.connection_data()

    assert caught.value.reason == "address"
    assert ado.requests == []


@pytest.mark.parametrize("host", ["foo.localhost", "[::127.0.0.1]", "[64:ff9b::7f00:1]", "127.1", "sub.LOCALHOST."])
def test_form_refuses_loopback_names_and_disguised_addresses(host):
    with pytest.raises(ValidationError) as caught:
        normalize_connection_url(f"https://{host}/tfs/DefaultCollection", kind="server")
    assert caught.value.code == "loopback"


@pytest.mark.django_db
def test_admin_test_of_a_connection_on_a_refused_address_says_so_and_sends_nothing(
    admin_client, connection, ado, settings
):
    settings.ALM_ALLOW_LOOPBACK_HTTP = False  # production: the emulator's loopback address is off limits
    port = ado.base_url.rsplit(":", 1)[1]
    move_connection(connection, f"http://localhost:{port}/fabrikam")
    ado.clear_requests()

    response = admin_client.post(reverse("admin:alm_almconnection_test", args=[connection.pk]), follow=True)

    assert response.status_code == HTTPStatus.OK
    assert "loopback, private, link-local or reserved address" in text_of(response.content.decode())
    assert ado.requests == []


@pytest.mark.django_db
def test_emulator_on_loopback_works_when_loopback_is_allowed(alice_client, connection, settings):
    settings.ALM_ALLOW_LOOPBACK_HTTP = True
    assert alice_client.get(reverse("work_items")).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    "error",
    [
        Unreachable("refused", url="https://tfs.example:8443"),
        Unreachable("tls", url="https://tfs.example:8443"),
        Unreachable("dns", url="https://tfs.example:8443"),
        Unreachable("connection_lost", url="https://tfs.example:8443"),
        Unreachable("address", url="https://tfs.example:8443"),
        RequestTimedOut(10, url="https://tfs.example:8443"),
    ],
    ids=lambda error: getattr(error, "reason", "timeout"),
)
def test_staff_who_are_not_superusers_get_one_message_for_every_connection_failure(error):
    shown = message_for(error, detailed=False)

    assert shown == (
        "Cannot connect to Azure DevOps at https://tfs.example:8443. Check the URL; a superuser can test the "
        "connection to see the cause."
    )
    assert message_for(error, detailed=True) == error.message


def test_other_failures_keep_their_own_words_for_everyone():
    error = ServiceFailing(503, "maintenance")
    assert message_for(error, detailed=False) == error.message
