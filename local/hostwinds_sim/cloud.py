"""The simulated account: instances, IP pools, SSH keys, reverse DNS and the address book.

No HTTP here: `Cloud.handle(action, fields)` takes the parsed form and returns the JSON-able
answer. One re-entrant lock guards everything, so handler threads see a consistent account.
Activation is lazy: a PENDING instance is promoted whenever it is read (no background threads).

Instance listeners hear of the lifecycle as the API drives it (activation, termination) so that
something (local.vps_sim.HostFleet) can give each instance a simulated host, see
`add_listener`.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from itertools import islice
from typing import Protocol

from local.hostwinds_sim.catalogue import BILLING_CYCLES, Catalogue
from local.hostwinds_sim.forms import (
    INVALID_ACTION,
    INVALID_SERVICE_ID,
    Fields,
    Rejected,
    Reply,
    error,
    is_hostname,
    is_public_key,
    last,
    required,
    shown,
    success_message,
)
from local.hostwinds_sim.ips import IpPools

SSH_PORT = 22

_DIGITS = re.compile(r"[0-9]{1,12}")
log = logging.getLogger("local.hostwinds_sim")

FIRST_SERVICE_ID = 7_300_000
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
MAX_NAME_LENGTH = 255
MAX_KEY_NAME_LENGTH = 100


@dataclass(slots=True)
class Instance:
    serviceid: int
    srvrname: str
    location_id: int
    rid: int
    template: str
    password: str
    configkey: str
    created_at: float
    status: str = "PENDING"
    main_ip: str | None = None
    rdns: str | None = None
    never_active: bool = False
    seeded: bool = False  # made by seed(): listeners never hear of it
    announced: bool = False  # listeners were told it became ACTIVE

    def payload(self) -> dict[str, object]:
        """The get_instance shape (tests/contracts/hostwinds/get_instance.success.json)."""
        return {
            "serviceid": self.serviceid,
            "srvrname": self.srvrname,
            "status": self.status,
            "main_ip": self.main_ip,
            "location_id": self.location_id,
            "rid": self.rid,
            "template": self.template,
            "rdns": self.rdns,
            "password": self.password,
            "configkey": self.configkey,
        }


@dataclass(frozen=True, slots=True)
class InstanceActivated:
    """An instance ordered through the API turned ACTIVE with an IP."""

    serviceid: int
    srvrname: str
    ip: str
    root_password: str = field(repr=False)  # a repr may reach a log line


@dataclass(frozen=True, slots=True)
class InstanceTerminated:
    """An instance whose activation was announced was terminated; `ip` is free again."""

    serviceid: int
    ip: str


FollowUp = Callable[[], None]


class InstanceListener(Protocol):
    """Hears of instance lifecycle events; see `Cloud.add_listener` for when and how."""

    def instance_activated(self, event: InstanceActivated) -> FollowUp | None: ...

    def instance_terminated(self, event: InstanceTerminated) -> FollowUp | None: ...


class Cloud:
    def __init__(
        self,
        *,
        catalogue: Catalogue,
        networks: Sequence[IPv4Network],
        activation_delay_s: float,
        clock: Callable[[], float],
        ssh_keys: Mapping[str, str],
        listing_delay_s: float = 0.0,
    ) -> None:
        if activation_delay_s < 0 or listing_delay_s < 0:
            raise ValueError("delays must not be negative")
        # Listings may lag behind orders (the reference does not promise otherwise): a new
        # instance shows up in get_instances only this long after add_instance.
        self._listing_delay = listing_delay_s
        self.lock = threading.RLock()
        self.catalogue = catalogue
        self._delay = activation_delay_s
        self._clock = clock
        self._locations = {loc.id for loc in catalogue.locations}
        self._images = {img.id for img in catalogue.images}
        self._plans = {plan.rid for plan in catalogue.plans}
        self.pools = IpPools(self._locations, networks)
        # dict insertion order == serviceid order: ids only grow and are never reinserted.
        self._instances: dict[int, Instance] = {}
        self._root_passwords: list[str] = []
        self._next_id = FIRST_SERVICE_ID
        self._ssh_keys: dict[str, str] = {}
        for name, key in ssh_keys.items():
            try:
                self._add_key(name, key)
            except Rejected as exc:
                raise ValueError(str(exc)) from None
        self._never_active = 0
        self._address_book: dict[str, tuple[str, int]] = {}
        self._services: dict[str, dict[int, int]] = {}  # IP -> real port -> published port
        self._listeners: list[InstanceListener] = []
        # Work the listeners handed back during the request being answered (None: no request).
        self._follow_ups: list[FollowUp] | None = None
        self._actions: dict[str, Callable[[Fields], Reply]] = {
            "add_instance": self._add_instance,
            "get_instance": self._get_instance,
            "get_instances": self._get_instances,
            "terminate": self._terminate,
            "set_rdns": self._set_rdns,
            "boot": self._boot,
            "reboot": self._reboot,
            "shutdown": self._shutdown,
            "add_ssh_key": self._add_ssh_key,
            "get_locations": lambda _: {"success": [x.payload() for x in catalogue.locations]},
            "get_public_images": lambda _: {"success": [x.payload() for x in catalogue.images]},
            "get_price_list": lambda _: {"success": [x.payload() for x in catalogue.plans]},
        }

    # ---- dispatch ------------------------------------------------------------------------

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(self._actions)

    def handle(self, action: str | None, fields: Fields) -> Reply:
        """Answer an authorised request (the caller has checked the key)."""
        handler = self._actions.get(action or "")
        if handler is None:
            return dict(INVALID_ACTION)
        follow_ups: list[FollowUp] = []
        try:
            with self.lock:
                self._follow_ups = follow_ups
                try:
                    return handler(fields)
                except Rejected as exc:
                    return error(str(exc))
                finally:
                    self._follow_ups = None
        finally:
            # Off the lock, yet before the caller sends the answer: a client that reads
            # "Instance deleted" finds the host already gone, and other requests did not wait.
            for follow_up in follow_ups:
                _follow(follow_up)

    # ---- listeners -----------------------------------------------------------------------

    def add_listener(self, listener: InstanceListener) -> None:
        """Tell `listener` of every later activation and termination made through the API.

        `instance_activated` runs when a read promotes an instance ordered with add_instance
        (never one made by `seed`), once per instance, before the answer showing it ACTIVE
        leaves: whatever it registers in the address book is there when the client sees the
        IP. `instance_terminated` runs when `terminate` deletes an instance it was told of,
        after the address-book entry for the IP is gone. An instance promoted by the very
        terminate that deletes it is announced neither way.

        Both run on the request's thread while `lock` is held, so they see events in order,
        but every other request waits on them: they must be quick and must never wait for a
        request to this simulator (they may call `register_host`/`unregister_host`, the lock
        is re-entrant). Slow work goes in the callable they may return: it runs after the
        lock is released, before the answer is sent.

        A listener that raises is logged and skipped: the account has already changed (an
        instance ACTIVE, or deleted) and stays as it is, so the answer tells the truth; a 500
        would make clients retry a terminate that did happen."""
        with self.lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: InstanceListener) -> None:
        """Once this returns the listener is called no more (a follow-up it returned earlier
        may still be running on a request thread). Unknown listeners are ignored."""
        with self.lock:
            # By identity: two listeners may well compare equal (dataclasses do).
            self._listeners = [known for known in self._listeners if known is not listener]

    def _notify(self, call: Callable[[InstanceListener], FollowUp | None], what: str) -> None:
        for listener in tuple(self._listeners):
            try:
                follow_up = call(listener)
            except Exception:
                log.exception("an instance listener failed on %s; the simulator carries on", what)
                continue
            if follow_up is not None:
                if self._follow_ups is None:
                    _follow(follow_up)
                else:
                    self._follow_ups.append(follow_up)

    # ---- helpers -------------------------------------------------------------------------

    def _new_instance(
        self, *, name: str, location_id: int, rid: int, template: str, created_at: float
    ) -> Instance:
        instance = Instance(
            serviceid=self._next_id,
            srvrname=name,
            location_id=location_id,
            rid=rid,
            template=template,
            password="hwroot-" + secrets.token_urlsafe(12),  # 16 url-safe characters
            configkey="hwcfg-" + secrets.token_hex(6),
            created_at=created_at,
        )
        self._instances[instance.serviceid] = instance
        self._root_passwords.append(instance.password)
        self._next_id += 1
        return instance

    def _refresh(self, instance: Instance, *, announce: bool = True) -> Instance:
        """Lazy activation: PENDING -> ACTIVE with an IP once the delay has passed."""
        if (
            instance.status == "PENDING"
            and not instance.never_active
            and self._clock() >= instance.created_at + self._delay
        ):
            ip = self.pools.take(instance.location_id)
            # No free address in the location's slice: the instance stays PENDING until a
            # terminate returns one (a later read promotes it then).
            if ip is not None:
                instance.main_ip = ip
                instance.status = "ACTIVE"
                if announce and not instance.seeded:
                    # Marked first: the instance is ACTIVE whatever a listener does.
                    instance.announced = True
                    event = InstanceActivated(
                        instance.serviceid, instance.srvrname, ip, instance.password
                    )
                    self._notify(lambda listener: listener.instance_activated(event), "activation")
        return instance

    def _instance(self, fields: Fields, *, announce: bool = True) -> Instance:
        raw = last(fields, "serviceid")
        instance = (
            self._instances.get(int(raw)) if raw is not None and _DIGITS.fullmatch(raw) else None
        )
        if instance is None:
            raise Rejected(INVALID_SERVICE_ID)
        return self._refresh(instance, announce=announce)

    def _known_int(self, fields: Fields, name: str, known: set[int], what: str) -> int:
        raw = required(fields, name)
        if not _DIGITS.fullmatch(raw) or int(raw) not in known:
            raise Rejected(f"Unknown {what} ({name}={shown(raw)}).")
        return int(raw)

    def _add_key(self, name: str, public_key: str) -> None:
        if not name.strip() or len(name) > MAX_KEY_NAME_LENGTH or not name.isprintable():
            raise Rejected(f"name must be 1-{MAX_KEY_NAME_LENGTH} printable characters.")
        if name in self._ssh_keys:
            raise Rejected(f"An SSH key named {shown(name)} already exists.")
        if not is_public_key(public_key):
            raise Rejected("public_key is not a valid OpenSSH public key.")
        self._ssh_keys[name] = public_key.strip()

    # ---- actions -------------------------------------------------------------------------

    def _add_instance(self, fields: Fields) -> Reply:
        template = required(fields, "template")
        if template not in self._images:
            raise Rejected(f"Unknown template {shown(template)}: see get_public_images.")
        rid = self._known_int(fields, "rid", self._plans, "plan")
        location_id = self._known_int(fields, "location_id", self._locations, "location")
        name = required(fields, "srvrname")
        if len(name) > MAX_NAME_LENGTH:
            raise Rejected(f"srvrname must be at most {MAX_NAME_LENGTH} characters.")
        if required(fields, "qty") != "1":
            raise Rejected("Only qty=1 is supported.")
        cycle = required(fields, "billingcycle")
        if cycle not in BILLING_CYCLES:
            raise Rejected(f"Unsupported billingcycle {shown(cycle)}.")
        keys = [key for key in fields.get("keys[]", ()) if key]
        if not keys:
            raise Rejected("At least one SSH key name is required in keys[].")
        for key in keys:
            if key not in self._ssh_keys:
                raise Rejected(f"Unknown SSH key {shown(key)}: register it with add_ssh_key.")
        # Names are not unique at Hostwinds: a duplicate srvrname creates a second instance.
        instance = self._new_instance(
            name=name,
            location_id=location_id,
            rid=rid,
            template=template,
            created_at=self._clock(),
        )
        if self._never_active:
            self._never_active -= 1
            instance.never_active = True
        return [success_message("Invoice Paid"), success_message("Server is being Created!")]

    def _get_instance(self, fields: Fields) -> Reply:
        return {"success": self._instance(fields).payload()}

    def _get_instances(self, fields: Fields) -> Reply:
        page_raw = last(fields, "page") or "1"
        limit_raw = last(fields, "limit") or str(DEFAULT_PAGE_SIZE)
        if not _DIGITS.fullmatch(page_raw) or int(page_raw) < 1:
            raise Rejected("page must be a positive integer.")
        if not _DIGITS.fullmatch(limit_raw) or not 1 <= int(limit_raw) <= MAX_PAGE_SIZE:
            raise Rejected(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}.")
        limit = int(limit_raw)
        start = (int(page_raw) - 1) * limit
        now = self._clock()
        listed = (i for i in self._instances.values() if now >= i.created_at + self._listing_delay)
        page = islice(listed, start, start + limit)
        return {"success": [self._refresh(instance).payload() for instance in page]}

    def _terminate(self, fields: Fields) -> Reply:
        # Still promoted (the pool turns as before), but not announced: no host would be
        # started only to be stopped a moment later.
        instance = self._instance(fields, announce=False)
        del self._instances[instance.serviceid]
        if instance.main_ip is not None:
            self.pools.give_back(instance.location_id, instance.main_ip)
            # The simulated host went with the instance: a reused IP must not reach it.
            self._address_book.pop(instance.main_ip, None)
            self._services.pop(instance.main_ip, None)
            if instance.announced:
                event = InstanceTerminated(instance.serviceid, instance.main_ip)
                self._notify(lambda listener: listener.instance_terminated(event), "termination")
        return success_message("Instance deleted")

    def _set_rdns(self, fields: Fields) -> Reply:
        instance = self._instance(fields)
        ip = required(fields, "ip")
        if instance.main_ip is None or ip != instance.main_ip:
            raise Rejected(f"IP {shown(ip)} is not assigned to this instance.")
        rdns = required(fields, "rdns")
        if not is_hostname(rdns):
            raise Rejected(f"rdns {shown(rdns)} is not a valid hostname.")
        instance.rdns = rdns.removesuffix(".")
        return success_message("rDNS record updated.")

    def _powered(self, fields: Fields, status: str) -> Reply:
        instance = self._instance(fields)
        if instance.main_ip is None:
            raise Rejected("The instance is still being created.")
        instance.status = status
        return success_message("Request accepted.")

    def _boot(self, fields: Fields) -> Reply:
        return self._powered(fields, "ACTIVE")

    def _reboot(self, fields: Fields) -> Reply:
        return self._powered(fields, "ACTIVE")  # a reboot of a stopped server starts it

    def _shutdown(self, fields: Fields) -> Reply:
        return self._powered(fields, "STOPPED")

    def _add_ssh_key(self, fields: Fields) -> Reply:
        # The real name of the field carrying the key is unknown (reference: "unknown");
        # `public_key` is our assumption.
        self._add_key(required(fields, "name"), required(fields, "public_key"))
        return success_message("SSH key added.")

    # ---- direct access (no HTTP) ---------------------------------------------------------

    def mark_never_active(self, count: int) -> None:
        with self.lock:
            self._never_active += count

    def seed(
        self,
        count: int,
        *,
        location_id: int,
        name_prefix: str,
        names: Sequence[str] | None = None,
    ) -> list[tuple[int, str | None]]:
        """`count` instances named prefix + id (or one per name of `names`); returns each
        one's serviceid and address."""
        if count < 0:
            raise ValueError("count must not be negative")
        if location_id not in self._locations:
            raise ValueError(f"unknown location {location_id}")
        with self.lock:
            due = self._clock() - self._delay
            template = self.catalogue.images[0].id
            rid = self.catalogue.plans[0].rid
            made: list[tuple[int, str | None]] = []
            for name in names if names is not None else [None] * count:
                instance = self._new_instance(
                    name=name or f"{name_prefix}{self._next_id}",
                    location_id=location_id,
                    rid=rid,
                    template=template,
                    created_at=due,
                )
                instance.seeded = True
                ip = self.pools.take(location_id)
                if ip is not None:  # beyond the slice they wait, PENDING, for a free IP
                    instance.main_ip = ip
                    instance.status = "ACTIVE"
                made.append((instance.serviceid, instance.main_ip))
            return made

    def set_status(self, serviceid: int, status: str) -> None:
        """What Hostwinds does on its own to an instance (suspends it, stops it)."""
        with self.lock:
            self._instances[serviceid].status = status

    def root_passwords(self) -> list[str]:
        """Every root password handed out, terminated instances' too."""
        with self.lock:
            return list(self._root_passwords)

    def instances(self) -> list[dict[str, object]]:
        """Every instance not terminated (listed or not yet), as get_instance shows it."""
        with self.lock:
            return [i.payload() for i in self._instances.values()]

    def reverse_records(self) -> dict[str, str]:
        with self.lock:
            return {i.main_ip: i.rdns for i in self._instances.values() if i.main_ip and i.rdns}

    def register_host(
        self, ip: str, host: str, port: int, services: Mapping[int, int] | None = None
    ) -> None:
        """`ip`'s SSH is `host:port`; `services` maps each real port the IP serves (22, 587,
        993, ...) to its port on `host` (22, when given, must be `port`)."""
        IPv4Address(ip)  # raises ValueError on a malformed address
        if not 1 <= port <= 65535:
            raise ValueError("port must be 1-65535")
        ports = {SSH_PORT: port}
        for real, published in (services or {}).items():
            if not (1 <= real <= 65535 and 1 <= published <= 65535):
                raise ValueError("service ports must be 1-65535")
            if real == SSH_PORT and published != port:
                raise ValueError("services[22] must be the SSH port")
            ports[real] = published
        with self.lock:
            self._address_book[ip] = (host, port)
            self._services[ip] = dict(sorted(ports.items()))

    def unregister_host(self, ip: str) -> None:
        with self.lock:
            self._address_book.pop(ip, None)
            self._services.pop(ip, None)

    def address_book(self) -> dict[str, tuple[str, int]]:
        with self.lock:
            return dict(self._address_book)

    def service_ports(self) -> dict[str, dict[int, int]]:
        with self.lock:
            return {ip: dict(ports) for ip, ports in self._services.items()}


def _follow(follow_up: FollowUp) -> None:
    """A listener's follow-up failing is logged: the answer still goes out."""
    try:
        follow_up()
    except Exception:
        log.exception("an instance listener's follow-up failed; the simulator carries on")
