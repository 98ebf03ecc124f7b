"""Reserve: the provisioning workflow's first step, one transaction under the domain's lock.

It decides where the inbox goes (the domain's live server, else a new one in the least-used
location the plan allows), checks what must hold before anything is bought (the execution is
the inbox's, the tenant's standing, the domain's delegation), and keeps the mailbox password
as KMS ciphertext only. Repeating it within one execution answers the same reservation: the
workflow comes back here after a create whose answer it never saw (the order time is recorded
again), and after waiting for another inbox's server; an inbox is admitted by the plan once,
on its first pass. After the delegation check it comes back as a first pass (the inbox is still
queued).
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from inboxfleet.db.repositories import BillingAccounts, Domains, Inboxes, InboxEvents, Servers
from inboxfleet.db.repositories.mailbox_logins import MailboxLogins
from inboxfleet.db.sessions import TenantSession
from inboxfleet.inventory.commands import (
    Path,
    ReplaceServer,
    Reserve,
    Reserved,
    ReservedDomain,
)
from inboxfleet.inventory.errors import (
    InboxNotFound,
    InboxNotQueued,
    ReservationRefused,
    ServerFailed,
)
from inboxfleet.lifecycles import (
    DomainStatus,
    InboxStatus,
    PaymentState,
    ServerStatus,
)
from inboxfleet.names import execution_name, mail_host_of
from inboxfleet.placement import NoAllowedLocation, choose_location
from inboxfleet.records import BillingAccount, Inbox, Server

# Encrypts a mailbox password for (tenant id, inbox id): base64 KMS ciphertext.
Encrypt = Callable[[UUID, UUID, str], str]

_PASSWORD_ALPHABET = string.ascii_letters + string.digits
# How long an inbox waits for its domain's server, built by another inbox's workflow, or for
# the domain's failed server to be given back (a maybe-sent order's grace, and then some).
SERVER_BUILD_LIMIT = timedelta(hours=3)
GIVE_BACK_LIMIT = timedelta(hours=2)
PASSWORD_LENGTH = 24  # ~143 bits; letters and digits only, so any client and export takes it


def mailbox_password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def reserve(
    session: TenantSession, command: Reserve, *, environment: str, encrypt: Encrypt
) -> Reserved:
    inboxes = Inboxes(session)
    inbox = inboxes.get(command.inbox_id)
    if inbox is None:
        raise InboxNotFound(f"inbox {command.inbox_id} not found for this tenant")
    repeat = _check_execution(inbox, command.execution)
    domains = Domains(session)
    domain = domains.live(inbox.domain_id, lock=True)
    if domain is None:
        raise ReservationRefused(f"the domain of {inbox.address} was removed")
    reserved = ReservedDomain(id=domain.id, name=domain.name)
    if domain.status == DomainStatus.PENDING_DELEGATION:
        if not command.delegation_confirmed:
            _log(session, inbox, repeat=repeat, path="check_delegation")
            return _answer("check_delegation", inbox, reserved)
        domains.record_delegation(domain.id, delegated=True, found=domain.name_servers)
        InboxEvents(session).append(inbox.id, "check_delegation", "succeeded", {})
    account = BillingAccounts(session).get()
    if not repeat:
        # Admitted once per attempt: a plan lowered while the inbox waits does not fail it
        # (billing's downgrade grace decides what goes), only an unpaid account stops an order.
        _check_entitled(account)
        _check_room(session, inbox, account)
    path, server, previous_order = _place(
        session,
        inbox,
        domain.id,
        account,
        execution=command.execution,
        repeat=repeat,
        environment=environment,
    )
    if not repeat:
        moved = inboxes.transition(
            inbox.id,
            InboxStatus.PROVISIONING,
            by="workflow",
            why=f"reserved ({path.replace('_', ' ')})",
            expected=InboxStatus.QUEUED,
        )
        if moved is None:
            raise InboxNotQueued(f"inbox {inbox.id} left the queue while it was reserved")
    # An inbox waiting for the domain's old server to be given back is on no server yet.
    waits_for_old = server.status == ServerStatus.DECOMMISSIONING
    inboxes.assign(inbox.id, None if waits_for_old else server.id, command.execution)
    ciphertext = _password(session, inbox, encrypt)
    _log(
        session,
        inbox,
        repeat=repeat,
        path=path,
        server=None if waits_for_old else server,
        previous_order=previous_order,
    )
    return _answer(
        path, inbox, reserved, server=server, previous_order=previous_order, ciphertext=ciphertext
    )


def replace(
    session: TenantSession, command: ReplaceServer, *, environment: str, encrypt: Encrypt
) -> Reserved:
    """A fresh order for an inbox whose new server's address was listed (that instance is
    terminated already); once per execution: a second listed address fails the inbox.
    Repeated after it committed, it answers the same order."""
    inboxes = Inboxes(session)
    inbox = inboxes.get(command.inbox_id)
    if inbox is None:
        raise InboxNotFound(f"inbox {command.inbox_id} not found for this tenant")
    if not _check_execution(inbox, command.execution):
        raise InboxNotQueued(f"inbox {inbox.id} has not been reserved by this execution")
    domain = Domains(session).live(inbox.domain_id, lock=True)
    if domain is None:
        raise ReservationRefused(f"the domain of {inbox.address} was removed")
    servers = Servers(session)
    reserved = ReservedDomain(id=domain.id, name=domain.name)
    old = servers.get(command.server_id)
    again = _replaced_before(servers, inbox, old, command.execution)
    if again is not None:
        # Asked again after it committed (its answer lost): the same new order, not a third.
        ciphertext = _password(session, inbox, encrypt)
        return _answer("new_server", inbox, reserved, server=again, ciphertext=ciphertext)
    if old is None or old.ordered_by != command.execution or inbox.server_id != old.id:
        raise ServerFailed(f"server {command.server_id} is not the one ordered for {inbox.address}")
    if servers.ordered_by(command.execution) > 1:
        raise ReservationRefused(
            "the addresses of two new servers in a row were blocklisted: try again later"
        )
    listed = f"its address {old.ip} is blocklisted; terminated and ordered again"
    servers.move(old.id, ServerStatus.FAILED, failure_reason=listed)
    servers.move(old.id, ServerStatus.DECOMMISSIONING)
    servers.move(old.id, ServerStatus.DECOMMISSIONED)
    account = BillingAccounts(session).get()
    server = _order(servers, inbox, domain.id, account, command.execution, environment)
    inboxes.assign(inbox.id, server.id, command.execution)
    events = InboxEvents(session)
    events.append(inbox.id, "publish_host", "failed", {"reason": listed})
    events.append(inbox.id, "create_server", "started", {"replacing": old.name})
    ciphertext = _password(session, inbox, encrypt)
    return _answer("new_server", inbox, reserved, server=server, ciphertext=ciphertext)


def _replaced_before(
    servers: Servers, inbox: Inbox, old: Server | None, execution: str
) -> Server | None:
    """The server an earlier pass of this replacement ordered, if that pass committed: the old
    one given back, the inbox on a new one this run ordered that is still being created."""
    if old is None or old.status != ServerStatus.DECOMMISSIONED or old.ordered_by != execution:
        return None
    if inbox.server_id is None or inbox.server_id == old.id:
        return None
    current = servers.get(inbox.server_id)
    if current is None or current.ordered_by != execution:
        return None
    return current if current.status == ServerStatus.CREATING else None


def _place(
    session: TenantSession,
    inbox: Inbox,
    domain_id: UUID,
    account: BillingAccount | None,
    *,
    execution: str,
    repeat: bool,
    environment: str,
) -> tuple[Path, Server, datetime | None]:
    """The domain's live server and the path to it, or a new server ordered by this execution
    (with when an earlier pass of it recorded the order: each pass records its own, as the
    create step after it may order again)."""
    servers = Servers(session)
    server = servers.live_on_domain(domain_id)
    if server is None:
        if repeat and inbox.server_id is not None:
            # It was waiting for a server that has failed since (an earlier attempt's server
            # is no concern of this one: a retry orders anew).
            gone = servers.get(inbox.server_id)
            why = (gone.failure_reason if gone else None) or "it was removed"
            raise ServerFailed(f"the server {inbox.address} was waiting for failed: {why}")
        going = servers.being_given_back(domain_id)
        if going is not None:
            # Its compensation may still delete the domain's records: a new server's would go.
            since = going.updated_at or going.created_at
            if datetime.now(UTC) - since > GIVE_BACK_LIMIT:
                raise ServerFailed(
                    f"the previous mail server of {inbox.address} has been on its way out for "
                    f"over {GIVE_BACK_LIMIT}; reconcile will finish it, then retry"
                )
            return "wait_for_server", going, None
        if repeat:  # admitted while it waited: the account must still be paid to buy
            _check_entitled(account)
        ordered = _order(servers, inbox, domain_id, account, execution, environment)
        return "new_server", ordered, None
    if server.status == ServerStatus.READY:
        return "existing_server", server, None
    if server.status in (ServerStatus.CREATING, ServerStatus.INSTALLING):
        if server.ordered_by == execution:
            # A create tried again: the one before may have ordered just before it timed out,
            # so an order counts as sent from now (recorded first, as every order is).
            recorded = None
            if server.status == ServerStatus.CREATING:
                recorded = servers.record_order(server.id)
            return "new_server", server, recorded or server.ordered_at
        # Counted from its latest order: a create tried again waits out the grace first.
        if datetime.now(UTC) - (server.ordered_at or server.created_at) > SERVER_BUILD_LIMIT:
            # Its own workflow's waits after an order are bounded well within this: stuck.
            raise ServerFailed(
                f"the mail server of {inbox.address} has been building for over "
                f"{SERVER_BUILD_LIMIT}; reconcile will undo it, then retry"
            )
        return "wait_for_server", server, None
    raise ReservationRefused(f"the mail server of {inbox.address} is {server.status}")


def _order(  # noqa: PLR0917 - the order's every part, named at both call sites
    servers: Servers,
    inbox: Inbox,
    domain_id: UUID,
    account: BillingAccount | None,
    execution: str,
    environment: str,
) -> Server:
    """A new server row for this execution in the least-used location the plan allows: the
    order is recorded (before Hostwinds is called)."""
    allowed = list(account.allowed_locations) if account else []
    try:
        location = choose_location(allowed, servers.live_per_location())
    except NoAllowedLocation as exc:
        raise ReservationRefused(str(exc)) from None
    return servers.add(domain_id, location, environment, ordered_for=inbox.id, ordered_by=execution)


def _check_execution(inbox: Inbox, execution: str) -> bool:
    """True when this execution reserved the inbox before (a repeat); raises unless the inbox
    is queued and this is its current attempt's execution (<inbox id>-<attempt>, as started)."""
    if inbox.status == InboxStatus.PROVISIONING and inbox.execution_name == execution:
        return True
    if inbox.status == InboxStatus.QUEUED and execution == execution_name(inbox.id, inbox.attempt):
        return False
    raise InboxNotQueued(
        f"inbox {inbox.id} is {inbox.status} at attempt {inbox.attempt}: "
        f"execution {execution} provisions nothing"
    )


def _check_entitled(account: BillingAccount | None) -> None:
    """The tenant may buy now: subscribed and paid up."""
    if account is None or account.max_inboxes <= 0:
        raise ReservationRefused("the tenant has no active subscription: subscribe, then retry")
    if account.payment_state == PaymentState.SUSPENDED:
        raise ReservationRefused("the account is suspended for an unpaid invoice: pay it, retry")


def _check_room(session: TenantSession, inbox: Inbox, account: BillingAccount | None) -> None:
    """The plan has room for this inbox beside those asked for before it."""
    limit = account.max_inboxes if account else 0
    before = Inboxes(session).in_use_before(inbox)
    if before >= limit:
        raise ReservationRefused(
            f"the plan allows {limit} inboxes and {before} are in use: "
            "upgrade the plan or delete an inbox, then retry"
        )


def _password(session: TenantSession, inbox: Inbox, encrypt: Encrypt) -> str:
    """The mailbox password's ciphertext, made once per attempt and kept on the inbox."""
    if inbox.password_ciphertext is not None:
        return base64.b64encode(inbox.password_ciphertext).decode()
    ciphertext = encrypt(inbox.tenant_id, inbox.id, mailbox_password())
    MailboxLogins(session).store_password(inbox.id, base64.b64decode(ciphertext))
    return ciphertext


_NEXT_STEP: dict[Path, str] = {
    "new_server": "create_server",
    "existing_server": "configure_mailbox",
    "wait_for_server": "wait_for_server",
    "check_delegation": "check_delegation",
}


def _log(
    session: TenantSession,
    inbox: Inbox,
    *,
    repeat: bool,
    path: Path,
    server: Server | None = None,
    previous_order: datetime | None = None,
) -> None:
    """Timeline: the reservation once, then only what changes on a repeat: a create tried
    again, or a wait that ended (on the server it waited for, or with an order of its own once
    the old one was given back); a repeated wait writes nothing."""
    events = InboxEvents(session)
    detail: dict[str, str | None] = {"path": path}
    if server is not None:
        detail |= {"server": server.name, "location": server.location}
    if path == "check_delegation":
        pass  # reserved only once the parent zone has been asked (the pass after)
    elif not repeat:
        events.append(inbox.id, "reserve", "succeeded", detail)
    elif path == "wait_for_server":
        return
    elif path == "new_server" and previous_order is not None:
        events.append(inbox.id, "create_server", "retrying", detail)
        return
    else:
        events.append(inbox.id, "wait_for_server", "succeeded", detail)
    events.append(inbox.id, _NEXT_STEP[path], "started", {})


def _answer(
    path: Path,
    inbox: Inbox,
    domain: ReservedDomain,
    *,
    server: Server | None = None,
    previous_order: datetime | None = None,
    ciphertext: str | None = None,
) -> Reserved:
    return Reserved.model_validate(
        {
            "path": path,
            "inbox_id": inbox.id,
            "address": inbox.address,
            "domain": domain,
            "mail_host": mail_host_of(domain.name),
            "server": server,
            "previous_order": previous_order,
            "password_ciphertext": ciphertext,
        }
    )
