"""The sample tenant the files in events/ refer to, and how to put it in a database.

`sam local invoke -e events/...`, `python -m local.invoke`, the demo and the tests all use the
same event files; seeding these rows makes those events answer for real.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import (
    BillingAccounts,
    Domains,
    Inboxes,
    InboxEvents,
    Servers,
    TenantDirectory,
)
from inboxfleet.records import Inbox

SAMPLE_TENANT_ID = UUID("7d0c5a52-3c1e-4f7a-9a53-2f4b1c0de001")
SAMPLE_TENANT_NAME = "Acme Outreach"
SAMPLE_DOMAIN = "acme-outreach.example"
SAMPLE_ADDRESS = f"sales@{SAMPLE_DOMAIN}"
SAMPLE_INBOX_ID = UUID("7d0c5a52-3c1e-4f7a-9a53-2f4b1c0de101")
SAMPLE_DOMAIN_ID = UUID("7d0c5a52-3c1e-4f7a-9a53-2f4b1c0de201")
SAMPLE_SERVER_ID = UUID("7d0c5a52-3c1e-4f7a-9a53-2f4b1c0de301")


@dataclass(frozen=True)
class Sample:
    tenant_id: UUID
    inbox: Inbox


def seed_sample() -> Sample:
    """Create the sample tenant with one domain and one inbox awaiting payment.

    Its ids are fixed too, so the rows are inserted with the ids the event files name."""
    with system_session("local.seed") as s:
        TenantDirectory(s).create(
            SAMPLE_TENANT_NAME, "billing@acme-outreach.example", id=SAMPLE_TENANT_ID
        )
    with tenant_session(SAMPLE_TENANT_ID) as s:
        BillingAccounts(s).link_customer("cus_SampleAcme01")
        domain = Domains(s).add(SAMPLE_DOMAIN, domain_id=SAMPLE_DOMAIN_ID)
        Servers(s).add(domain.id, "dallas", "local", server_id=SAMPLE_SERVER_ID)
        inbox = Inboxes(s).add(domain.id, SAMPLE_ADDRESS, inbox_id=SAMPLE_INBOX_ID)
        InboxEvents(s).append(inbox.id, "request", "info", {"source": "local.samples"})
    return Sample(SAMPLE_TENANT_ID, inbox)
