"""The tenant API's inbox operations, each in the caller's tenant session: another tenant's
inbox is missing here exactly like one that does not exist, and nothing is written for it."""

from __future__ import annotations

from uuid import UUID

from inboxfleet.api.admission import CHECKOUT_PATH, Occupancy, admit, admit_retry
from inboxfleet.api.cursor import decode_cursor, split_page
from inboxfleet.api.errors import Conflict, InvalidRequest, NotFound
from inboxfleet.api.inbox_views import (
    InboxesAccepted,
    InboxPage,
    InboxSummary,
    InboxView,
    NextStep,
)
from inboxfleet.api.runtime import ApiDeps
from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import BillingAccounts, Domains, Inboxes, InboxEvents
from inboxfleet.db.sessions import TenantSession
from inboxfleet.lifecycles import INBOXES_IN_USE, InboxStatus
from inboxfleet.names import customer_domain, execution_name
from inboxfleet.observability import count, logger
from inboxfleet.provisioning.start import start_queued, start_teardowns
from inboxfleet.records import Inbox

_I = InboxStatus
CHECK_OUT = NextStep(
    code="checkout",
    message="No active subscription yet: these inboxes wait until a checkout completes.",
    path=CHECKOUT_PATH,
)
# Already on its way out: a repeated DELETE answers as the first did.
_GOING = frozenset({_I.DELETING, _I.DELETED})
TIMELINE_ENTRIES = 200  # the newest entries of an inbox's timeline in its answer


def _summary(inbox: Inbox) -> InboxSummary:
    # Only the view's fields are taken (pydantic ignores the rest): no ciphertext, no server.
    return InboxSummary.model_validate(inbox.model_dump())


def list_inboxes(
    tenant_id: UUID,
    deps: ApiDeps,
    *,
    limit: int,
    cursor: str | None,
    status: InboxStatus | None,
    domain: str | None,
) -> InboxPage:
    with tenant_session(tenant_id, database=deps.database) as s:
        # Inside the session: an unknown tenant is a 403 before its query is looked at.
        after = decode_cursor(cursor) if cursor else None
        domain = _domain_filter(domain) if domain else None
        rows = Inboxes(s).page(limit=limit + 1, after=after, status=status, domain=domain)
    page, next_cursor = split_page(rows, limit)
    return InboxPage(inboxes=[_summary(row) for row in page], next_cursor=next_cursor)


def describe_inbox(tenant_id: UUID, inbox_id: UUID, deps: ApiDeps) -> InboxView:
    with tenant_session(tenant_id, database=deps.database) as s:
        inbox = _existing(s, inbox_id)
        # The newest entries only: every credentials read and export adds one, and the answer
        # must stay small however long the inbox lives.
        timeline = InboxEvents(s).timeline(inbox_id, last=TIMELINE_ENTRIES)
    timeline_rows = [entry.model_dump() for entry in timeline]
    return InboxView.model_validate({**inbox.model_dump(), "timeline": timeline_rows})


def request_inboxes(
    tenant_id: UUID, wanted: list[tuple[str, str]], deps: ApiDeps
) -> InboxesAccepted:
    """Record the addresses asked for (field, address), all or none: each on one of the
    tenant's domains, none already live, within what the account takes. Queued ones are handed
    to the provisioning starter once recorded."""
    with tenant_session(tenant_id, database=deps.database) as s:
        # Inside the session: an unknown tenant is a 403 before its request is looked at.
        _refuse_repeats(wanted)
        # Before anything is counted: requests, retries and billing's releases take turns.
        account = BillingAccounts(s).lock()
        # Shared locks on the domains: one being removed meanwhile is waited for, then absent.
        named = Domains(s).named(sorted({_domain_of(a) for _, a in wanted}), lock=True)
        domains = {d.name: d.id for d in named}
        for field, address in wanted:
            if _domain_of(address) not in domains:
                raise InvalidRequest(
                    f"{_domain_of(address)} is not one of your domains: add it first",
                    field=field,
                )
        inboxes = Inboxes(s)
        live = {i.address: i for i in inboxes.live_with_addresses([a for _, a in wanted])}
        for field, address in wanted:
            if address in live:
                held = live[address]
                raise Conflict(
                    f"{address} is already requested (inbox {held.id}, {held.status})",
                    field=field,
                )
        status = admit(account, occupancy(inboxes), len(wanted))
        why = "requested" if status == _I.QUEUED else "requested; waits for a subscription"
        added = inboxes.request([(domains[_domain_of(a)], a) for _, a in wanted], status, why=why)
    count("InboxesRequested", len(added))
    if status == _I.QUEUED:
        _start(tenant_id, added, deps)
    return InboxesAccepted(
        inboxes=[_summary(i) for i in added],
        next_step=CHECK_OUT if status == _I.AWAITING_PAYMENT else None,
    )


def delete_inbox(tenant_id: UUID, inbox_id: UUID, deps: ApiDeps) -> InboxSummary:
    """Mark the inbox `deleting` and start its teardown; one already on its way out answers as
    it stands, and its teardown is asked for again: nothing while a run is under way, else
    the next run (a start lost the first time, or a run that ended with the inbox still
    `deleting`)."""
    with tenant_session(tenant_id, database=deps.database) as s:
        inbox = _existing(s, inbox_id)
        moved: Inbox | None = inbox if inbox.status in _GOING else None
        if moved is None:
            # From whatever deletable status it has when written (billing or the workflow may
            # have moved it since it was read): the transition checks that under the row's lock.
            moved = Inboxes(s).transition(
                inbox_id, _I.DELETING, by="tenant", why="deleted by the tenant"
            )
            if moved is not None:
                count("InboxesDeleted")
        if moved is None:
            moved = _existing(s, inbox_id)
            if moved.status not in _GOING:
                raise Conflict(
                    f"this inbox is being provisioned ({moved.status}): delete it once it is "
                    "active or failed",
                    field="path.inbox_id",
                )
    if moved.status == _I.DELETING:
        start_teardowns(deps.teardown, tenant_id, [inbox_id])
    return _summary(moved)


def retry_inbox(tenant_id: UUID, inbox_id: UUID, deps: ApiDeps) -> InboxSummary:
    """A failed inbox gets a new attempt of the workflow (a new execution name)."""
    with tenant_session(tenant_id, database=deps.database) as s:
        account = BillingAccounts(s).lock()
        inbox = _existing(s, inbox_id)
        if inbox.status != _I.FAILED:
            raise Conflict(
                f"only a failed inbox can be retried; this one is {inbox.status}",
                field="path.inbox_id",
            )
        _check_undone(s, inbox)
        inboxes = Inboxes(s)
        admit_retry(account, occupancy(inboxes))
        moved = inboxes.transition(
            inbox_id, _I.QUEUED, by="tenant", why="retried by the tenant", expected=_I.FAILED
        )
        if moved is None:  # deleted meanwhile: the account lock does not hold an inbox's status
            now = _existing(s, inbox_id)
            raise Conflict(
                f"only a failed inbox can be retried; this one is {now.status}",
                field="path.inbox_id",
            )
    count("InboxesRetried")
    _start(tenant_id, [moved], deps)
    return _summary(moved)


def _check_undone(session: TenantSession, inbox: Inbox) -> None:
    """A failed run whose undoing did not finish may still hold the server it gave back (and
    our records on the domain): a retry would order beside it. Compensating that run again
    (the workflow's compensation entry) finishes it. A mailbox left on a shared server holds
    nothing up: the retry sets it up again."""
    run = execution_name(inbox.id, inbox.attempt)
    end = InboxEvents(session).undo_end(inbox.id, run)
    if end is not None and end.outcome == "failed" and end.detail.get("server_left", True):
        raise Conflict(
            f"the undoing of the failed run {run} did not finish and its server may still be "
            "there; it is finished by compensating that run again, then the inbox can be retried",
            field="path.inbox_id",
        )


def _existing(session: TenantSession, inbox_id: UUID) -> Inbox:
    inbox = Inboxes(session).get(inbox_id)
    if inbox is None:
        raise NotFound(f"no inbox {inbox_id}", field="path.inbox_id")
    return inbox


def occupancy(inboxes: Inboxes) -> Occupancy:
    """The tenant's inboxes as the plan counts them (requests, retries, the billing view)."""
    return Occupancy(
        in_use=inboxes.count_in(INBOXES_IN_USE),
        awaiting_payment=inboxes.count_by_status(_I.AWAITING_PAYMENT),
    )


def _domain_filter(value: str) -> str:
    try:
        return customer_domain(value)
    except ValueError as exc:
        raise InvalidRequest(str(exc), field="query.domain") from None


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2]


def _refuse_repeats(wanted: list[tuple[str, str]]) -> None:
    seen: dict[str, str] = {}
    for field, address in wanted:
        if address in seen:
            raise InvalidRequest(
                f"{address} is asked for twice (also {seen[address]})", field=field
            )
        seen[address] = field


def _start(tenant_id: UUID, inboxes: list[Inbox], deps: ApiDeps) -> None:
    """The request is recorded whatever happens here: an inbox whose start fails stays queued
    without an execution, and reconcile starts it."""
    try:
        start_queued(tenant_id, inboxes, deps.starter, deps.database)
    except Exception as exc:
        logger.warning(
            "provisioning not started now; reconcile starts it",
            extra={"error": type(exc).__name__, "inboxes": len(inboxes)},
        )
        count("ProvisioningStartDeferred", len(inboxes))
