"""SMTP submission on "port 587" as Mailu's front offers it to mail clients: STARTTLS first
(AUTH is neither offered nor accepted before it), then AUTH PLAIN or LOGIN against the host's
Mailu users, then mail from the authenticated address only.

Accepted mail is delivered at once into the host's mail store for recipients that are users of
this Mailu. Relaying to other servers is not simulated and is refused as such, never accepted
and dropped. Nothing received is logged beyond the command verb: AUTH lines carry passwords.

Limits are per connection (line length, message size, recipients, errors, idle time): what a
test or a demo on loopback needs. Mailu's fail2ban-style rate limits across connections, a cap
on concurrent sessions and constant-time refusal of unknown users are not simulated.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import logging
import re
import secrets
from collections.abc import Awaitable, Callable

from local.mail_sim.connection import ClientGone, Connection, LineTooLong
from local.mail_sim.host import SUBMISSION, MailHost

log = logging.getLogger("local.mail_sim")

COMMAND_LIMIT = 2048  # postfix's line_length_limit
DATA_LINE_LIMIT = 1 << 16  # RFC 5321 says 998; clients that send longer lines still get in
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_RECIPIENTS = 100
MAX_ERRORS = 20  # postfix's smtpd_hard_error_limit
MAX_AUTH_FAILURES = 3
_PATH = re.compile(r"(?i)(FROM|TO):\s*<([^<>\s]*)>(.*)")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# What a client may say before STARTTLS.
PLAIN_TEXT_VERBS = frozenset({"EHLO", "HELO", "STARTTLS", "NOOP", "RSET", "QUIT"})


class _Close(Exception):
    """The session is over (QUIT, a fatal error): the connection is closed."""


def _decode_base64(text: str) -> bytes | None:
    if not _BASE64.fullmatch(text) or len(text) % 4:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return None


class SmtpSession:
    def __init__(self, host: MailHost, conn: Connection, peer: str) -> None:
        self.host = host
        self.conn = conn
        self.peer = peer
        names = host.mail_names()
        self.hostname = names[0] if names else "localhost"
        self.helo: str | None = None
        self.user: str | None = None
        self.sender: str | None = None
        self.recipients: list[str] = []  # mailbox addresses, in order, no duplicates
        self.errors = 0
        self.auth_failures = 0

    async def reply(self, *lines: str) -> None:
        """One reply; several lines become a multi-line reply (`250-...`, last `250 ...`)."""
        text = "".join(
            f"{line[:3]}{'-' if i < len(lines) - 1 else ' '}{line[4:]}\r\n"
            for i, line in enumerate(lines)
        )
        await self.conn.write(text.encode("utf-8", "replace"))

    async def error(self, line: str) -> None:
        """A refused command; too many of them end the session, as postfix does."""
        await self.reply(line)
        self.errors += 1
        if self.errors >= MAX_ERRORS:
            await self.reply(f"421 4.7.0 {self.hostname} Error: too many errors")
            raise _Close

    async def run(self) -> None:
        try:
            if not self.host.mail_service_up(SUBMISSION):
                await self.reply("421 4.3.2 Service not available, closing transmission channel")
                return
            await self.reply(f"220 {self.hostname} ESMTP")
            while True:
                try:
                    raw = await self.conn.read_line(COMMAND_LIMIT)
                except LineTooLong:
                    await self.reply("500 5.5.2 Error: line too long")
                    return
                await self.command(raw.decode("utf-8", "replace"))
        except (_Close, ClientGone):
            return

    async def command(self, line: str) -> None:
        verb, _, argument = line.strip().partition(" ")
        verb = verb.upper()
        handler = self._handlers().get(verb)
        log.debug("smtp %s: %s", self.peer, verb if handler is not None else "(unknown)")
        if handler is None:
            await self.error("502 5.5.2 Error: command not recognized")
            return
        refusal = self.refusal(verb)
        if refusal is not None:
            await self.error(refusal)
            return
        await handler(argument.strip())

    def _handlers(self) -> dict[str, Callable[[str], Awaitable[None]]]:
        return {
            "EHLO": lambda argument: self.hello("EHLO", argument),
            "HELO": lambda argument: self.hello("HELO", argument),
            "STARTTLS": self.starttls,
            "NOOP": self.noop,
            "RSET": self.rset,
            "QUIT": self.quit,
            "VRFY": lambda _: self.error("502 5.5.1 VRFY command is disabled"),
            "EXPN": lambda _: self.error("502 5.5.1 EXPN command is disabled"),
            "HELP": lambda _: self.reply("214 2.0.0 See RFC 5321"),
            "AUTH": self.auth,
            "MAIL": self.mail,
            "RCPT": self.rcpt,
            "DATA": self.data,
        }

    def refusal(self, verb: str) -> str | None:
        """Why `verb` may not be used now (None: it may)."""
        if verb in PLAIN_TEXT_VERBS:
            return None
        if not self.conn.tls:
            # nginx's mail proxy (Mailu's front) with `starttls only`.
            return "530 5.7.0 Must issue a STARTTLS command first"
        if verb in ("VRFY", "EXPN", "HELP"):
            return None
        if self.helo is None:
            return "503 5.5.1 Error: send HELO/EHLO first"
        if verb != "AUTH" and self.user is None:
            return "530 5.7.0 Authentication required"
        return None

    async def noop(self, argument: str) -> None:
        await self.reply("250 2.0.0 Ok")

    async def rset(self, argument: str) -> None:
        self.reset()
        await self.reply("250 2.0.0 Ok")

    async def quit(self, argument: str) -> None:
        await self.reply("221 2.0.0 Bye")
        raise _Close

    def reset(self) -> None:
        self.sender = None
        self.recipients = []

    # ---- greeting and TLS ------------------------------------------------------------------

    async def hello(self, verb: str, argument: str) -> None:
        if not argument:
            await self.error(f"501 5.5.4 Syntax: {verb} hostname")
            return
        self.helo = argument.split(maxsplit=1)[0]
        self.reset()
        if verb == "HELO":
            await self.reply(f"250 {self.hostname}")
            return
        features = [f"SIZE {MAX_MESSAGE_BYTES}", "8BITMIME", "ENHANCEDSTATUSCODES"]
        features.append("AUTH PLAIN LOGIN" if self.conn.tls else "STARTTLS")
        await self.reply(f"250 {self.hostname}", *(f"250 {f}" for f in features))

    async def starttls(self, argument: str) -> None:
        if self.conn.tls:
            await self.error("554 5.5.1 Error: TLS already active")
            return
        if argument:
            await self.error("501 5.5.4 Syntax: STARTTLS")
            return
        context = self.host.tls_context()
        if context is None:
            await self.reply("454 4.7.0 TLS not available due to local problem")
            return
        await self.reply("220 2.0.0 Ready to start TLS")
        dropped = await self.conn.start_tls(context)
        if dropped:
            log.debug("smtp %s: dropped %d bytes sent before the TLS handshake", self.peer, dropped)
        # RFC 3207: everything learnt before the handshake is forgotten.
        self.helo = None
        self.reset()

    # ---- authentication --------------------------------------------------------------------

    async def auth(self, argument: str) -> None:
        if self.user is not None:
            await self.error("503 5.5.1 Error: already authenticated")
            return
        if self.sender is not None:
            await self.error("503 5.5.1 Error: MAIL transaction in progress")
            return
        mechanism, _, initial = argument.partition(" ")
        mechanism, initial = mechanism.upper(), initial.strip()
        if mechanism == "PLAIN":
            credentials = await self.plain(initial)
        elif mechanism == "LOGIN":
            credentials = await self.login(initial)
        else:
            await self.error("504 5.5.4 Unrecognized authentication type")
            return
        if credentials is None:
            return  # answered already
        address, password = credentials
        loop = asyncio.get_running_loop()
        # Hashing the password takes a while (bcrypt): off the loop, which serves every port.
        allowed = await loop.run_in_executor(None, self.host.login_allowed, address, password)
        if allowed:
            self.user = address.lower()
            await self.reply("235 2.7.0 Authentication successful")
            return
        self.auth_failures += 1
        await self.reply("535 5.7.8 Authentication credentials invalid")
        if self.auth_failures >= MAX_AUTH_FAILURES:
            await self.reply(f"421 4.7.0 {self.hostname} Error: too many authentication failures")
            raise _Close

    async def challenge(self, prompt: str) -> bytes | None:
        """One SASL round: the client's decoded answer, None when it cancelled or sent junk
        (answered here)."""
        await self.reply(f"334 {prompt}")
        try:
            answer = (await self.conn.read_line(COMMAND_LIMIT)).decode("ascii", "replace").strip()
        except LineTooLong:
            await self.reply("500 5.5.2 Error: line too long")
            raise _Close from None
        if answer == "*":
            await self.error("501 5.7.0 Authentication aborted")
            return None
        return await self.decoded(answer)

    async def decoded(self, text: str) -> bytes | None:
        data = b"" if text == "=" else _decode_base64(text)
        if data is None:
            await self.error("501 5.5.2 Cannot decode response")
        return data

    async def plain(self, initial: str) -> tuple[str, str] | None:
        data = await (self.decoded(initial) if initial else self.challenge(""))
        if data is None:
            return None
        parts = data.split(b"\0")
        if len(parts) != 3:
            await self.error("501 5.5.2 Invalid authentication data")
            return None
        authzid, authcid, password = (self._text(p) for p in parts)
        if authcid is None or password is None or authzid is None:
            return "", ""  # not UTF-8: refused like a wrong password
        if authzid and authzid.lower() != authcid.lower():
            return "", ""  # acting for someone else is not allowed
        return authcid, password

    async def login(self, initial: str) -> tuple[str, str] | None:
        username = await (self.decoded(initial) if initial else self.challenge("VXNlcm5hbWU6"))
        if username is None:
            return None
        password = await self.challenge("UGFzc3dvcmQ6")
        if password is None:
            return None
        address, secret = self._text(username), self._text(password)
        if address is None or secret is None:
            return "", ""
        return address, secret

    @staticmethod
    def _text(data: bytes) -> str | None:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    # ---- the mail transaction --------------------------------------------------------------

    async def mail(self, argument: str) -> None:
        if self.sender is not None:
            await self.error("503 5.5.1 Error: nested MAIL command")
            return
        match = _PATH.fullmatch(argument)
        if match is None or match.group(1).upper() != "FROM":
            await self.error("501 5.5.4 Syntax: MAIL FROM:<address>")
            return
        address, parameters = match.group(2), match.group(3).split()
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            name = name.upper()
            if name == "SIZE" and value.isdigit():
                if int(value) > MAX_MESSAGE_BYTES:
                    await self.error("552 5.3.4 Message size exceeds fixed limit")
                    return
            elif name == "BODY" and value.upper() in ("7BIT", "8BITMIME"):
                pass
            else:
                await self.error(f"555 5.5.4 Unsupported option: {parameter}")
                return
        if address.lower() != self.user:
            # Mailu refuses spoofing: a user sends as itself only.
            await self.error(
                f"553 5.7.1 <{address}>: Sender address rejected: not owned by user {self.user}"
            )
            return
        self.sender = address
        await self.reply("250 2.1.0 Ok")

    def mailbox_of(self, address: str) -> str | None:
        """The user that receives for `address`: itself, or `user` for `user+tag`
        (Mailu's RECIPIENT_DELIMITER)."""
        if self.host.has_mailbox(address):
            return address.lower()
        local, _, domain = address.rpartition("@")
        base = local.split("+", 1)[0]
        if base != local and self.host.has_mailbox(f"{base}@{domain}"):
            return f"{base}@{domain}".lower()
        return None

    async def rcpt(self, argument: str) -> None:
        if self.sender is None:
            await self.error("503 5.5.1 Error: need MAIL command")
            return
        match = _PATH.fullmatch(argument)
        if match is None or match.group(1).upper() != "TO" or match.group(3).strip():
            await self.error("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        address = match.group(2)
        local, at, domain = address.rpartition("@")
        if not at or not local or not domain:
            await self.error("501 5.1.3 Bad recipient address syntax")
            return
        if len(self.recipients) >= MAX_RECIPIENTS:
            await self.reply("452 4.5.3 Error: too many recipients")
            return
        mailbox = self.mailbox_of(address)
        if mailbox is not None:
            if mailbox not in self.recipients:
                self.recipients.append(mailbox)
            await self.reply("250 2.1.5 Ok")
        elif self.host.hosts_domain(domain):
            await self.error(
                f"550 5.1.1 <{address}>: Recipient address rejected: "
                "User unknown in virtual mailbox table"
            )
        else:
            await self.error(f"550 5.7.1 <{address}>: relaying to other servers is not simulated")

    async def data(self, argument: str) -> None:
        if argument:
            await self.error("501 5.5.4 Syntax: DATA")
            return
        if self.sender is None:
            await self.error("503 5.5.1 Error: need MAIL command")
            return
        if not self.recipients:
            await self.error("554 5.5.1 Error: no valid recipients")
            return
        await self.reply("354 End data with <CR><LF>.<CR><LF>")
        lines: list[bytes] = []
        size = 0
        too_big = False
        while True:
            try:
                line = await self.conn.read_line(DATA_LINE_LIMIT)
            except LineTooLong:
                await self.reply("500 5.5.2 Error: line too long")
                raise _Close from None
            if line == b".":
                break
            line = line[1:] if line.startswith(b".") else line  # dot-unstuffing
            size += len(line) + 2
            if size > MAX_MESSAGE_BYTES:
                too_big = True
                lines.clear()  # read on to the end, keep nothing
            elif not too_big:
                lines.append(line)
        sender, recipients = self.sender, self.recipients
        self.reset()
        if too_big:
            await self.error("552 5.3.4 Error: message file too big")
            return
        queue_id = secrets.token_hex(5).upper()
        body = b"".join(line + b"\r\n" for line in lines)
        for recipient in recipients:
            self.host.mail_store.deliver(recipient, self.trace(sender, recipient, queue_id) + body)
        log.debug("smtp %s: queued %s for %d recipient(s)", self.peer, queue_id, len(recipients))
        await self.reply(f"250 2.0.0 Ok: queued as {queue_id}")

    def trace(self, sender: str, recipient: str, queue_id: str) -> bytes:
        """The headers local delivery puts on top: Return-Path and Received."""
        date = email.utils.formatdate(localtime=False, usegmt=True)
        return (
            f"Return-Path: <{sender}>\r\n"
            f"Received: from {self.helo} ({self.peer})\r\n"
            f"\tby {self.hostname} (inboxfleet simulated Mailu) with ESMTPSA id {queue_id}\r\n"
            f"\tfor <{recipient}>; {date}\r\n"
        ).encode("utf-8", "replace")
