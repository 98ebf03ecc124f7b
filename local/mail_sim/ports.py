"""A simulated host's mail ports: SMTP submission ("587") and IMAPS ("993") on loopback ports
the OS picks, served on the host's event loop.

`listen()` and `close()` run on that loop. Closing stops both listeners, aborts every open
connection and waits for their sessions to end: nothing is left behind, as after a power-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from local.mail_sim.connection import Connection
from local.mail_sim.host import IMAPS, SUBMISSION, MailHost
from local.mail_sim.imap import ImapSession
from local.mail_sim.smtp import SmtpSession

log = logging.getLogger("local.mail_sim")
IDLE_S = 60.0  # how long a silent client may hold a session (per command)
CLOSE_WAIT_S = 2.0


class MailPorts:
    def __init__(self, host: MailHost, *, idle_s: float = IDLE_S) -> None:
        if idle_s <= 0:
            raise ValueError("idle_s must be positive")
        self._host = host
        self._idle_s = idle_s
        self._servers: dict[int, asyncio.Server] = {}
        self._ports: dict[int, int] = {}
        self._connections: set[Connection] = set()
        self._sessions: set[asyncio.Task[None]] = set()

    @property
    def ports(self) -> dict[int, int]:
        """Real port -> loopback port ({587: ..., 993: ...}); the last ones bound, kept while
        closed so that listening again reuses them."""
        return dict(self._ports)

    async def listen(self) -> None:
        """Listen on both ports (the same loopback ports as before, after a close)."""
        for real, session in ((SUBMISSION, SmtpSession), (IMAPS, ImapSession)):
            if real in self._servers:
                continue
            server = await asyncio.start_server(
                self._handler(session),
                "127.0.0.1",
                self._ports.get(real, 0),
                reuse_address=True,
            )
            self._servers[real] = server
            self._ports[real] = server.sockets[0].getsockname()[1]

    def _handler(
        self, session: Callable[[MailHost, Connection, str], SmtpSession | ImapSession]
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            conn = Connection(reader, writer, self._idle_s)
            peer = writer.get_extra_info("peername")
            shown = f"localhost [{peer[0]}]" if isinstance(peer, tuple) else "localhost"
            self._connections.add(conn)
            if task is not None:
                self._sessions.add(task)
            try:
                await session(self._host, conn, shown).run()
            except Exception:
                # A simulator bug must show as a dropped connection, never a dead listener.
                log.exception("mail port: a session failed")
            finally:
                self._connections.discard(conn)
                if task is not None:
                    self._sessions.discard(task)
                await conn.close()

        return serve

    async def close(self) -> None:
        """Stop listening, drop every connection, wait for the sessions. Idempotent."""
        servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.close()
        for conn in list(self._connections):
            conn.abort()
        sessions = list(self._sessions)
        for task in sessions:
            task.cancel()
        if sessions:
            await asyncio.wait(sessions, timeout=CLOSE_WAIT_S)
        for server in servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), CLOSE_WAIT_S)
