"""A minimal DNS client for the resolver stand-in: UDP first, TCP when the answer is truncated;
and a dnspython resolver that asks one local server, for tools that want dnspython's parsing."""

from __future__ import annotations

import secrets
import socket
import time
from typing import TYPE_CHECKING

from local.dns_sim.wire import Message, decode_message, encode_query

if TYPE_CHECKING:
    import dns.resolver

Address = tuple[str, int]
UPSTREAM_PAYLOAD = 1232


class UpstreamError(Exception):
    """No usable answer from a server (timeout, refused connection, garbage)."""


def _udp(data: bytes, query_id: int, server: Address, timeout_s: float) -> Message:
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(server)  # only the server's datagrams reach us (and ICMP errors do too)
        sock.send(data)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise UpstreamError(f"no answer from {server[0]}:{server[1]} over UDP")
            sock.settimeout(remaining)
            try:
                packet = sock.recv(65535)
            except TimeoutError:
                continue
            except OSError as exc:
                raise UpstreamError(f"{server[0]}:{server[1]}: {exc}") from None
            try:
                message = decode_message(packet)
            except ValueError:
                continue
            if message.qr and message.id == query_id:
                return message


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    buf = bytearray()
    while len(buf) < count:
        chunk = sock.recv(count - len(buf))
        if not chunk:
            raise UpstreamError("the server closed the TCP connection")
        buf += chunk
    return bytes(buf)


def _tcp(data: bytes, query_id: int, server: Address, timeout_s: float) -> Message:
    try:
        with socket.create_connection(server, timeout=timeout_s) as sock:
            sock.sendall(len(data).to_bytes(2, "big") + data)
            length = int.from_bytes(_recv_exact(sock, 2), "big")
            message = decode_message(_recv_exact(sock, length))
    except (OSError, ValueError) as exc:
        raise UpstreamError(f"{server[0]}:{server[1]} over TCP: {exc}") from None
    if not message.qr or message.id != query_id:
        raise UpstreamError(f"{server[0]}:{server[1]} answered another query over TCP")
    return message


def ask(qname: str, qtype: str, server: Address, *, timeout_s: float) -> Message:
    """One non-recursive query (RD clear), retried over TCP if the UDP answer is truncated."""
    query_id = secrets.randbits(16)
    data = encode_query(qname, qtype, query_id=query_id, rd=False, edns_payload=UPSTREAM_PAYLOAD)
    message = _udp(data, query_id, server, timeout_s)
    if message.tc:
        message = _tcp(data, query_id, server, timeout_s)
    return message


def resolver_at(server: Address, timeout_s: float) -> dns.resolver.Resolver:
    """A dnspython resolver asking only `server` (no /etc/resolv.conf, no cache), each query
    bounded by `timeout_s`."""
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [server[0]]
    resolver.port = server[1]
    resolver.timeout = resolver.lifetime = timeout_s
    resolver.cache = None
    return resolver
