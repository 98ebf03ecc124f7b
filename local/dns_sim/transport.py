"""DNS over UDP and TCP on 127.0.0.1, one port number for both; the lifecycle and the faults.

UDP: a few worker threads share one non-blocking socket and wait on a selector together with a
wake-up socket, so `close()` ends them at once (no polling). An answer longer than the client's
EDNS payload size (512 bytes without EDNS) goes out with the TC bit and no records. TCP: a
threading socketserver; each connection carries any number of length-prefixed queries (RFC
7766). `close()` stops both, unblocks idle connections and joins every thread it started.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import logging
import selectors
import socket
import socketserver
import threading
import time
from abc import abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, Self

from local.dns_sim.faults import Delay, Drop, FaultQueue
from local.dns_sim.wire import (
    TCP_LIMIT,
    UDP_DEFAULT_LIMIT,
    BadQuery,
    Query,
    Rcode,
    Reply,
    decode_query,
    encode_reply,
)
from local.loopback import StartStop

HOST = "127.0.0.1"
EDNS_PAYLOAD = 1232  # what the servers advertise (the DNS flag day 2020 value)
TCP_IDLE_S = 30.0  # a silent TCP client is disconnected after this long
MAX_DATAGRAM = 65535
BIND_ATTEMPTS = 32
QUERY_LOG_LIMIT = 200_000

Transport = Literal["udp", "tcp"]
Address = tuple[str, int]

log = logging.getLogger("local.dns_sim")


class QueryRecord(NamedTuple):
    """One query received: compares equal to a plain (protocol, qname, qtype) tuple."""

    protocol: Transport
    qname: str  # as sent, absolute ("Mail.acme.example.")
    qtype: str


class _TcpServer(socketserver.TCPServer):
    """One named daemon thread per connection, each tracked so that `close_all()` can end and
    join them (socketserver's own ThreadingMixIn does not join daemon threads)."""

    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, port: int, owner: DnsServer) -> None:
        self.owner = owner
        self._open: set[socket.socket] = set()
        self._handlers: list[threading.Thread] = []
        self._open_lock = threading.Lock()
        super().__init__((HOST, port), _TcpHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"{self.owner._name}-tcp-conn-{self.server_address[1]}",
            daemon=True,  # never keeps the interpreter alive; close() joins it all the same
        )
        with self._open_lock:
            self._open.add(request)
            self._handlers = [t for t in self._handlers if t.is_alive()]
            self._handlers.append(thread)
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def join_handlers(self) -> None:
        with self._open_lock:
            handlers = list(self._handlers)
        for thread in handlers:
            thread.join()

    def abort_connections(self) -> None:
        with self._open_lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("dns simulator: a TCP handler failed", exc_info=True)


def _recv_exact(sock: socket.socket, count: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < count:
        try:
            chunk = sock.recv(count - len(chunks))
        except (TimeoutError, OSError):
            return None
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


class _TcpHandler(socketserver.BaseRequestHandler):
    server: _TcpServer
    request: socket.socket

    def handle(self) -> None:
        self.request.settimeout(TCP_IDLE_S)
        while True:
            head = _recv_exact(self.request, 2)
            if head is None:
                return
            data = _recv_exact(self.request, int.from_bytes(head, "big"))
            if data is None:
                return
            reply, delay_s = self.server.owner._handle(data, "tcp")
            if delay_s and self.server.owner._stopping.wait(delay_s):
                return  # shutting down: a slow answer is never sent
            if reply is not None:
                try:
                    self.request.sendall(len(reply).to_bytes(2, "big") + reply)
                except OSError:
                    return


class _Later:
    """UDP answers held back by a `slow` fault, sent by one thread when due, so a slow answer
    never occupies a worker. On stop, whatever is still held back is never sent."""

    def __init__(self, send: Callable[[bytes, Any], object]) -> None:
        self._send = send
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, bytes, Any]] = []
        self._seq = itertools.count()
        self._stopped = False

    def push(self, due: float, data: bytes, peer: Any) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), data, peer))
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    self._cond.wait(self._heap[0][0] - now if self._heap else None)
                if self._stopped:
                    return
                _, _, data, peer = heapq.heappop(self._heap)
            with contextlib.suppress(OSError):
                self._send(data, peer)


class DnsServer(StartStop):
    """Base of the simulated servers: subclasses implement `_respond`. A context manager."""

    def __init__(
        self,
        *,
        port: int = 0,
        udp_workers: int = 2,
        edns_payload: int = EDNS_PAYLOAD,
        name: str = "dns-sim",
    ) -> None:
        if udp_workers < 1:
            raise ValueError("udp_workers must be at least 1")
        self._requested_port = port
        self._udp_workers = udp_workers
        self._edns_payload = edns_payload
        self._name = name
        self._faults = FaultQueue()
        self._log: deque[QueryRecord] = deque(maxlen=QUERY_LOG_LIMIT)
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._udp: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._tcp: _TcpServer | None = None
        self._threads: list[threading.Thread] = []
        self._later = _Later(lambda data, peer: None)

    # ---- what subclasses provide -----------------------------------------------------------

    @abstractmethod
    def _respond(self, query: Query) -> Reply: ...

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._udp is not None:
            raise RuntimeError(f"{self._name} is already running")
        self._stopping.clear()
        udp, tcp = self._bind()
        self._udp, self._tcp = udp, tcp
        self._wake = socket.socketpair()
        port = udp.getsockname()[1]
        self._later = _Later(udp.sendto)
        self._threads = [
            threading.Thread(
                target=self._later.run, name=f"{self._name}-later-{port}", daemon=True
            ),
            threading.Thread(
                target=tcp.serve_forever,
                kwargs={"poll_interval": 0.01},  # close() waits up to one interval
                name=f"{self._name}-tcp-{port}",
                daemon=True,
            ),
        ]
        self._threads += [
            threading.Thread(
                target=self._udp_loop, name=f"{self._name}-udp-{port}-{i}", daemon=True
            )
            for i in range(self._udp_workers)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _bind(self) -> tuple[socket.socket, _TcpServer]:
        """A UDP socket and a TCP server on the same port number (OS-chosen unless given)."""
        for _ in range(BIND_ATTEMPTS):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                udp.bind((HOST, self._requested_port))
                udp.setblocking(False)
                tcp = _TcpServer(udp.getsockname()[1], self)
            except OSError as exc:
                udp.close()
                if self._requested_port or exc.errno != errno.EADDRINUSE:
                    raise
                continue
            return udp, tcp
        raise OSError(errno.EADDRINUSE, "no port free for both UDP and TCP")

    def close(self) -> None:
        """Stop serving and join every thread; the port then refuses TCP and ignores UDP."""
        udp, tcp, wake = self._udp, self._tcp, self._wake
        if udp is None or tcp is None or wake is None:
            return
        self._stopping.set()
        self._later.stop()
        wake[1].send(b"x")  # every UDP worker's selector sees it (nobody reads it)
        tcp.shutdown()  # no new connections are accepted after this returns
        tcp.abort_connections()  # idle clients: their handlers' reads end now
        tcp.server_close()
        tcp.join_handlers()
        for thread in self._threads:
            thread.join()
        udp.close()
        for sock in wake:
            sock.close()
        self._udp = self._tcp = self._wake = None
        self._threads = []

    @property
    def port(self) -> int:
        if self._udp is None:
            raise RuntimeError(f"{self._name} is not running")
        return int(self._udp.getsockname()[1])

    @property
    def address(self) -> Address:
        """("127.0.0.1", port): the same port answers UDP and TCP."""
        return (HOST, self.port)

    @property
    def running(self) -> bool:
        return self._udp is not None

    # ---- the query log and faults ----------------------------------------------------------

    @property
    def queries(self) -> list[QueryRecord]:
        """Every query received so far (also dropped ones), oldest first."""
        with self._log_lock:
            return list(self._log)

    def clear_queries(self) -> None:
        with self._log_lock:
            self._log.clear()

    def drop(self, qname: str | None = None, times: int | None = 1) -> None:
        """Do not answer the next `times` queries for `qname` (any name if None)."""
        self._faults.add(Drop(), qname=qname, times=times)

    def slow(self, delay_s: float, qname: str | None = None, times: int | None = None) -> None:
        """Answer late by `delay_s` (every query until `clear_faults()` unless `times`)."""
        self._faults.add(Delay(delay_s), qname=qname, times=times)

    def clear_faults(self) -> None:
        self._faults.clear()

    # ---- serving ---------------------------------------------------------------------------

    def _udp_loop(self) -> None:
        udp, wake = self._udp, self._wake
        assert udp is not None
        assert wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(udp, selectors.EVENT_READ)
            selector.register(wake[0], selectors.EVENT_READ)
            while True:
                events = selector.select()
                if self._stopping.is_set() or any(k.fileobj is wake[0] for k, _ in events):
                    return
                while not self._stopping.is_set():
                    try:
                        data, peer = udp.recvfrom(MAX_DATAGRAM)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        log.debug("dns simulator: UDP receive failed", exc_info=True)
                        break
                    reply, delay_s = self._handle(data, "udp")
                    if reply is not None and delay_s:
                        self._later.push(time.monotonic() + delay_s, reply, peer)
                    elif reply is not None:
                        with contextlib.suppress(OSError):
                            udp.sendto(reply, peer)

    def _handle(self, data: bytes, protocol: Transport) -> tuple[bytes | None, float]:
        """One received message -> the bytes to send back (None: stay silent) and how many
        seconds to hold them back first."""
        decoded = decode_query(data)
        if isinstance(decoded, BadQuery):
            return decoded.reply, 0.0
        question = decoded.question
        with self._log_lock:
            self._log.append(QueryRecord(protocol, question.qname, question.qtype))
        fault = self._faults.take(question.name)
        if isinstance(fault, Drop):
            return None, 0.0
        delay_s = fault.delay_s if isinstance(fault, Delay) else 0.0
        try:
            reply = self._respond(decoded)
        except Exception:
            log.warning(
                "dns simulator: answering %s %s failed",
                question.qname,
                question.qtype,
                exc_info=True,
            )
            reply = Reply(Rcode.SERVFAIL)
        limit = TCP_LIMIT if protocol == "tcp" else decoded.edns_payload or UDP_DEFAULT_LIMIT
        return encode_reply(decoded, reply, limit=limit, edns_payload=self._edns_payload), delay_s
