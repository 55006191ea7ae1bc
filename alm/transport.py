"""The client's network layer: which addresses a call may connect to, and a deadline no server can stretch.

No Django imports (the client runs anywhere); the policy comes in from the caller.

Addresses. A connection URL names a host; what matters is the address it resolves to when the call
connects. `GuardedAdapter` resolves the host itself, checks every address it gets (an IPv6 address
carrying an IPv4 one, such as ::ffff:127.0.0.1, ::127.0.0.1, 64:ff9b::7f00:1 (NAT64), 6to4 and Teredo, is
checked for both), refuses the call if any of them is not allowed, and connects to the very address it
checked: DNS cannot answer differently between the check and the connection. TLS still verifies the
certificate against the host name.

Deadline. A read timeout bounds each silence, not a call: a server sending one byte a second never
trips it. While `deadline(at)` is active in a thread, every connect, TLS handshake, send and receive
of that thread's calls gets a socket timeout of at most the time left, so the whole call ends by `at`
whatever the server does. Hand-written because neither requests nor urllib3 offers a total deadline.

Sessions. `SessionOwner` is what the Azure DevOps and Entra ID clients share: each owns one requests
session, which `close()` (or the end of a `with` block) closes.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

if TYPE_CHECKING:
    import requests

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 prefixes whose last 32 bits are an IPv4 address (RFC 6052 NAT64, well-known and local-use).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


class AddressNotAllowed(NewConnectionError):
    """The host resolves to an address the policy refuses (loopback, private, link-local, reserved...)."""

    def __init__(self, conn: Any, kind: str) -> None:
        self.kind = kind
        # The message names neither the address nor the port: it reaches people through the client's errors.
        super().__init__(conn, f"refused to connect: the host resolves to a {kind} address")


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public addresses a connection may reach. The default: public addresses only."""

    allow_loopback: bool = False
    allow_private: bool = False

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` may not be connected to ("loopback", "private", "link-local"...), or None."""
        for candidate in addresses_within(address):
            kind = _kind(candidate)
            if kind == "loopback" and self.allow_loopback:
                continue
            if kind == "private" and self.allow_private:
                continue
            if kind != "public":
                return kind
        return None


PUBLIC_ONLY = AddressPolicy()


def _kind(address: IPAddress) -> str:
    if address.is_loopback or address.is_unspecified:  # 0.0.0.0 and :: reach this host too
        return "loopback"
    if address.is_link_local:  # 169.254.169.254 is the cloud metadata service
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private or not address.is_global:  # RFC 1918, fc00::/7, 100.64.0.0/10, documentation...
        return "private"
    return "public"


def addresses_within(address: IPAddress) -> list[IPAddress]:
    """What `address` reaches: an IPv6 address carrying an IPv4 one is that IPv4 address (a router delivers it
    there); 6to4 and Teredo addresses are checked as themselves and as the IPv4 addresses they hold."""
    if not isinstance(address, ipaddress.IPv6Address) or address.is_loopback or address.is_unspecified:
        return [address]
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped or int(address) >> 32 == 0 or any(address in network for network in _NAT64):
        return [low]  # ::ffff:a.b.c.d, ::a.b.c.d (IPv4-compatible, deprecated), NAT64
    found: list[IPAddress] = [address]
    if address.sixtofour:
        found.append(address.sixtofour)
    if address.teredo:
        found.extend(address.teredo)
    return found


# --- The deadline of the calls of this thread ----------------------------------------------------

_local = threading.local()


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Bound every socket operation of this thread's calls by `at` (a time.monotonic() value)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = at
    try:
        yield
    finally:
        _local.deadline = previous


def _time_left() -> float | None:
    at = getattr(_local, "deadline", None)
    return None if at is None else at - time.monotonic()


def _bounded(wanted: float | None) -> float | None:
    """The socket timeout to use now: what urllib3 asked for, cut to the time left."""
    left = _time_left()
    if left is None:
        return wanted
    if left <= 0:
        raise TimeoutError("the call's deadline has passed")
    return left if wanted is None else min(wanted, left)


class _Deadline:
    """Every blocking operation of the socket it is mixed into ends by the thread's deadline."""

    _wanted: float | None = None

    def settimeout(self, value: float | None) -> None:
        self._wanted = value
        super().settimeout(value)  # type: ignore[misc]

    def _arm(self) -> None:
        socket.socket.settimeout(self, _bounded(self._wanted))  # type: ignore[arg-type]

    def recv(self, *args: Any) -> bytes:
        self._arm()
        return super().recv(*args)  # type: ignore[misc]

    def recv_into(self, *args: Any) -> int:
        self._arm()
        return super().recv_into(*args)  # type: ignore[misc]

    def send(self, *args: Any) -> int:
        self._arm()
        return super().send(*args)  # type: ignore[misc]

    def sendall(self, *args: Any) -> None:
        self._arm()
        super().sendall(*args)  # type: ignore[misc]


class _DeadlineSocket(_Deadline, socket.socket):
    """A plain socket under the deadline."""


class _DeadlineSSLSocket(_Deadline, ssl.SSLSocket):
    """A TLS socket under the deadline: its reads and writes also go through OpenSSL's read and write."""

    def read(self, *args: Any) -> Any:
        self._arm()
        return super().read(*args)

    def write(self, *args: Any) -> int:
        self._arm()
        return super().write(*args)


def _resolve(host: str, port: int, timeout: float | None) -> list[tuple[Any, ...]]:
    """getaddrinfo within `timeout` (the resolver has no timeout of its own; a stuck one is left behind)."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["found"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=run, name="alm-resolve", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError("name resolution took too long")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["found"]


class _GuardedConnectionMixin:
    """urllib3 connection whose socket goes only to checked addresses, and keeps the thread's deadline."""

    policy: AddressPolicy = AddressPolicy()

    def _new_conn(self) -> socket.socket:
        conn: Any = self
        try:
            limit = _bounded(conn.timeout if isinstance(conn.timeout, (int, float)) else None)
            found = _resolve(conn._dns_host, conn.port, limit)
        except TimeoutError as error:
            raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out.") from error
        except OSError as error:  # socket.gaierror and the resolver's other failures
            raise NameResolutionError(conn.host, conn, error) from error  # type: ignore[arg-type]
        addresses = []
        for family, type_, proto, _name, sockaddr in found:
            address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
            kind = self.policy.refusal(address)
            if kind is not None:
                raise AddressNotAllowed(conn, kind)  # any refused address refuses the host
            addresses.append((family, type_, proto, sockaddr))
        last: OSError | None = None
        for family, type_, proto, sockaddr in addresses:
            sock = _DeadlineSocket(family, type_, proto)
            try:
                for option in conn.socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(conn.timeout if isinstance(conn.timeout, (int, float)) else None)
                sock._arm()
                sock.connect(sockaddr)  # the checked address itself, never the name again
            except TimeoutError as error:
                sock.close()
                raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out.") from error
            except OSError as error:
                sock.close()
                last = error
                continue
            return sock
        raise NewConnectionError(conn, f"Failed to establish a new connection: {last}") from last


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    def connect(self) -> None:
        super().connect()  # the TLS handshake runs within the raw socket's (bounded) timeout
        sock = self.sock
        if isinstance(sock, ssl.SSLSocket) and not isinstance(sock, _DeadlineSSLSocket):
            wanted = sock.gettimeout()
            sock.__class__ = _DeadlineSSLSocket
            sock._wanted = wanted  # type: ignore[attr-defined]


class GuardedAdapter(HTTPAdapter):
    """requests' adapter with the address policy and the deadline on every connection it opens."""

    def __init__(self, *, policy: AddressPolicy, **kwargs: Any) -> None:
        self.policy = policy  # read by init_poolmanager, which HTTPAdapter.__init__ calls
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.policy)


_pool_classes_cache: dict[AddressPolicy, dict[str, type]] = {}


def _pool_classes(policy: AddressPolicy) -> dict[str, type]:
    """HTTP and HTTPS pool classes whose connections follow `policy` (built once per policy)."""
    if policy not in _pool_classes_cache:
        http = type("GuardedHTTPConnection", (_GuardedHTTPConnection,), {"policy": policy})
        https = type("GuardedHTTPSConnection", (_GuardedHTTPSConnection,), {"policy": policy})
        _pool_classes_cache[policy] = {
            "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
    return _pool_classes_cache[policy]


class SessionOwner:
    """A client that owns one requests session: `close()` closes it, and so does the end of `with client:`."""

    _session: requests.Session

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
