"""A mail client for the local cloud: send over SMTP submission and read over IMAPS, as a
customer's sequencer would, to a mail host known only by its name.

Production clients resolve `mail.<domain>` and connect to ports 587 and 993 of that address.
Locally the address is a documentation-range IP nobody can route to, so the way there is:
the local DNS server answers the name's A record, the Hostwinds simulator's address book says
which loopback port plays that IP's port 587 or 993, and TLS is verified against the local CA
with the mail host's name as the server name - a certificate for any other name fails.

Every network step has a timeout. Passwords are never logged or shown in a repr.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import imaplib
import json
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import dns.exception
import httpx

from local.dns_sim.client import resolver_at
from local.mail_sim.tls import client_context
from local.polling import poll

SUBMISSION_PORT = 587
IMAPS_PORT = 993
DEFAULT_TIMEOUT_S = 5.0
# What the client calls itself in EHLO (smtplib would otherwise ask DNS for this machine's name).
CLIENT_NAME = "localhost"
POLICY = email.policy.default


class MailClientError(Exception):
    """Anything that kept the client from doing what it was asked."""


class EndpointNotFound(MailClientError):
    """The mail host's name or its port could not be resolved to a loopback endpoint."""


class ServiceUnavailable(MailClientError):
    """The server answered but does not serve now (SMTP 421, IMAP BYE): Mailu not running."""


class LoginRefused(MailClientError):
    """The server refused the address and password (wrong password, unknown or disabled
    user)."""


class MessageRefused(MailClientError):
    """The server refused the sender, a recipient or the message."""


@dataclass(frozen=True)
class MailRoute:
    """How the local cloud reaches a mail host by name: a DNS server (address, port) that
    answers the host's A record and the address book that maps that IP's ports to loopback."""

    dns_server: tuple[str, int]
    address_book_url: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    # The local CA's certificate when it is another process's (`up` serves it); None: this
    # process's own.
    ca_pem: bytes | None = field(default=None, repr=False)

    def tls(self) -> ssl.SSLContext:
        """What a certificate must chain to: the local CA, hostname checking on."""
        return client_context(self.ca_pem)

    def address_of(self, host_name: str) -> str:
        """The IPv4 address the DNS server gives `host_name`."""
        resolver = resolver_at(self.dns_server, self.timeout_s)
        try:
            answer = resolver.resolve(host_name, "A", search=False)
        except dns.exception.DNSException as exc:
            raise EndpointNotFound(f"{host_name}: no address ({type(exc).__name__})") from None
        return str(answer[0].address)

    def endpoint(self, host_name: str, port: int) -> tuple[str, int]:
        """Where `host_name`'s `port` is reached: (loopback host, port) from the address book."""
        ip = self.address_of(host_name)
        try:
            response = httpx.get(self.address_book_url, timeout=self.timeout_s)
            response.raise_for_status()
            book: dict[str, Any] = json.loads(response.content)
        except (httpx.HTTPError, ValueError) as exc:
            raise EndpointNotFound(f"address book unreadable: {type(exc).__name__}") from None
        entry = book.get(ip)
        ports = entry.get("ports", {}) if isinstance(entry, dict) else {}
        if str(port) not in ports:
            raise EndpointNotFound(f"{host_name} ({ip}): nothing serves port {port}")
        return str(entry["host"]), int(ports[str(port)])  # type: ignore[index]


@dataclass(frozen=True)
class MailAccount:
    """A mailbox and how to log in to it. `host_name` is the mail host (what its certificate
    names, e.g. mail.acme.example)."""

    host_name: str
    address: str
    password: str = field(repr=False)


class RoutedSMTP(smtplib.SMTP):
    """smtplib's SMTP, connected to a loopback endpoint while the TLS server name (smtplib
    takes it from the host it was given) stays the mail host's name."""

    def __init__(self, endpoint: tuple[str, int], host_name: str, timeout: float) -> None:
        self._endpoint = endpoint
        super().__init__(host_name, SUBMISSION_PORT, local_hostname=CLIENT_NAME, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection(self._endpoint, timeout)


class RoutedIMAP4_SSL(imaplib.IMAP4_SSL):
    """imaplib's IMAP4_SSL, connected to a loopback endpoint, verifying the mail host's name."""

    def __init__(
        self, endpoint: tuple[str, int], host_name: str, context: ssl.SSLContext, timeout: float
    ) -> None:
        self._endpoint = endpoint
        super().__init__(host_name, IMAPS_PORT, ssl_context=context, timeout=timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = socket.create_connection(self._endpoint, timeout)
        context: ssl.SSLContext = self.ssl_context
        try:
            return context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def smtp_connection(
    route: MailRoute, host_name: str, *, port: int = SUBMISSION_PORT
) -> smtplib.SMTP:
    """A plain smtplib session with `host_name`'s submission port (greeted, nothing else
    sent); the caller goes on with `starttls(context=route.tls())`, `login`, ..., `quit`."""
    return RoutedSMTP(route.endpoint(host_name, port), host_name, route.timeout_s)


def imap_connection(
    route: MailRoute,
    host_name: str,
    context: ssl.SSLContext | None = None,
    *,
    port: int = IMAPS_PORT,
) -> imaplib.IMAP4_SSL:
    """An imaplib session with `host_name`'s IMAPS port (TLS verified for `host_name` against
    the local CA unless another context is given; greeted, not logged in)."""
    endpoint = route.endpoint(host_name, port)
    return RoutedIMAP4_SSL(endpoint, host_name, context or route.tls(), route.timeout_s)


def send(
    route: MailRoute, account: MailAccount, message: EmailMessage, *, port: int = SUBMISSION_PORT
) -> str:
    """Submit `message` as `account` (STARTTLS, AUTH, MAIL FROM the account's address, the
    recipients of its To/Cc/Bcc). Adds Message-ID and Date when missing; returns the
    Message-ID. Raises LoginRefused, MessageRefused (also when only some recipients were
    refused: the others got it), ServiceUnavailable or EndpointNotFound."""
    if message["Message-ID"] is None:
        message["Message-ID"] = email.utils.make_msgid(domain=account.address.rpartition("@")[2])
    if message["Date"] is None:
        message["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    message_id = str(message["Message-ID"])
    try:
        with smtp_connection(route, account.host_name, port=port) as smtp:
            smtp.starttls(context=route.tls())
            try:
                smtp.login(account.address, account.password)
            except smtplib.SMTPAuthenticationError as exc:
                raise LoginRefused(f"{account.address}: {exc.smtp_code} {_text(exc)}") from None
            refused = smtp.send_message(message, from_addr=account.address)
    except smtplib.SMTPConnectError as exc:
        raise ServiceUnavailable(f"{account.host_name}: {exc.smtp_code} {_text(exc)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MessageRefused(_refusals(exc.recipients)) from None
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        raise MessageRefused(f"{exc.smtp_code} {_text(exc)}") from None
    if refused:
        raise MessageRefused(_refusals(refused) + " (the other recipients got it)")
    return message_id


def messages(
    route: MailRoute, account: MailAccount, *, port: int = IMAPS_PORT
) -> list[EmailMessage]:
    """Every message in the account's INBOX, oldest first (read-only: nothing is marked
    seen)."""
    with _inbox(route, account, port) as imap:
        return _fetch(imap, _search(imap, "ALL"))


def find(
    route: MailRoute,
    account: MailAccount,
    message_id: str,
    *,
    deadline_s: float = 10.0,
    port: int = IMAPS_PORT,
) -> EmailMessage:
    """The message with this Message-ID in the account's INBOX, waiting up to `deadline_s`
    for it to arrive (TimeoutError after)."""
    with _inbox(route, account, port) as imap:

        def check() -> list[EmailMessage]:
            imap.noop()  # lets the server report what arrived since
            numbers = _search(imap, "HEADER", "Message-ID", _quoted(message_id))
            return _fetch(imap, numbers[:1]) if numbers else []

        return poll(check, f"message {message_id} in {account.address}", deadline_s)[0]


@contextmanager
def _inbox(route: MailRoute, account: MailAccount, port: int) -> Iterator[imaplib.IMAP4_SSL]:
    try:
        imap = imap_connection(route, account.host_name, port=port)
    except imaplib.IMAP4.error as exc:
        if "BYE" in str(exc):
            raise ServiceUnavailable(f"{account.host_name}: {exc}") from None
        raise
    except (ssl.SSLEOFError, ConnectionResetError):
        # Closed during the handshake: a host with nothing installed has no certificate.
        raise ServiceUnavailable(f"{account.host_name}: no TLS service on port 993") from None
    try:
        try:
            imap.login(account.address, account.password)
        except imaplib.IMAP4.error as exc:
            raise LoginRefused(f"{account.address}: {exc}") from None
        status, data = imap.select("INBOX", readonly=True)
        if status != "OK":
            raise MailClientError(f"SELECT INBOX: {status} {data!r}")
        yield imap
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            imap.shutdown()


def _search(imap: imaplib.IMAP4_SSL, *criteria: str) -> list[bytes]:
    status, data = imap.search(None, *criteria)
    if status != "OK":
        raise MailClientError(f"SEARCH: {status} {data!r}")
    return data[0].split() if data and data[0] else []


def _fetch(imap: imaplib.IMAP4_SSL, numbers: list[bytes]) -> list[EmailMessage]:
    if not numbers:
        return []
    status, data = imap.fetch(b",".join(numbers).decode(), "(BODY.PEEK[])")
    if status != "OK":
        raise MailClientError(f"FETCH: {status} {data!r}")
    found = []
    for part in data:
        if isinstance(part, tuple):
            found.append(email.message_from_bytes(part[1], policy=POLICY))
    return found


def _quoted(text: str) -> str:
    """An IMAP quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(exc: smtplib.SMTPResponseException) -> str:
    raw = exc.smtp_error
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address}: {code} {reply.decode('utf-8', 'replace')}"
        for address, (code, reply) in refused.items()
    )
