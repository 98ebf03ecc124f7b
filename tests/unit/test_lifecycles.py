from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import pytest

from inboxfleet.lifecycles import (
    DOMAIN_TRANSITIONS,
    INBOX_TRANSITIONS,
    SERVER_TRANSITIONS,
    DomainStatus,
    InboxStatus,
    ServerStatus,
    can_transition_inbox,
    inbox_predecessors,
)


@pytest.mark.parametrize(
    ("table", "enum"),
    [
        (INBOX_TRANSITIONS, InboxStatus),
        (SERVER_TRANSITIONS, ServerStatus),
        (DOMAIN_TRANSITIONS, DomainStatus),
    ],
)
def test_every_status_has_an_entry_and_targets_are_known(
    table: Mapping[StrEnum, frozenset[StrEnum]], enum: type[StrEnum]
) -> None:
    statuses = set(table)
    assert statuses == set(enum)
    for targets in table.values():
        assert targets <= statuses


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (InboxStatus.AWAITING_PAYMENT, InboxStatus.QUEUED, True),
        (InboxStatus.QUEUED, InboxStatus.PROVISIONING, True),
        (InboxStatus.PROVISIONING, InboxStatus.ACTIVE, True),
        (InboxStatus.ACTIVE, InboxStatus.SUSPENDED, True),
        (InboxStatus.SUSPENDED, InboxStatus.ACTIVE, True),
        (InboxStatus.PROVISIONING, InboxStatus.FAILED, True),
        (InboxStatus.FAILED, InboxStatus.DELETING, True),
        (InboxStatus.DELETING, InboxStatus.DELETED, True),
        (InboxStatus.AWAITING_PAYMENT, InboxStatus.ACTIVE, False),
        (InboxStatus.DELETED, InboxStatus.ACTIVE, False),
        (InboxStatus.ACTIVE, InboxStatus.PROVISIONING, False),
    ],
)
def test_inbox_transitions(current: InboxStatus, target: InboxStatus, allowed: bool) -> None:
    assert can_transition_inbox(current, target) is allowed


def test_predecessors_are_the_inverse_of_transitions() -> None:
    for target in InboxStatus:
        for current in InboxStatus:
            assert (current in inbox_predecessors(target)) == can_transition_inbox(current, target)


def test_deleted_is_terminal() -> None:
    assert INBOX_TRANSITIONS[InboxStatus.DELETED] == frozenset()
