"""HostFleet: a simulated host for every instance the Hostwinds simulator activates.

Instances are ordered and read over real HTTP with the platform's HostwindsClient; hosts are
reached over real SSH with paramiko, at the address the installer's own resolver reads from the
simulator's address book. Time is a fake clock: activation happens when the test moves it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import paramiko
import pytest

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.hostwinds.models import Instance
from inboxfleet.mailu.address_book import address_book_resolver
from inboxfleet.mailu.ssh import Resolver, load_private_key
from local.fake_clock import FakeClock
from local.hostwinds_sim import HostwindsSimulator
from local.hostwinds_sim.account import API_KEY, IMAGE, PLAN, SSH_KEY_NAME
from local.hostwinds_sim.cloud import FollowUp, InstanceActivated, InstanceTerminated
from local.platform_key import platform_key
from local.vps_sim import HostFleet, SimulatedHost
from tests.hostwinds_support import ACTIVATION_DELAY_S, Hostwinds, hostwinds_simulator

DEADLINE_S = 5.0


@dataclass
class Cloud:
    hw: Hostwinds
    fleet: HostFleet
    client: HostwindsClient
    resolve: Resolver

    def order(self, name: str, location_id: int = 1) -> Instance:
        self.client.add_instance(
            name=name,
            location_id=location_id,
            template=IMAGE,
            rid=PLAN,
            ssh_key_names=[SSH_KEY_NAME],
        )
        [instance] = self.client.find_instances_by_name(name)
        return instance

    def activate(self, name: str) -> tuple[Instance, SimulatedHost]:
        """Order, let the delay pass, read until ACTIVE: the instance and its host."""
        pending = self.order(name)
        assert pending.status == "PENDING"
        self.hw.clock.advance(ACTIVATION_DELAY_S)
        active = self.client.get_instance(pending.serviceid)
        assert active.ready
        return active, self.fleet.host(str(active.main_ip))


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with (
        hostwinds_simulator() as hw,
        HostFleet(hw.sim, authorized_keys=[platform_key().public_openssh], clock=hw.clock) as fleet,
        hw.client() as client,
    ):
        yield Cloud(hw, fleet, client, address_book_resolver(hw.sim.address_book_url))


@dataclass
class Recorder:
    """A listener that only records what it hears."""

    events: list[InstanceActivated | InstanceTerminated] = field(default_factory=list)

    def instance_activated(self, event: InstanceActivated) -> FollowUp | None:
        self.events.append(event)
        return None

    def instance_terminated(self, event: InstanceTerminated) -> FollowUp | None:
        self.events.append(event)
        return None


class Broken:
    """A listener whose activation handler raises and whose termination follow-up raises."""

    def instance_activated(self, event: InstanceActivated) -> FollowUp | None:
        raise RuntimeError("listener bug on activation")

    def instance_terminated(self, event: InstanceTerminated) -> FollowUp | None:
        def follow_up() -> None:
            raise RuntimeError("listener bug in a follow-up")

        return follow_up


def ssh(
    address: tuple[str, int], *, pkey: paramiko.PKey | None = None, password: str | None = None
) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    host, port = address
    try:
        client.connect(
            host,
            port=port,
            username="root",
            pkey=pkey,
            password=password,
            allow_agent=False,
            look_for_keys=False,
            timeout=DEADLINE_S,
        )
    except BaseException:
        client.close()
        raise
    return client


def key_login(address: tuple[str, int]) -> paramiko.SSHClient:
    return ssh(address, pkey=load_private_key(platform_key().private_openssh))


def run(client: paramiko.SSHClient, command: str) -> tuple[int, str]:
    _, stdout, _ = client.exec_command(command, timeout=DEADLINE_S)
    out = stdout.read().decode()
    return stdout.channel.recv_exit_status(), out


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S).close()
    except ConnectionRefusedError:
        return True
    return False


def host_threads(ip: str) -> int:
    return sum(1 for t in threading.enumerate() if t.name == f"vps-sim-{ip}")


def root_password(sim: HostwindsSimulator, serviceid: int) -> str:
    """The password get_instance shows (the platform's client model does not keep it)."""
    form = {"API": API_KEY, "action": "get_instance", "serviceid": str(serviceid)}
    password = httpx.post(sim.url, data=form, timeout=DEADLINE_S).json()["success"]["password"]
    assert isinstance(password, str)
    return password


def eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@dataclass(frozen=True)
class Footprint:
    """What a running host holds on the real machine."""

    ip: str
    ports: tuple[int, int]  # SSH, its Mailu API
    sandbox: Path

    @classmethod
    def of(cls, host: SimulatedHost) -> Footprint:
        return cls(host.ip, (host.port, host.mailu.port), host.sandbox)

    def gone(self) -> bool:
        return (
            all(refuses(port) for port in self.ports)
            and not self.sandbox.exists()
            and host_threads(self.ip) == 0
        )


# ---- activation --------------------------------------------------------------------------


def test_an_instance_read_as_active_is_a_host_reachable_over_ssh(cloud: Cloud) -> None:
    pending = cloud.order("fleet-ssh")
    assert cloud.client.get_instance(pending.serviceid).status == "PENDING"
    assert cloud.fleet.hosts == {}

    cloud.hw.clock.advance(ACTIVATION_DELAY_S)
    active = cloud.client.get_instance(pending.serviceid)
    assert active.ready
    ip = str(active.main_ip)
    host = cloud.fleet.host(ip)
    assert host.ip == ip
    assert dict(cloud.fleet.hosts) == {ip: host}
    # Published before the ACTIVE answer left: the installer's resolver finds it at once.
    address = cloud.resolve(ip)
    assert address == ("127.0.0.1", host.port)

    client = key_login(address)
    try:
        assert run(client, "dpkg --print-architecture") == (0, "amd64\n")
        with client.open_sftp() as sftp, sftp.open("/etc/os-release") as release:
            assert "VERSION_CODENAME=bookworm" in release.read().decode()
    finally:
        client.close()
    assert host.commands == ["dpkg --print-architecture"]


def test_the_host_takes_the_instances_root_password(cloud: Cloud) -> None:
    active, host = cloud.activate("fleet-password")
    address = cloud.resolve(str(active.main_ip))
    ssh(address, password=root_password(cloud.hw.sim, active.serviceid)).close()
    with pytest.raises(paramiko.AuthenticationException):
        ssh(address, password="not-the-root-password")
    assert host.password_login_enabled


def test_a_second_activation_read_starts_no_second_host(cloud: Cloud) -> None:
    active, host = cloud.activate("fleet-once")
    ip = str(active.main_ip)
    published = cloud.hw.sim.address_book()[ip]

    for _ in range(3):
        assert cloud.client.get_instance(active.serviceid).ready
    assert [i.serviceid for i in cloud.client.iter_instances()] == [active.serviceid]
    assert active.main_ip is not None
    cloud.client.set_rdns(active.serviceid, active.main_ip, "mail.fleet.example")

    assert dict(cloud.fleet.hosts) == {ip: host}
    assert cloud.hw.sim.address_book() == {ip: published}
    assert host_threads(ip) == 1


def test_concurrent_reads_start_exactly_one_host_per_instance(cloud: Cloud) -> None:
    ids = [cloud.order(f"fleet-race-{n}").serviceid for n in range(4)]
    cloud.hw.clock.advance(ACTIVATION_DELAY_S)
    barrier = threading.Barrier(6)
    failures: list[BaseException] = []

    def reader() -> None:
        try:
            with cloud.hw.client() as client:
                barrier.wait(DEADLINE_S)
                for serviceid in ids:
                    client.get_instance(serviceid)
                list(client.iter_instances())
        except BaseException as exc:  # surfaced below: a thread's failure is not the test's
            failures.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE_S)
    assert failures == []

    ips = {str(cloud.client.get_instance(serviceid).main_ip) for serviceid in ids}
    hosts = cloud.fleet.hosts
    assert set(hosts) == ips
    assert len({host.port for host in hosts.values()}) == len(ips)
    assert cloud.hw.sim.address_book() == {ip: ("127.0.0.1", h.port) for ip, h in hosts.items()}
    assert all(host_threads(ip) == 1 for ip in ips)


# ---- termination -------------------------------------------------------------------------


def test_terminating_the_instance_stops_its_host(cloud: Cloud) -> None:
    active, host = cloud.activate("fleet-terminate")
    ip = str(active.main_ip)
    footprint = Footprint.of(host)
    session = key_login(cloud.resolve(ip))  # an open session must not hold the host up
    try:
        cloud.client.terminate(active.serviceid)

        # All of it by the time the answer arrived: no waiting needed.
        assert footprint.gone()
        assert cloud.fleet.hosts == {}
        assert ip not in cloud.hw.sim.address_book()
        assert cloud.resolve(ip) == (ip, 22)  # not in the book: the real address
        transport = session.get_transport()
        assert transport is not None
        assert eventually(lambda: not transport.is_active())
    finally:
        session.close()
    with pytest.raises(KeyError, match=ip):
        cloud.fleet.host(ip)


def test_an_instance_terminated_before_any_read_gets_no_host(cloud: Cloud) -> None:
    recorder = Recorder()
    cloud.hw.sim.add_instance_listener(recorder)
    pending = cloud.order("fleet-never-read")
    cloud.hw.clock.advance(ACTIVATION_DELAY_S)
    cloud.client.terminate(pending.serviceid)  # promotes it on the way out, silently
    assert recorder.events == []
    assert cloud.fleet.hosts == {}


def test_a_reused_ip_gets_a_fresh_host(cloud: Cloud) -> None:
    hw = cloud.hw
    with HostwindsSimulator(
        api_keys={API_KEY},
        activation_delay_s=ACTIVATION_DELAY_S,
        clock=hw.clock,
        ip_ranges=["203.0.113.0/29"],  # 6 addresses, 2 per location: location 1 cycles
        ssh_keys={SSH_KEY_NAME: platform_key().public_openssh},
    ) as sim:
        small = Hostwinds(sim, hw.clock)
        with (
            HostFleet(
                sim, authorized_keys=[platform_key().public_openssh], clock=hw.clock
            ) as fleet,
            small.client() as client,
        ):
            tiny = Cloud(small, fleet, client, address_book_resolver(sim.address_book_url))
            seen: dict[str, SimulatedHost] = {}
            for n in range(3):  # the third order reuses the first address
                active, host = tiny.activate(f"fleet-reuse-{n}")
                ip = str(active.main_ip)
                assert seen.get(ip) is not host
                seen[ip] = host
                assert tiny.resolve(ip) == ("127.0.0.1", host.port)
                tiny.client.terminate(active.serviceid)
            assert len(seen) == 2
            assert fleet.hosts == {}


# ---- seeded instances --------------------------------------------------------------------


def test_seeded_instances_start_no_hosts() -> None:
    clock = FakeClock()
    with (
        HostwindsSimulator(
            api_keys={API_KEY},
            activation_delay_s=ACTIVATION_DELAY_S,
            clock=clock,
            ip_ranges=["203.0.113.0/29"],  # 2 addresses per location: a third seed waits
            ssh_keys={SSH_KEY_NAME: platform_key().public_openssh},
        ) as sim,
        HostFleet(sim, authorized_keys=[platform_key().public_openssh], clock=clock) as fleet,
    ):
        hw = Hostwinds(sim, clock)
        recorder = Recorder()
        sim.add_instance_listener(recorder)
        sim.seed_instances(3, location_id=1)
        with hw.client() as client:
            seeded = list(client.iter_instances())
            assert [i.status for i in seeded] == ["ACTIVE", "ACTIVE", "PENDING"]
            # Freeing an address lets the waiting seed turn ACTIVE on the next read: still no
            # host, neither for the terminated one nor for the promoted one.
            client.terminate(seeded[0].serviceid)
            assert [i.status for i in client.iter_instances()] == ["ACTIVE", "ACTIVE"]
            assert recorder.events == []
            assert fleet.hosts == {}
            assert sim.address_book() == {}

            # Alongside them, an ordered instance still gets its host.
            tiny = Cloud(hw, fleet, client, address_book_resolver(sim.address_book_url))
            pending = tiny.order("fleet-beside-seeds", location_id=2)
            clock.advance(ACTIVATION_DELAY_S)
            active = client.get_instance(pending.serviceid)
            assert set(fleet.hosts) == {str(active.main_ip)}
            assert [type(e) for e in recorder.events] == [InstanceActivated]


# ---- closing -----------------------------------------------------------------------------


def test_closing_the_fleet_stops_every_host(cloud: Cloud) -> None:
    ids = [cloud.order(f"fleet-close-{n}").serviceid for n in range(3)]
    cloud.hw.clock.advance(ACTIVATION_DELAY_S)
    assert all(i.ready for i in cloud.client.iter_instances())  # activated by the listing
    footprints = [Footprint.of(host) for host in cloud.fleet.hosts.values()]
    assert len(footprints) == 3

    cloud.fleet.close()
    assert cloud.fleet.hosts == {}
    assert cloud.hw.sim.address_book() == {}
    assert all(footprint.gone() for footprint in footprints)
    cloud.fleet.close()  # idempotent

    # Unsubscribed: a later activation starts nothing.
    late = cloud.order("fleet-after-close")
    cloud.hw.clock.advance(ACTIVATION_DELAY_S)
    assert cloud.client.get_instance(late.serviceid).ready
    assert cloud.fleet.hosts == {}
    assert [cloud.client.get_instance(i).ready for i in ids] == [True] * 3


def test_a_fleet_starts_again_after_close(cloud: Cloud) -> None:
    cloud.fleet.close()
    cloud.fleet.start()
    with pytest.raises(RuntimeError, match="already running"):
        cloud.fleet.start()
    _, host = cloud.activate("fleet-restarted")
    assert cloud.fleet.hosts == {host.ip: host}


# ---- a failing listener ------------------------------------------------------------------


def test_a_failing_listener_is_logged_and_changes_nothing(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    cloud.hw.sim.add_instance_listener(Broken())
    cloud.hw.sim.add_instance_listener(recorder)  # after the broken one: still told
    caplog.set_level(logging.ERROR, logger="local.hostwinds_sim")

    active, host = cloud.activate("fleet-broken-listener")
    footprint = Footprint.of(host)
    cloud.client.terminate(active.serviceid)

    assert [type(e) for e in recorder.events] == [InstanceActivated, InstanceTerminated]
    assert cloud.fleet.hosts == {}
    assert footprint.gone()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "an instance listener failed on activation; the simulator carries on",
        "an instance listener's follow-up failed; the simulator carries on",
    ]
    assert list(cloud.client.iter_instances()) == []
