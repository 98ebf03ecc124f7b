"""The HTTP face of the simulator: a ThreadingHTTPServer on 127.0.0.1 and its lifecycle.

`POST /cloud/api.php` (form-encoded) is the Hostwinds API; `GET /_sim/address-book` publishes the
address book of DESIGN.md "Local-mode seams": `{ip: {"host", "port", "ports"}}`, where `host` and
`port` are the IP's SSH and `ports` maps each real port it serves ("22", "587", "993") to its
port on `host`. Nothing received is ever executed, and nothing received is ever logged beyond
method, path, a known action name and the status.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from local.hostwinds_sim.catalogue import DEFAULT_CATALOGUE, Catalogue
from local.hostwinds_sim.cloud import Cloud, InstanceListener
from local.hostwinds_sim.faults import (
    BodyDefect,
    DroppedConnection,
    ErrorReply,
    Fault,
    FaultQueue,
    HttpErrorPage,
    LostReply,
    MalformedBody,
    NeverActive,
    SlowReply,
)
from local.hostwinds_sim.forms import NOT_AUTHORIZED, Fields, Reply, error, last
from local.hostwinds_sim.ips import documentation_networks
from local.loopback import HttpSimulator, LoopbackHTTPServer

API_PATH = "/cloud/api.php"
ADDRESS_BOOK_PATH = "/_sim/address-book"
# The local CA's certificate (public): what a mail client in another process must trust to
# check the simulated hosts' TLS certificates, as the world trusts Let's Encrypt's root.
MAIL_CA_PATH = "/_sim/mail-ca.pem"
MAX_BODY_BYTES = 1 << 20
REDACTED = "***"
NON_JSON_TEXT = b"The service is temporarily unavailable. Please try again later.\n"

log = logging.getLogger("local.hostwinds_sim")


@dataclass(frozen=True)
class RecordedRequest:
    """One POST the API path received; the `API` field's value is replaced by "***"."""

    action: str | None
    fields: Mapping[str, tuple[str, ...]]

    def field(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackHTTPServer[HostwindsSimulator]
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers on close
    timeout = 30  # seconds a silent client may hold a handler thread
    server_version = "hostwinds-sim"
    sys_version = ""
    action_label = "-"  # for the debug log: a known action name, "?" for anything else

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the stdlib would print request lines to stderr."""

    def do_POST(self) -> None:
        if urlsplit(self.path).path != API_PATH:
            self.send_html(HTTPStatus.NOT_FOUND)
            return
        length_raw = self.headers.get("Content-Length", "0")
        if not length_raw.isdigit():
            self.send_html(HTTPStatus.BAD_REQUEST)
            return
        if int(length_raw) > MAX_BODY_BYTES:
            self.send_html(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return
        body = self.rfile.read(int(length_raw))
        fields: Fields = {}
        # Like PHP's $_POST: only a form body is parsed (no field at all: "Not Authorized!").
        if self.headers.get_content_type() == "application/x-www-form-urlencoded":
            fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        self.server.owner._serve(self, fields)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == ADDRESS_BOOK_PATH:
            book = self.server.owner.address_book()
            services = self.server.owner.service_ports()
            self.send_json(
                {
                    ip: {
                        "host": h,
                        "port": p,
                        "ports": {str(real): at for real, at in services.get(ip, {}).items()},
                    }
                    for ip, (h, p) in book.items()
                }
            )
        elif path == MAIL_CA_PATH:
            from local.mail_sim.tls import local_ca

            self.send_body(HTTPStatus.OK, local_ca().certificate_pem, "application/x-pem-file")
        elif path == API_PATH:
            self.send_html(HTTPStatus.METHOD_NOT_ALLOWED)
        else:
            self.send_html(HTTPStatus.NOT_FOUND)

    def send_body(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        log.debug(
            "%s %s action=%s -> %s",
            self.command,
            urlsplit(self.path).path,
            self.action_label,
            status,
        )

    def send_json(self, payload: object, status: int = HTTPStatus.OK) -> None:
        self.send_body(status, encode(payload), "application/json; charset=utf-8")

    def send_html(self, status: int) -> None:
        title = f"{status} {HTTPStatus(status).phrase}"
        body = f"<html><body><h1>{title}</h1></body></html>".encode()
        self.send_body(status, body, "text/html; charset=utf-8")

    def drop(self) -> None:
        """Close without a byte of response: the server shuts the socket after we return."""
        self.close_connection = True
        log.debug(
            "%s %s action=%s -> connection dropped",
            self.command,
            urlsplit(self.path).path,
            self.action_label,
        )


def encode(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class HostwindsSimulator(HttpSimulator):
    """A Hostwinds Cloud API on loopback. Use as a context manager (or start()/close())."""

    kind = "Hostwinds simulator"
    handler = _Handler

    def __init__(
        self,
        *,
        api_keys: AbstractSet[str],
        activation_delay_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        catalogue: Catalogue = DEFAULT_CATALOGUE,
        ip_ranges: Sequence[str] | None = None,
        ssh_keys: Mapping[str, str] | None = None,
        port: int = 0,
        listing_delay_s: float = 0.0,
    ) -> None:
        if not api_keys or not all(api_keys):
            raise ValueError("at least one non-empty API key is required")
        super().__init__(port)
        self._api_keys = frozenset(api_keys)
        self._cloud = Cloud(
            catalogue=catalogue,
            networks=documentation_networks(None if ip_ranges is None else tuple(ip_ranges)),
            activation_delay_s=activation_delay_s,
            clock=clock,
            ssh_keys=ssh_keys or {},
            listing_delay_s=listing_delay_s,
        )
        self.catalogue = catalogue
        self._faults = FaultQueue()
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()

    # ---- lifecycle -----------------------------------------------------------------------

    def _server(self, port: int) -> LoopbackHTTPServer[Self]:
        self._stopping.clear()
        return super()._server(port)

    def _before_stop(self) -> None:
        self._stopping.set()  # ends pending slow replies

    @property
    def url(self) -> str:
        """The API endpoint, e.g. http://127.0.0.1:54321/cloud/api.php."""
        return f"{self.root_url}{API_PATH}"

    @property
    def address_book_url(self) -> str:
        """Where the simulated hosts' SSH (and mail) endpoints are published
        (SSH_ADDRESS_BOOK_URL)."""
        return f"{self.root_url}{ADDRESS_BOOK_PATH}"

    @property
    def mail_ca_url(self) -> str:
        """The local CA's certificate, in PEM: what the simulated mail hosts' certificates
        chain to."""
        return f"{self.root_url}{MAIL_CA_PATH}"

    # ---- faults and the request log ------------------------------------------------------

    def inject(self, fault: Fault | NeverActive) -> None:
        if isinstance(fault, NeverActive):
            self._cloud.mark_never_active(fault.times)
        else:
            self._faults.add_fault(fault)

    def clear_faults(self) -> None:
        """Forget injected request faults (instances already marked never-active stay so)."""
        self._faults.clear()

    def pending_faults(self) -> int:
        return self._faults.pending()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every API request received so far, oldest first, key redacted."""
        with self._requests_lock:
            return list(self._requests)

    # ---- state access without HTTP -------------------------------------------------------

    def seed_instances(
        self,
        count: int = 0,
        *,
        location_id: int = 1,
        name_prefix: str = "bench-",
        names: Sequence[str] | None = None,
    ) -> list[tuple[int, str | None]]:
        """Create `count` instances (or one per name of `names`) directly, already ACTIVE while
        the location has free IPs (the rest stay PENDING: never ACTIVE without an IP). Returns
        each one's serviceid and address."""
        return self._cloud.seed(
            count, location_id=location_id, name_prefix=name_prefix, names=names
        )

    def set_instance_status(self, serviceid: int, status: str) -> None:
        """Hostwinds changes an instance's status on its own (a suspension, a host failure)."""
        self._cloud.set_status(serviceid, status)

    def instances(self) -> list[dict[str, object]]:
        """What the account holds now: every instance not terminated, listed or not yet (a
        test's view of what is being paid for)."""
        return self._cloud.instances()

    def root_passwords(self) -> list[str]:
        """Every root password the account has handed out (a test's list of what must never
        show up anywhere else)."""
        return self._cloud.root_passwords()

    def reverse_records(self) -> dict[str, str]:
        """IP -> rDNS name, for every live instance that has both (for the local DNS server)."""
        return self._cloud.reverse_records()

    def ip_slice(self, location_id: int) -> tuple[str, ...]:
        """Every address the location may ever hand out."""
        return self._cloud.pools.slice_of(location_id)

    def add_instance_listener(self, listener: InstanceListener) -> None:
        """Tell `listener` when an instance ordered over the API turns ACTIVE (before the answer
        showing it leaves) and when such an instance is terminated; never of seeded instances.
        Callbacks run on a request thread under the account's lock: see Cloud.add_listener."""
        self._cloud.add_listener(listener)

    def remove_instance_listener(self, listener: InstanceListener) -> None:
        self._cloud.remove_listener(listener)

    def register_host(
        self, ip: str, host: str, port: int, services: Mapping[int, int] | None = None
    ) -> None:
        """Publish that SSH to `ip` reaches `host:port` (a simulated VPS host), and that each
        real port in `services` (587, 993, ...) reaches `host` on the port it maps to."""
        self._cloud.register_host(ip, host, port, services)

    def unregister_host(self, ip: str) -> None:
        self._cloud.unregister_host(ip)

    def address_book(self) -> dict[str, tuple[str, int]]:
        """IP -> (host, port) of its SSH; terminating an instance removes its IP's entry."""
        return self._cloud.address_book()

    def service_ports(self) -> dict[str, dict[int, int]]:
        """IP -> {real port: port on its host}, 22 always among them; served as `ports` in the
        address book's JSON."""
        return self._cloud.service_ports()

    # ---- serving -------------------------------------------------------------------------

    def _record(self, action: str | None, fields: Fields) -> None:
        redacted = {
            name: (REDACTED,) * len(values) if name == "API" else tuple(values)
            for name, values in fields.items()
        }
        with self._requests_lock:
            self._requests.append(RecordedRequest(action, redacted))

    def _answer(self, action: str | None, fields: Fields) -> Reply:
        if last(fields, "API") not in self._api_keys:
            return dict(NOT_AUTHORIZED)
        return self._cloud.handle(action, fields)

    def _serve(self, handler: _Handler, fields: Fields) -> None:
        action = last(fields, "action")
        self._record(action, fields)
        # Only a known name is logged: a received value is never echoed into logs.
        handler.action_label = action if action in self._cloud.actions else "?"
        match self._faults.take_for(action):
            case None:
                handler.send_json(self._answer(action, fields))
            case ErrorReply(message=message, as_list=as_list):
                handler.send_json([error(message)] if as_list else error(message))
            case HttpErrorPage(status=status):
                handler.send_html(status)
            case DroppedConnection():
                handler.drop()
            case LostReply():
                self._answer(action, fields)
                handler.drop()
            case SlowReply(delay_s=delay_s, act_first=act_first):
                reply = self._answer(action, fields) if act_first else None
                if self._stopping.wait(delay_s):
                    handler.drop()  # shutting down: never block close() on a slow reply
                    return
                handler.send_json(reply if reply is not None else self._answer(action, fields))
            case MalformedBody(defect=defect):
                real = encode(self._answer(action, fields))
                body = {
                    BodyDefect.EMPTY: b"",
                    BodyDefect.TRUNCATED: real[: len(real) // 2],
                    BodyDefect.NON_JSON: NON_JSON_TEXT,
                }[defect]
                # The header still claims JSON: a client must judge the body, not the label.
                handler.send_body(HTTPStatus.OK, body, "application/json; charset=utf-8")
