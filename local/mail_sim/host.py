"""What the mail ports need from the simulated host they run on, and its certificate.

Real Mailu's front gets a Let's Encrypt certificate for the names in HOSTNAMES once the stack
runs; here `Certificates` asks the local CA, lazily at the first TLS use, and again whenever
the installed HOSTNAMES change.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from local.mail_sim.mailboxes import MailStore
from local.mail_sim.tls import dns_names, local_ca, server_context

SUBMISSION = 587
IMAPS = 993


class MailHost(Protocol):
    """The host side of the mail ports. All but `login_allowed` are quick and may run on the
    loop; `login_allowed` hashes a password and runs in an executor."""

    @property
    def mail_store(self) -> MailStore: ...

    def mail_names(self) -> tuple[str, ...]:
        """The installed HOSTNAMES (valid DNS names only; empty before an install)."""
        ...

    def mail_service_up(self, port: int) -> bool:
        """Whether the containers serving `port` (587 or 993) run and are healthy now."""
        ...

    def tls_context(self) -> ssl.SSLContext | None:
        """The server context for the current HOSTNAMES; None when there are none."""
        ...

    def login_allowed(self, address: str, password: str) -> bool: ...

    def has_mailbox(self, address: str) -> bool: ...

    def hosts_domain(self, domain: str) -> bool: ...


class Certificates:
    """The host's server TLS context, issued for `names()` and reissued when they change."""

    def __init__(self, names: Callable[[], Sequence[str]]) -> None:
        self._names = names
        self._lock = threading.Lock()
        self._issued_for: tuple[str, ...] = ()
        self._context: ssl.SSLContext | None = None

    def current_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(dns_names(self._names())))

    def context(self) -> ssl.SSLContext | None:
        names = self.current_names()
        if not names:
            return None
        with self._lock:
            if names != self._issued_for or self._context is None:
                self._context = server_context(local_ca().issue(names))
                self._issued_for = names
            return self._context

    @property
    def issued_for(self) -> tuple[str, ...]:
        """The names of the certificate issued last (empty before the first TLS use)."""
        with self._lock:
            return self._issued_for
