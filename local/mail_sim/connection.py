"""One mail client connection on a simulated host's loop: lines in with a length limit and an
idle deadline, writes that cannot hang, and the TLS upgrade.

The buffer is ours, not the StreamReader's: after STARTTLS whatever the client sent in plain
text behind the command must be thrown away (RFC 3207, the 2011 "STARTTLS command injection"),
and only a buffer we own tells us exactly what that is.
"""

from __future__ import annotations

import asyncio
import ssl

READ_CHUNK = 1 << 18  # more than a StreamReader ever buffers: a read drains it


class ClientGone(Exception):
    """The client closed the connection, or went silent past the idle limit."""


class LineTooLong(Exception):
    """A line longer than allowed arrived (or is arriving)."""


class Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, idle_s: float
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_s = idle_s
        self._buffer = bytearray()
        self.tls = False

    async def _fill(self, deadline: float) -> None:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise ClientGone("idle")
        try:
            chunk = await asyncio.wait_for(self.reader.read(READ_CHUNK), remaining)
        except TimeoutError:
            raise ClientGone("idle") from None
        except (ConnectionError, ssl.SSLError, OSError):
            raise ClientGone("reset") from None
        if not chunk:
            raise ClientGone("eof")
        self._buffer += chunk

    async def read_line(self, limit: int) -> bytes:
        """The next line without its line end (CRLF or a bare LF); at most `limit` bytes."""
        deadline = asyncio.get_running_loop().time() + self.idle_s
        while True:
            end = self._buffer.find(b"\n")
            if end != -1:
                if end > limit + 1:
                    raise LineTooLong
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line.removesuffix(b"\r")
            if len(self._buffer) > limit + 1:
                raise LineTooLong
            await self._fill(deadline)

    async def read_exactly(self, size: int) -> bytes:
        """`size` bytes (an IMAP literal); the caller bounds `size`."""
        deadline = asyncio.get_running_loop().time() + self.idle_s
        while len(self._buffer) < size:
            await self._fill(deadline)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        try:
            await asyncio.wait_for(self.writer.drain(), self.idle_s)
        except TimeoutError:
            raise ClientGone("not reading") from None
        except (ConnectionError, ssl.SSLError, OSError):
            raise ClientGone("reset") from None

    async def start_tls(self, context: ssl.SSLContext) -> int:
        """Server side of the TLS handshake on this connection. Plain text received and not
        read yet is dropped first (nothing sent before the handshake may count as sent after
        it); returns how many bytes that was."""
        # The StreamReader keeps what arrived behind our last read and has no public way to
        # drop it; its buffer has been `_buffer` since asyncio began. No await separates this
        # from start_tls pausing the transport, so nothing can slip in between.
        pending = getattr(self.reader, "_buffer", None)
        dropped = len(self._buffer) + (len(pending) if pending is not None else 0)
        self._buffer.clear()
        if pending is not None:
            pending.clear()
        try:
            await self.writer.start_tls(context, ssl_handshake_timeout=self.idle_s)
        except TimeoutError:
            raise ClientGone("handshake timed out") from None
        except (ConnectionError, ssl.SSLError, OSError):
            raise ClientGone("handshake failed") from None
        self.tls = True
        return dropped

    def abort(self) -> None:
        self.writer.transport.abort()

    async def close(self) -> None:
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)
        except (TimeoutError, ConnectionError, ssl.SSLError, OSError):
            self.writer.transport.abort()
