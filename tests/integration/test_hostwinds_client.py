"""The real client against the simulator over real HTTP on loopback: one test per fault."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast
from uuid import uuid4

import pytest

from inboxfleet.hostwinds import instances
from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.hostwinds.errors import (
    HostwindsAuthFailed,
    HostwindsRejected,
    HostwindsUnavailable,
    InstanceNotFound,
    VpsNotReady,
)
from inboxfleet.hostwinds.instances import InstanceOrder, find_by_name
from inboxfleet.names import server_name
from inboxfleet.settings import HostwindsSettings
from local.hostwinds_sim import (
    BodyDefect,
    DroppedConnection,
    ErrorReply,
    HttpErrorPage,
    LostReply,
    MalformedBody,
    NeverActive,
    SlowReply,
)
from local.hostwinds_sim.account import IMAGE, PLAN, SSH_KEY_NAME
from tests.hostwinds_support import ACTIVATION_DELAY_S, Hostwinds, hostwinds_simulator

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

ORDER_GRACE = HostwindsSettings().order_grace  # HOSTWINDS_ORDER_GRACE_S's default
ensure_instance = partial(instances.ensure_instance, grace=ORDER_GRACE)
terminate_by_name = partial(instances.terminate_by_name, grace=ORDER_GRACE)


@pytest.fixture
def hw() -> Iterator[Hostwinds]:
    with hostwinds_simulator() as hw:
        yield hw


@pytest.fixture
def client(hw: Hostwinds) -> Iterator[HostwindsClient]:
    with hw.client() as client:
        yield client


def order(location_id: int = 2) -> InstanceOrder:
    return InstanceOrder(
        name=server_name("test", uuid4()),
        location_id=location_id,
        template=IMAGE,
        rid=PLAN,
        ssh_key_names=[SSH_KEY_NAME],
    )


def test_create_then_poll_until_active_with_an_ip(hw: Hostwinds, client: HostwindsClient) -> None:
    wanted = order()
    created = ensure_instance(client, wanted).instance
    assert created is not None
    assert (created.status, created.main_ip, created.ready) == ("PENDING", None, False)

    hw.clock.advance(ACTIVATION_DELAY_S)
    active = client.get_instance(created.serviceid)
    assert active.ready
    assert active.main_ip is not None
    assert active.location_id == 2


def test_create_is_idempotent_by_name(hw: Hostwinds, client: HostwindsClient) -> None:
    wanted = order()
    first = ensure_instance(client, wanted).instance
    again = ensure_instance(client, wanted).instance
    assert first is not None
    assert again is not None
    assert first.serviceid == again.serviceid
    assert hw.add_instance_calls() == 1


def test_lost_create_reply_then_retry_leaves_exactly_one(
    hw: Hostwinds, client: HostwindsClient
) -> None:
    wanted = order()
    hw.sim.inject(LostReply(action="add_instance"))
    resolved = ensure_instance(client, wanted).instance  # the lookup after the lost reply
    retried = ensure_instance(client, wanted).instance  # the workflow's retry of the step
    assert resolved is not None
    assert retried is not None
    assert resolved.serviceid == retried.serviceid
    assert len(client.find_instances_by_name(wanted.name)) == 1
    assert hw.add_instance_calls() == 1


def test_terminate_by_name_after_a_lost_create_reply_removes_it(
    hw: Hostwinds, client: HostwindsClient
) -> None:
    wanted = order()
    hw.sim.inject(LostReply(action="add_instance"))
    assert ensure_instance(client, wanted).instance is not None
    hw.sim.inject(LostReply(action="terminate"))  # even the teardown's answer gets lost
    assert len(terminate_by_name(client, wanted.name)) == 1
    assert find_by_name(client, wanted.name) is None
    assert terminate_by_name(client, wanted.name) == []  # compensation repeats harmlessly


def test_dropped_create_is_never_reordered_within_the_grace_period(
    hw: Hostwinds, client: HostwindsClient
) -> None:
    wanted = order()
    hw.sim.inject(DroppedConnection(action="add_instance"))
    first = ensure_instance(client, wanted, now=T0)  # not performed, and nobody can know that
    assert (first.instance, first.ordered_at) == (None, T0)
    with pytest.raises(VpsNotReady, match="not listed yet"):
        ensure_instance(client, wanted, ordered_at=first.ordered_at, now=T0 + timedelta(minutes=5))
    assert hw.add_instance_calls() == 1
    late = ensure_instance(client, wanted, ordered_at=first.ordered_at, now=T0 + ORDER_GRACE)
    assert late.instance is not None
    assert hw.add_instance_calls() == 2
    assert len(client.find_instances_by_name(wanted.name)) == 1


def test_a_listing_that_lags_behind_the_order_never_buys_a_second_server() -> None:
    with hostwinds_simulator(listing_delay_s=120.0) as hw, hw.client() as client:
        wanted = order()
        first = ensure_instance(client, wanted, now=T0)
        assert first.instance is None
        with pytest.raises(VpsNotReady):
            ensure_instance(client, wanted, ordered_at=first.ordered_at, now=T0)
        with pytest.raises(VpsNotReady):  # compensation must wait for it too
            terminate_by_name(client, wanted.name, ordered_at=first.ordered_at, now=T0)
        hw.clock.advance(120.0)
        listed = ensure_instance(client, wanted, ordered_at=first.ordered_at, now=T0)
        assert listed.instance is not None
        assert hw.add_instance_calls() == 1
        assert terminate_by_name(client, wanted.name, ordered_at=first.ordered_at, now=T0) == [
            listed.instance.serviceid
        ]


def test_slow_create_times_out_but_the_lookup_finds_it(hw: Hostwinds) -> None:
    wanted = order()
    hw.sim.inject(SlowReply(action="add_instance", delay_s=5.0))
    with hw.client(timeout_s=0.3) as client:
        created = ensure_instance(client, wanted).instance
    assert created is not None
    assert hw.add_instance_calls() == 1


def test_slow_reads_are_retried_past_the_timeout(hw: Hostwinds) -> None:
    hw.sim.inject(SlowReply(action="get_locations", delay_s=5.0))
    with hw.client(timeout_s=0.3) as client:
        assert client.location_id("dallas") == 2


@pytest.mark.parametrize("defect", list(BodyDefect))
def test_malformed_read_answers_are_retried(
    hw: Hostwinds, client: HostwindsClient, defect: BodyDefect
) -> None:
    hw.sim.inject(MalformedBody(action="get_price_list", defect=defect, times=2))
    assert [p.rid for p in client.get_price_list()] == [1001, 1002]


def test_a_malformed_create_answer_means_maybe_created(
    hw: Hostwinds, client: HostwindsClient
) -> None:
    wanted = order()
    hw.sim.inject(MalformedBody(action="add_instance", defect=BodyDefect.TRUNCATED))
    assert ensure_instance(client, wanted).instance is not None
    assert hw.add_instance_calls() == 1


def test_gateway_error_pages_on_reads_are_retried(hw: Hostwinds, client: HostwindsClient) -> None:
    hw.sim.inject(HttpErrorPage(action="get_locations", status=502, times=2))
    assert client.location_id("seattle") == 1


def test_gateway_errors_that_outlast_the_retries_are_unavailable(
    hw: Hostwinds, client: HostwindsClient
) -> None:
    hw.sim.inject(HttpErrorPage(action="get_locations", status=503, times=5))
    with pytest.raises(HostwindsUnavailable, match="HTTP 503"):
        client.get_locations()


def test_a_refused_create_is_rejected_and_not_repeated(
    hw: Hostwinds, client: HostwindsClient
) -> None:
    hw.sim.inject(ErrorReply(action="add_instance", message="Insufficient funds.", as_list=True))
    with pytest.raises(HostwindsRejected, match="Insufficient funds"):
        ensure_instance(client, order())
    assert hw.add_instance_calls() == 1


def test_a_temporary_error_answer_is_retried(hw: Hostwinds, client: HostwindsClient) -> None:
    hw.sim.inject(
        ErrorReply(action="get_public_images", message="Service temporarily unavailable.")
    )
    assert len(client.get_public_images()) == 2


def test_an_instance_that_never_becomes_active_stays_not_ready(
    hw: Hostwinds, client: HostwindsClient
) -> None:
    hw.sim.inject(NeverActive())
    created = ensure_instance(client, order()).instance
    assert created is not None
    hw.clock.advance(ACTIVATION_DELAY_S * 100)
    assert not client.get_instance(created.serviceid).ready


def test_a_wrong_key_is_an_auth_failure_without_retries(hw: Hostwinds) -> None:
    with (
        hw.client(key="hwkey-wrong-key-value") as client,
        pytest.raises(HostwindsAuthFailed, match="allow-list") as info,
    ):
        client.get_locations()
    assert "hwkey-wrong" not in str(info.value)
    assert len(hw.sim.requests) == 1


def test_unknown_instances_are_not_found(client: HostwindsClient) -> None:
    with pytest.raises(InstanceNotFound):
        client.get_instance(999_999)


def test_reverse_dns_is_set_on_the_instances_ip(hw: Hostwinds, client: HostwindsClient) -> None:
    created = ensure_instance(client, order()).instance
    assert created is not None
    hw.clock.advance(ACTIVATION_DELAY_S)
    ip = client.get_instance(created.serviceid).main_ip
    assert ip is not None
    client.set_rdns(created.serviceid, ip, "mail.acme-outreach.example")
    assert client.get_instance(created.serviceid).rdns == "mail.acme-outreach.example"
    assert hw.sim.reverse_records()[str(ip)] == "mail.acme-outreach.example"


def test_listing_pages_through_everything(hw: Hostwinds, client: HostwindsClient) -> None:
    hw.sim.seed_instances(2_345)
    instances = list(client.iter_instances(page_size=1000))
    assert len(instances) == 2_345
    assert len({i.serviceid for i in instances}) == 2_345
    assert sum(1 for r in hw.sim.requests if r.action == "get_instances") == 3


class _ListingDownAfterTheOrder:
    """The real client, except that Hostwinds stops answering listings once the order is sent."""

    def __init__(self, client: HostwindsClient) -> None:
        self._client = client
        self.ordered = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def add_instance(self, **order: Any) -> None:
        self.ordered = True
        self._client.add_instance(**order)

    def find_instances_by_name(self, name: str) -> list[Any]:
        if self.ordered:
            raise HostwindsUnavailable("get_instances: no answer")
        return self._client.find_instances_by_name(name)


def test_a_sent_order_whose_listing_fails_is_ordered_not_unavailable(
    hw: Hostwinds, client: HostwindsClient
) -> None:
    """HostwindsUnavailable from ensure_instance promises that nothing was sent (the workflow
    repeats such a call as it is): after the order, a failed look is "ordered, not listed"."""
    wanted = order()
    flaky = _ListingDownAfterTheOrder(client)
    ensured = ensure_instance(cast(HostwindsClient, flaky), wanted, now=T0)
    assert (ensured.instance, ensured.ordered_at) == (None, T0)
    assert hw.add_instance_calls() == 1
    assert find_by_name(client, wanted.name) is not None
