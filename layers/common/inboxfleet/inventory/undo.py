"""What compensation and teardown share: the steps an undo plan takes (decided once, under the
domain lock, and redone as far as they still hold), where each step is sent, and the reason a
step's failure gives."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from inboxfleet.db.repositories import Domains
from inboxfleet.inventory.commands import ReservedDomain
from inboxfleet.lifecycles import SERVING, ServerStatus
from inboxfleet.names import mail_host_of
from inboxfleet.records import Domain, Inbox, Server

REASON_LIMIT = 500


@dataclass(frozen=True)
class UndoSteps:
    remove_mailbox: bool  # the server stays: others use it
    delete_records: bool  # our records go with the server
    terminate: bool  # the server goes

    @classmethod
    def decided(
        cls, server: Server | None, *, terminate: bool, domains: Domains, domain_id: UUID
    ) -> UndoSteps:
        """Decided now: the server goes (and our records with it: the domain is `degraded`
        until a new server's records are verified), or only the mailbox from a server in
        service."""
        delete_records = terminate and server is not None and server.ip is not None
        if delete_records:
            domains.mark_degraded(domain_id)
        remove_mailbox = (
            server is not None
            and not terminate
            and server.status in SERVING
            and server.host_key_fingerprint is not None
        )
        return cls(remove_mailbox, delete_records, terminate)

    @classmethod
    def again(cls, earlier: Mapping[str, Any], server: Server | None) -> UndoSteps:
        """A plan decided before (its timeline entry), as far as it still holds: only that plan
        moved the server out of service, so it is still its to give back while decommissioning;
        records go only with it (no other server can be on the domain meanwhile)."""
        status = server.status if server is not None else None
        terminate = bool(earlier["terminate_server"]) and status == ServerStatus.DECOMMISSIONING
        return cls(
            remove_mailbox=bool(earlier["remove_mailbox"]) and status in SERVING,
            delete_records=bool(earlier["delete_records"]) and terminate,
            terminate=terminate,
        )

    def detail(self) -> dict[str, bool]:
        """The plan's timeline entry (what `again` reads back)."""
        return {
            "remove_mailbox": self.remove_mailbox,
            "delete_records": self.delete_records,
            "terminate_server": self.terminate,
        }

    def plan(self, domain: Domain, inbox: Inbox, server: Server | None) -> dict[str, Any]:
        """The fields an undo plan (CompensationPlan, TeardownPlan) shares: the steps, and
        where each is sent."""
        serviceid = (
            int(server.provider_instance_id) if server and server.provider_instance_id else None
        )
        return {
            "remove_mailbox": self.remove_mailbox,
            "delete_records": self.delete_records,
            "terminate": self.terminate,
            "domain": ReservedDomain(id=domain.id, name=domain.name),
            "mail_host": mail_host_of(domain.name),
            "address": inbox.address,
            "server_id": server.id if server else None,
            "server_name": server.name if server else None,
            "serviceid": serviceid,
            "server_ip": str(server.ip) if server and server.ip else None,
            "host_key_fingerprint": server.host_key_fingerprint if server else None,
            # Once the instance has been seen, the name finds it (and any duplicate) at once;
            # else an order younger than the grace may still be on its way into the listings.
            # For one never seen, now: a create may have ordered again (after the grace) since
            # the first order was recorded, so the grace counts from the latest it can have
            # been sent.
            "ordered_at": datetime.now(UTC) if server and serviceid is None else None,
        }


def failure_reason(step: str | None, error: str, cause: str | None) -> str:
    """What a person reads: the step, the named error and its message (never a stack trace)."""
    message = _message(cause)
    where = f"{step.replace('_', ' ')} failed" if step else "provisioning failed"
    text = f"{where}: {error}" + (f": {message}" if message else "")
    return text[: REASON_LIMIT - 1] + "…" if len(text) > REASON_LIMIT else text


def caught_reason(step: str | None, failure: Mapping[str, str | None]) -> str:
    """The reason a Catch's `{Error, Cause}` gives for a step."""
    return failure_reason(step, str(failure.get("Error") or "States.Runtime"), failure.get("Cause"))


def _message(cause: str | None) -> str:
    """Lambda's error document carries the message; Step Functions' own errors are text."""
    if not cause:
        return ""
    try:
        document = json.loads(cause)
    except ValueError:
        return cause.strip()
    if isinstance(document, dict):
        return str(document.get("errorMessage") or "").strip()
    return cause.strip()
