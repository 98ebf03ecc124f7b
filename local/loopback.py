"""What every local stand-in server shares: loopback HTTP serving that leaves nothing behind,
and the start/close context-manager protocol.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

log = logging.getLogger("local")
JOIN_TIMEOUT_S = 10.0


class StartStop(ABC):
    """`with Thing(...) as thing:` starts it and closes it however the block ends."""

    @abstractmethod
    def start(self) -> Self: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


Owner = TypeVar("Owner")


class LoopbackHTTPServer(ThreadingHTTPServer, Generic[Owner]):
    """A threaded HTTP server on 127.0.0.1 whose close() really ends every connection.

    Handler threads are daemons (a forgotten server never keeps the interpreter alive) but are
    tracked and joined here: socketserver does not join daemon threads, so idle keep-alive
    connections would outlive the server.
    """

    # The default listen backlog is 5: a burst of concurrent clients would see connection
    # resets the real services do not give.
    request_queue_size = 256
    daemon_threads = True

    def __init__(
        self, port: int, handler: type[BaseHTTPRequestHandler], name: str, owner: Owner
    ) -> None:
        self.name = name
        self.owner = owner  # what the handlers serve for (the simulator)
        self._open: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", port), handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._serve, args=(request, client_address), daemon=True)
        with self._lock:
            self._open.add(request)
            self._handlers.add(thread)
        thread.start()

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._open.discard(request)
                self._handlers.discard(threading.current_thread())

    def server_close(self) -> None:
        super().server_close()
        with self._lock:
            # Unblock handlers still reading from idle clients, so joining them is quick.
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            handlers = list(self._handlers)
        for thread in handlers:
            thread.join(JOIN_TIMEOUT_S)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("%s: a request handler failed", self.name, exc_info=True)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler for stand-ins: keep-alive like the real services, silent (the stdlib
    prints every request line to stderr), bodies read with a bound."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle on, a keep-alive client waits for
    # the delayed ACK (~40 ms on loopback) before it sees the body.
    disable_nagle_algorithm = True
    timeout = 30  # seconds a silent client may hold a handler thread
    sys_version = ""
    max_body_bytes = 1 << 20

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def send_body(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload: object) -> None:
        self.send_body(status, json.dumps(payload).encode(), "application/json")

    def read_body(self) -> bytes | None:
        """The request body; None (and the connection marked to close) when its length is
        missing, malformed or over the bound: the caller answers 400."""
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > self.max_body_bytes:
            self.close_connection = True
            return None
        return self.rfile.read(int(length))


class Serving:
    """A LoopbackHTTPServer running on its own thread, and stopping it completely."""

    def __init__(self, server: LoopbackHTTPServer[Any]) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits up to one interval
            name=f"{server.name}-{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


class HttpSimulator(StartStop):
    """A stand-in served over loopback HTTP: `with Sim(...) as sim:` serves on a free port (or
    the one given) and stops completely. Subclasses build their server in `_server()`."""

    kind = "simulator"  # for messages: "the <kind> is already running"
    handler: type[BaseHTTPRequestHandler]  # serves each request; `self.server.owner` is us

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._serving: Serving | None = None

    def _server(self, port: int) -> LoopbackHTTPServer[Self]:
        return LoopbackHTTPServer(port, self.handler, self.kind, self)

    def _before_stop(self) -> None:
        """Hook: release anything a request handler may be waiting on."""

    def start(self) -> Self:
        if self._serving is not None:
            raise RuntimeError(f"the {self.kind} is already running")
        self._serving = Serving(self._server(self._port))
        return self

    def close(self) -> None:
        """Stop serving and join every thread. Idempotent."""
        if self._serving is None:
            return
        self._before_stop()
        self._serving.stop()
        self._serving = None

    @property
    def port(self) -> int:
        if self._serving is None:
            raise RuntimeError(f"the {self.kind} is not running")
        return self._serving.port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
