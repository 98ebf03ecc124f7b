"""IMAP on "port 993" (TLS from the first byte) as Mailu's dovecot offers it to mail clients:
LOGIN against the host's Mailu users, then the INBOX, read-write or read-only.

A subset of IMAP4rev1 (RFC 3501) that mail clients and tests use: CAPABILITY, NOOP, LOGOUT,
LOGIN, SELECT/EXAMINE/CLOSE/UNSELECT, LIST, CHECK, SEARCH (a common set of keys), FETCH
(FLAGS, UID, INTERNALDATE, RFC822*, BODY[...]/BODY.PEEK[...] whole, HEADER, TEXT,
HEADER.FIELDS[.NOT]) and their UID forms. Anything else is BAD. Strings come quoted or as
literals (synchronizing or LITERAL+). Only INBOX exists; nothing is ever expunged.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from local.mail_sim.connection import ClientGone, Connection, LineTooLong
from local.mail_sim.host import IMAPS, MailHost
from local.mail_sim.mailboxes import SEEN, SYSTEM_FLAGS, StoredMessage

log = logging.getLogger("local.mail_sim")

LINE_LIMIT = 8192
LITERAL_LIMIT = 1 << 16  # per literal: enough for any login or search string
COMMAND_LITERALS_LIMIT = 1 << 18
MAX_BAD = 20  # then BYE, as dovecot does after too many invalid commands
# Parentheses and NOT/OR chains are parsed by recursion: bounded, so no command a client can
# fit in a line runs the interpreter out of stack (a real server's limit is of the same kind).
MAX_NESTING = 32
NESTED_TOO_DEEPLY = "Search or list nested too deeply."
MAX_LOGIN_FAILURES = 3
CAPABILITIES = "IMAP4rev1 LITERAL+"
FLAG_LIST = "(" + " ".join(SYSTEM_FLAGS) + ")"
_LITERAL = re.compile(rb"\{(\d{1,9})(\+?)\}")
_SEQUENCE = re.compile(r"(\d+|\*)(?::(\d+|\*))?")
_SEQUENCE_SET = re.compile(r"(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TAG = re.compile(r"[!#$&'+,\-./0-9:;<=>?@A-Z\[^_`a-z|}~]+")


@dataclass(frozen=True)
class Atom:
    text: str


@dataclass(frozen=True)
class Text:
    """A quoted string or a literal."""

    text: str


@dataclass(frozen=True)
class Group:
    items: tuple[Token, ...]


Token = Atom | Text | Group


class Bad(Exception):
    """The command is malformed: answered BAD with this text."""


class _Close(Exception):
    """The session is over."""


def _astring(token: Token) -> str:
    if isinstance(token, Group):
        raise Bad("Invalid arguments.")
    return token.text


def _atom(token: Token) -> str:
    if not isinstance(token, Atom):
        raise Bad("Invalid arguments.")
    return token.text


def _split_atom(line: bytes, start: int) -> int:
    """Where the atom starting at `start` ends; a `[...]` section may hold spaces and
    parentheses (BODY[HEADER.FIELDS (SUBJECT)])."""
    depth = 0
    index = start
    while index < len(line):
        char = line[index : index + 1]
        if char == b"[":
            depth += 1
        elif char == b"]":
            depth = max(depth - 1, 0)
        elif depth == 0 and char in (b" ", b"(", b")"):
            break
        index += 1
    return index


def _quoted(line: bytes, index: int) -> tuple[str, int]:
    """The quoted string starting after the `"` at `index - 1`, and where it ends."""
    out = bytearray()
    while index < len(line):
        char = line[index : index + 1]
        if char == b"\\" and index + 1 < len(line):
            out += line[index + 1 : index + 2]
            index += 2
        elif char == b'"':
            return out.decode("utf-8", "replace"), index + 1
        else:
            out += char
            index += 1
    raise Bad("Unterminated quoted string")


def _scan(line: bytes, stack: list[list[Token]]) -> re.Match[bytes] | None:
    """Add the tokens of `line` to `stack`; the literal announced at its end, if any."""
    index = 0
    while index < len(line):
        char = line[index : index + 1]
        if char == b" ":
            index += 1
        elif char == b"(":
            if len(stack) > MAX_NESTING:
                raise Bad(NESTED_TOO_DEEPLY)
            stack.append([])
            index += 1
        elif char == b")":
            if len(stack) == 1:
                raise Bad("Unexpected ')'")
            group = stack.pop()
            stack[-1].append(Group(tuple(group)))
            index += 1
        elif char == b'"':
            text, index = _quoted(line, index + 1)
            stack[-1].append(Text(text))
        elif char == b"{":
            literal = _LITERAL.fullmatch(line, index)
            if literal is None:
                raise Bad("Invalid literal")
            return literal
        else:
            end = _split_atom(line, index)
            stack[-1].append(Atom(line[index:end].decode("utf-8", "replace")))
            index = end
    return None


class SequenceSet:
    """An IMAP sequence set (`1,3:5,7:*`), `*` standing for `largest`; kept as ranges, so
    `1:4294967295` costs nothing."""

    def __init__(self, text: str, largest: int) -> None:
        self.ranges: list[tuple[int, int]] = []
        for part in text.split(","):
            match = _SEQUENCE.fullmatch(part)
            if match is None:
                raise Bad("Invalid messageset")
            ends = [match.group(1), match.group(2) or match.group(1)]
            if any(e != "*" and int(e) == 0 for e in ends):
                raise Bad("Invalid messageset")  # numbers start at 1
            low, high = sorted(largest if e == "*" else int(e) for e in ends)
            self.ranges.append((low, high))

    def __contains__(self, number: int) -> bool:
        return any(low <= number <= high for low, high in self.ranges)

    def within(self, count: int) -> bool:
        """Whether every number lies in 1..count (message sequence numbers must)."""
        return all(low >= 1 and high <= count for low, high in self.ranges)


def _split_message(data: bytes) -> tuple[bytes, bytes]:
    """(header including the blank line, text)."""
    end = data.find(b"\r\n\r\n")
    if end == -1:
        return data, b""
    return data[: end + 4], data[end + 4 :]


def _header_fields(header: bytes) -> list[tuple[str, bytes]]:
    """Each header field (name lower-cased, its whole raw text with continuation lines)."""
    fields: list[tuple[str, bytes]] = []
    for line in header.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and fields:
            name, raw = fields[-1]
            fields[-1] = (name, raw + b"\r\n" + line)
        else:
            name = line.split(b":", 1)[0].strip().decode("ascii", "replace").lower()
            fields.append((name, line))
    return fields


def _header_value(header: bytes, name: str) -> list[str]:
    values = []
    for field_name, raw in _header_fields(header):
        if field_name == name.lower():
            value = raw.split(b":", 1)[1] if b":" in raw else b""
            values.append(re.sub(r"\r\n[ \t]", " ", value.decode("utf-8", "replace")).strip())
    return values


Test = Callable[[int, StoredMessage], bool]  # (sequence number, message) -> matches
_CONSTANT_KEYS = {"ALL": True, "OLD": True, "RECENT": False}
_FLAG_KEYS = {
    "SEEN": (SEEN, True),
    "UNSEEN": (SEEN, False),
    "NEW": (SEEN, False),  # nothing is \\Recent here, so NEW is UNSEEN
    "ANSWERED": ("\\Answered", True),
    "UNANSWERED": ("\\Answered", False),
    "FLAGGED": ("\\Flagged", True),
    "UNFLAGGED": ("\\Flagged", False),
    "DELETED": ("\\Deleted", True),
    "UNDELETED": ("\\Deleted", False),
    "DRAFT": ("\\Draft", True),
    "UNDRAFT": ("\\Draft", False),
}
_HEADER_KEYS = frozenset({"SUBJECT", "FROM", "TO", "CC", "BCC"})


def _argument(tokens: list[Token], key: str) -> str:
    if not tokens:
        raise Bad(f"Missing argument for {key}")
    return _astring(tokens.pop(0))


def _simple_test(key: str, tokens: list[Token]) -> Test | None:
    """The test for a key that needs no recursion (taking its arguments off `tokens`)."""
    if key in _CONSTANT_KEYS:
        constant = _CONSTANT_KEYS[key]
        return lambda n, m: constant
    if key in _FLAG_KEYS:
        flag, wanted = _FLAG_KEYS[key]
        return lambda n, m: (flag in m.flags) == wanted
    if key in _HEADER_KEYS or key == "HEADER":
        field = _argument(tokens, key) if key == "HEADER" else key
        return _header_test(field, _argument(tokens, key).lower())
    if key in ("BODY", "TEXT"):
        return _content_test(_argument(tokens, key), body_only=key == "BODY")
    return None


def _header_test(field: str, needle: str) -> Test:
    """Case-insensitive substring of a header's (unfolded) value, as RFC 3501 asks."""
    return lambda n, m: any(
        needle in value.lower() for value in _header_value(_split_message(m.data)[0], field)
    )


def _content_test(needle: str, *, body_only: bool) -> Test:
    wanted = needle.lower().encode("utf-8", "replace")
    return lambda n, m: wanted in (_split_message(m.data)[1] if body_only else m.data).lower()


class ImapSession:
    def __init__(self, host: MailHost, conn: Connection, peer: str) -> None:
        self.host = host
        self.conn = conn
        self.peer = peer
        self.user: str | None = None
        self.selected: list[int] | None = None  # UIDs by sequence number - 1
        self.read_only = False
        self.bad = 0
        self.login_failures = 0

    async def send(self, line: str) -> None:
        await self.conn.write(line.encode("utf-8", "replace") + b"\r\n")

    async def run(self) -> None:
        try:
            context = self.host.tls_context()
            if context is None:
                # No certificate can exist before an install names the host: nothing can be
                # said over TLS, so nothing is said (the client's handshake fails).
                return
            await self.conn.start_tls(context)
            if not self.host.mail_service_up(IMAPS):
                await self.send("* BYE [UNAVAILABLE] Service not available")
                return
            await self.send(f"* OK [CAPABILITY {CAPABILITIES}] IMAP4rev1 ready")
            while True:
                await self.next_command()
        except (_Close, ClientGone):
            return

    # ---- reading a command -----------------------------------------------------------------

    async def next_command(self) -> None:
        try:
            line = await self.conn.read_line(LINE_LIMIT)
        except LineTooLong:
            await self.send("* BYE Line too long")
            raise _Close from None
        tag_text = line.split(b" ", 1)[0].decode("ascii", "replace")
        tag = tag_text if _TAG.fullmatch(tag_text) else "*"
        try:
            if tag == "*":
                raise Bad("Error in IMAP command received by server.")
            tokens = await self.parse(line[len(tag_text) :])
            if not tokens or not isinstance(tokens[0], Atom):
                raise Bad("Error in IMAP command received by server.")
            name = tokens[0].text.upper()
            log.debug("imap %s: %s", self.peer, name if name.isalpha() else "(unknown)")
            await self.dispatch(tag, name, tokens[1:])
        except Bad as exc:
            await self.send(f"{tag} BAD {exc}")
            self.bad += 1
            if self.bad >= MAX_BAD:
                await self.send("* BYE Too many invalid IMAP commands.")
                raise _Close from None

    async def parse(self, line: bytes) -> list[Token]:
        """The command's tokens; literals are read (and, unless LITERAL+, invited) here."""
        stack: list[list[Token]] = [[]]
        literal_bytes = 0
        while (literal := _scan(line, stack)) is not None:
            size = int(literal.group(1))
            literal_bytes += size
            if size > LITERAL_LIMIT or literal_bytes > COMMAND_LITERALS_LIMIT:
                if literal.group(2):  # already on its way: no way to skip it safely
                    await self.send("* BYE Literal too big")
                    raise _Close
                raise Bad("Literal too big")
            if not literal.group(2):
                await self.send("+ Ready for literal data")
            data = await self.conn.read_exactly(size)
            stack[-1].append(Text(data.decode("utf-8", "replace")))
            try:
                line = await self.conn.read_line(LINE_LIMIT)
            except LineTooLong:
                await self.send("* BYE Line too long")
                raise _Close from None
        if len(stack) != 1:
            raise Bad("Missing ')'")
        return stack[0]

    # ---- commands --------------------------------------------------------------------------

    async def dispatch(self, tag: str, name: str, args: list[Token]) -> None:
        entry = self._commands().get(name)
        if entry is None:
            raise Bad("Unknown command.")
        state, handler = entry
        if state != "any" and self.user is None:
            raise Bad("Command not valid in this state: log in first.")
        if state == "selected" and self.selected is None:
            raise Bad("No mailbox selected.")
        await handler(tag, args)

    def _commands(self) -> dict[str, tuple[str, Callable[[str, list[Token]], Awaitable[None]]]]:
        """Command -> (the state it needs: any, auth or selected; its handler)."""
        return {
            "CAPABILITY": ("any", self.capability),
            "NOOP": ("any", lambda tag, args: self.noop(tag, "Noop")),
            "CHECK": ("selected", lambda tag, args: self.noop(tag, "Check")),
            "LOGOUT": ("any", self.logout),
            "LOGIN": ("any", self.login),
            "STARTTLS": ("any", lambda tag, args: self.refuse("TLS is already active.")),
            "SELECT": ("auth", lambda tag, args: self.select(tag, args, read_only=False)),
            "EXAMINE": ("auth", lambda tag, args: self.select(tag, args, read_only=True)),
            "LIST": ("auth", self.list_mailboxes),
            "CLOSE": ("selected", lambda tag, args: self.unselect(tag, "Close")),
            "UNSELECT": ("selected", lambda tag, args: self.unselect(tag, "Unselect")),
            "SEARCH": ("selected", lambda tag, args: self.search(tag, args, by_uid=False)),
            "FETCH": ("selected", lambda tag, args: self.fetch(tag, args, by_uid=False)),
            "UID": ("selected", self.uid),
        }

    async def refuse(self, text: str) -> None:
        raise Bad(text)

    async def capability(self, tag: str, args: list[Token]) -> None:
        await self.send(f"* CAPABILITY {CAPABILITIES}")
        await self.send(f"{tag} OK Capability completed.")

    async def noop(self, tag: str, verb: str) -> None:
        await self.report_new()
        await self.send(f"{tag} OK {verb} completed.")

    async def logout(self, tag: str, args: list[Token]) -> None:
        await self.send("* BYE Logging out")
        await self.send(f"{tag} OK Logout completed.")
        raise _Close

    async def unselect(self, tag: str, verb: str) -> None:
        self.selected = None
        await self.send(f"{tag} OK {verb} completed.")

    async def uid(self, tag: str, args: list[Token]) -> None:
        if not args or not isinstance(args[0], Atom):
            raise Bad("Invalid arguments.")
        sub = args[0].text.upper()
        if sub not in ("SEARCH", "FETCH"):
            raise Bad(f"Unknown UID command {sub}.")
        if sub == "SEARCH":
            await self.search(tag, args[1:], by_uid=True)
        else:
            await self.fetch(tag, args[1:], by_uid=True)

    async def login(self, tag: str, args: list[Token]) -> None:
        if self.user is not None:
            raise Bad("Already logged in.")
        if len(args) != 2:
            raise Bad("Error in IMAP command LOGIN: Invalid arguments.")
        address, password = _astring(args[0]), _astring(args[1])
        loop = asyncio.get_running_loop()
        # Hashing the password takes a while (bcrypt): off the loop, which serves every port.
        if await loop.run_in_executor(None, self.host.login_allowed, address, password):
            self.user = address.lower()
            await self.send(f"{tag} OK [CAPABILITY {CAPABILITIES}] Logged in")
            return
        self.login_failures += 1
        await self.send(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.")
        if self.login_failures >= MAX_LOGIN_FAILURES:
            await self.send("* BYE Too many invalid login attempts.")
            raise _Close

    def _messages(self) -> tuple[int, int, list[StoredMessage]]:
        assert self.user is not None
        return self.host.mail_store.snapshot(self.user)

    async def select(self, tag: str, args: list[Token], *, read_only: bool) -> None:
        if len(args) != 1:
            raise Bad("Invalid arguments.")
        self.selected = None
        if _astring(args[0]).upper() != "INBOX":
            await self.send(f"{tag} NO [NONEXISTENT] Mailbox doesn't exist: {_astring(args[0])}")
            return
        validity, next_uid, messages = self._messages()
        self.selected = [m.uid for m in messages]
        self.read_only = read_only
        unseen = next((i for i, m in enumerate(messages, 1) if SEEN not in m.flags), None)
        permanent = "()" if read_only else FLAG_LIST[:-1] + " \\*)"
        await self.send(f"* FLAGS {FLAG_LIST}")
        await self.send(f"* OK [PERMANENTFLAGS {permanent}] Flags permitted.")
        await self.send(f"* {len(messages)} EXISTS")
        await self.send("* 0 RECENT")
        if unseen is not None:
            await self.send(f"* OK [UNSEEN {unseen}] First unseen.")
        await self.send(f"* OK [UIDVALIDITY {validity}] UIDs valid")
        await self.send(f"* OK [UIDNEXT {next_uid}] Predicted next UID")
        mode = "READ-ONLY" if read_only else "READ-WRITE"
        verb = "Examine" if read_only else "Select"
        await self.send(f"{tag} OK [{mode}] {verb} completed.")

    async def report_new(self) -> None:
        """Tell a client with a mailbox selected of messages delivered since (EXISTS)."""
        if self.selected is None or self.user is None:
            return
        _, _, messages = self._messages()
        known = set(self.selected)
        fresh = [m.uid for m in messages if m.uid not in known]
        if fresh:
            self.selected.extend(fresh)
            await self.send(f"* {len(self.selected)} EXISTS")

    async def list_mailboxes(self, tag: str, args: list[Token]) -> None:
        if len(args) != 2:
            raise Bad("Invalid arguments.")
        pattern = _astring(args[1])
        if pattern == "":
            await self.send('* LIST (\\Noselect) "/" ""')
        elif re.fullmatch(
            re.escape(pattern).replace(r"\*", ".*").replace("%", "[^/]*"), "INBOX", re.I
        ):
            await self.send('* LIST (\\HasNoChildren) "/" INBOX')
        await self.send(f"{tag} OK List completed.")

    # ---- SEARCH ----------------------------------------------------------------------------

    async def search(self, tag: str, args: list[Token], *, by_uid: bool) -> None:
        assert self.selected is not None
        if len(args) >= 2 and isinstance(args[0], Atom) and args[0].text.upper() == "CHARSET":
            if _astring(args[1]).upper() not in ("US-ASCII", "UTF-8"):
                await self.send(f"{tag} NO [BADCHARSET (US-ASCII UTF-8)] Unknown charset.")
                return
            args = args[2:]
        if not args:
            raise Bad("Missing search parameters.")
        stored = {m.uid: m for m in self._messages()[2]}
        view = [(n, stored[uid]) for n, uid in enumerate(self.selected, 1) if uid in stored]
        largest_uid = max(self.selected, default=0)
        test = self._all_of(list(args), len(self.selected), largest_uid, 0)
        found = [
            message.uid if by_uid else number for number, message in view if test(number, message)
        ]
        await self.send("* SEARCH" + "".join(f" {n}" for n in found))
        await self.send(f"{tag} OK Search completed.")

    def _criterion(self, tokens: list[Token], count: int, largest_uid: int, depth: int) -> Test:
        """Take one search key (with its arguments) off `tokens`."""
        if depth > MAX_NESTING:
            raise Bad(NESTED_TOO_DEEPLY)
        token = tokens.pop(0)
        if isinstance(token, Group):
            return self._all_of(list(token.items), count, largest_uid, depth + 1)
        key = _astring(token).upper()
        simple = _simple_test(key, tokens)
        if simple is not None:
            return simple
        if key in ("NOT", "OR"):
            first = self._criterion(tokens, count, largest_uid, depth + 1)
            second = self._criterion(tokens, count, largest_uid, depth + 1) if key == "OR" else None
            if second is None:
                return lambda n, m: not first(n, m)
            return lambda n, m: first(n, m) or second(n, m)
        if key == "UID":
            uids = SequenceSet(_argument(tokens, key), largest_uid)
            return lambda n, m: m.uid in uids
        if not _SEQUENCE_SET.fullmatch(key):
            raise Bad(f"Unknown search key {key}")
        numbers = SequenceSet(key, count)
        return lambda n, m: n in numbers

    def _all_of(self, tokens: list[Token], count: int, largest_uid: int, depth: int) -> Test:
        tests = []
        while tokens:
            tests.append(self._criterion(tokens, count, largest_uid, depth))
        return lambda n, m: all(t(n, m) for t in tests)

    # ---- FETCH -----------------------------------------------------------------------------

    async def fetch(self, tag: str, args: list[Token], *, by_uid: bool) -> None:
        assert self.selected is not None
        if len(args) != 2:
            raise Bad("Error in IMAP command FETCH: Invalid arguments.")
        items = self._fetch_items(args[1])
        if by_uid and "UID" not in items:
            items.insert(0, "UID")
        set_text = _atom(args[0])
        stored = {m.uid: m for m in self._messages()[2]}
        if by_uid:
            wanted = SequenceSet(set_text, max(self.selected, default=0))
            targets = [(n, uid) for n, uid in enumerate(self.selected, 1) if uid in wanted]
        else:
            numbers = SequenceSet(set_text, len(self.selected))
            if not numbers.within(len(self.selected)):
                raise Bad("Error in IMAP command FETCH: Invalid messageset")
            targets = [(n, uid) for n, uid in enumerate(self.selected, 1) if n in numbers]
        for number, uid in targets:
            message = stored.get(uid)
            if message is not None:
                await self.conn.write(self._fetch_response(number, message, items))
        await self.send(f"{tag} OK Fetch completed.")

    @staticmethod
    def _fetch_items(token: Token) -> list[str]:
        names = [_atom(t) for t in token.items] if isinstance(token, Group) else [_atom(token)]
        macros = {
            "ALL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
            "FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
            "FULL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
        }
        items: list[str] = []
        for name in names:
            upper = re.sub(r"\s+", " ", name.upper())
            items.extend(macros.get(upper, [upper]))
        for item in items:
            if item in ("FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE"):
                continue
            if item in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
                continue
            if re.fullmatch(
                r"BODY(\.PEEK)?\[(|HEADER|TEXT|HEADER\.FIELDS(\.NOT)? \([^()]*\))\]", item
            ):
                continue
            raise Bad(f"Error in IMAP command FETCH: Unknown parameter {item}")
        return items

    def _fetch_response(self, number: int, message: StoredMessage, items: list[str]) -> bytes:
        assert self.user is not None
        header, text = _split_message(message.data)
        marks_seen = not self.read_only and any(
            item in ("RFC822", "RFC822.TEXT") or item.startswith("BODY[") for item in items
        )
        flags = message.flags
        if marks_seen and SEEN not in flags:
            flags = self.host.mail_store.add_flags(self.user, message.uid, {SEEN})
            if "FLAGS" not in items:
                items = [*items, "FLAGS"]
        parts: list[bytes] = []
        for item in items:
            if item == "FLAGS":
                shown = " ".join(f for f in SYSTEM_FLAGS if f in flags)
                parts.append(f"FLAGS ({shown})".encode())
            elif item == "UID":
                parts.append(f"UID {message.uid}".encode())
            elif item == "INTERNALDATE":
                parts.append(f'INTERNALDATE "{_internal_date(message.received_at)}"'.encode())
            elif item == "RFC822.SIZE":
                parts.append(f"RFC822.SIZE {len(message.data)}".encode())
            else:
                name, data = self._section(item, header, text, message.data)
                parts.append(name.encode() + b" {" + str(len(data)).encode() + b"}\r\n" + data)
        return f"* {number} FETCH (".encode() + b" ".join(parts) + b")\r\n"

    @staticmethod
    def _section(item: str, header: bytes, text: bytes, whole: bytes) -> tuple[str, bytes]:
        """The name a body item is answered under, and its bytes."""
        if item.startswith("RFC822"):
            return item, {"RFC822": whole, "RFC822.HEADER": header, "RFC822.TEXT": text}[item]
        section = item[item.index("[") + 1 : -1]
        name = f"BODY[{section}]"
        simple = {"": whole, "HEADER": header, "TEXT": text}
        if section in simple:
            return name, simple[section]
        wanted = {f.lower() for f in section[section.index("(") + 1 : -1].split()}
        keep = section.startswith("HEADER.FIELDS (")
        kept = [raw for field, raw in _header_fields(header) if (field in wanted) == keep]
        return name, b"".join(raw + b"\r\n" for raw in kept) + b"\r\n"


def _internal_date(timestamp: float) -> str:
    """IMAP's date-time, `04-Jun-2024 10:00:00 +0000` (month names fixed, not the locale's)."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    month = _MONTHS[moment.month - 1]
    return f"{moment.day:02d}-{month}-{moment:%Y %H:%M:%S} +0000"
