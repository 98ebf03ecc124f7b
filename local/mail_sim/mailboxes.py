"""What a simulated host's dovecot would keep: one INBOX per address, in memory.

The SMTP side appends, the IMAP side reads; each runs on the host's loop, tests look in from
their own thread, so every access takes the lock. Messages are stored as received (CRLF line
ends), with the headers the server added on delivery.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

SEEN = "\\Seen"
# What clients may set; the simulator stores flags, it never expunges.
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", SEEN, "\\Draft")


@dataclass
class StoredMessage:
    uid: int
    data: bytes
    received_at: float  # wall-clock seconds (INTERNALDATE)
    flags: set[str] = field(default_factory=set)


@dataclass
class Mailbox:
    uid_validity: int
    messages: list[StoredMessage] = field(default_factory=list)
    next_uid: int = 1


class MailStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boxes: dict[str, Mailbox] = {}

    def _box(self, address: str) -> Mailbox:
        key = address.lower()
        box = self._boxes.get(key)
        if box is None:
            # Random like dovecot's (a timestamp): a client never mistakes two stores' UIDs.
            box = self._boxes[key] = Mailbox(uid_validity=secrets.randbelow(2**31 - 1) + 1)
        return box

    def deliver(self, address: str, data: bytes) -> int:
        """Append to `address`'s INBOX; returns the new message's UID."""
        with self._lock:
            box = self._box(address)
            uid = box.next_uid
            box.next_uid += 1
            box.messages.append(StoredMessage(uid, data, time.time()))
            return uid

    def snapshot(self, address: str) -> tuple[int, int, list[StoredMessage]]:
        """(UIDVALIDITY, UIDNEXT, messages) of the INBOX, copies a reader may keep."""
        with self._lock:
            box = self._box(address)
            return (
                box.uid_validity,
                box.next_uid,
                [StoredMessage(m.uid, m.data, m.received_at, set(m.flags)) for m in box.messages],
            )

    def add_flags(self, address: str, uid: int, flags: set[str]) -> set[str]:
        """Add `flags` to the message; its flags afterwards (empty if it is gone)."""
        with self._lock:
            for message in self._box(address).messages:
                if message.uid == uid:
                    message.flags |= flags
                    return set(message.flags)
        return set()

    def messages(self, address: str) -> list[bytes]:
        """Every message in `address`'s INBOX, oldest first (for tests)."""
        with self._lock:
            box = self._boxes.get(address.lower())
            return [] if box is None else [m.data for m in box.messages]
