"""A hostile "Azure DevOps" on loopback for the security suite: it answers what a test scripts, or trickles.

Real sockets, as the emulator: the client under test goes through its whole transport.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

# What a connection does once accepted: given the socket and a stop event.
Behaviour = Callable[[socket.socket, threading.Event], None]


@contextmanager
def hostile_server(behaviour: Behaviour) -> Iterator[int]:
    """A loopback listener running `behaviour` on every connection; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve(conn: socket.socket) -> None:
        try:
            behaviour(conn, stop)
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=2)
        for conn in connections:
            with suppress(OSError):
                conn.close()


def read_request(conn: socket.socket) -> str:
    """Read one request's head (and a body as long as Content-Length says); returns the request line."""
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return ""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.split(b"\r\n", 1)[0].decode("latin-1")


def trickle(conn: socket.socket, stop: threading.Event, data: bytes, *, seconds: float = 1.0) -> None:
    """Send `data` one byte every `seconds`, until it is sent or the test is over."""
    for byte in data:
        if stop.wait(seconds):
            return
        conn.sendall(bytes([byte]))


def slow_headers(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    trickle(conn, stop, b"X-Slow: " + b"a" * 120 + b"\r\n\r\n")


def slow_body(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
    trickle(conn, stop, b'"a":"' + b"a" * 190 + b'"}')


def slow_chunked_body(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    trickle(conn, stop, b"".join(b"1\r\n \r\n" for _ in range(100)))


def slow_tls_handshake(conn: socket.socket, stop: threading.Event) -> None:
    conn.settimeout(5)
    conn.recv(65536)  # the ClientHello
    # A TLS handshake record announcing 16 KB, then its bytes one a second: OpenSSL waits for the record.
    conn.sendall(b"\x16\x03\x03\x40\x00")
    trickle(conn, stop, b"\x02" * 200)


def answering(route: Callable[[str], tuple[int, dict[str, str], bytes]]) -> Behaviour:
    """Answer every request (keep-alive) with route(request line) -> (status, headers, body)."""

    def behave(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            line = read_request(conn)
            if not line:
                return
            status, headers, body = route(line)
            head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
            head += [f"{name}: {value}" for name, value in headers.items()]
            conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    return behave


def json_body(data: object) -> bytes:
    return json.dumps(data).encode()
