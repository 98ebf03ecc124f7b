"""The reconcile function's collaborators, from settings on first use. A collaborator that is
not configured is None, and the parts needing it are skipped with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inboxfleet.db.connection import default_database
from inboxfleet.provisioning.runtime import workflow_starter
from inboxfleet.reconcile.ports import ReconcileDeps
from inboxfleet.settings import (
    billing_settings_from_env,
    environment_name,
    hostwinds_settings_from_env,
    reconcile_settings_from_env,
)

if TYPE_CHECKING:
    from inboxfleet.billing.ports import BillingDeps
    from inboxfleet.billing.usage import MeterApi
    from inboxfleet.dns.service import DnsDeps
    from inboxfleet.hostwinds.client import HostwindsClient


def deps() -> ReconcileDeps:
    hostwinds = hostwinds_settings_from_env()
    billing = billing_settings_from_env()
    return ReconcileDeps(
        database=default_database(),
        environment=environment_name(),
        settings=reconcile_settings_from_env(),
        hostwinds=_hostwinds if hostwinds.api_key_secret else None,
        starters={w: workflow_starter(w) for w in ("provision", "deprovision", "mailbox")},
        billing=_billing if billing.reminder_sender else None,
        meter=_meter if billing.stripe_api_key_secret else None,
        dns=_dns,
    )


# Built on first use by the part that needs it: a pass that skips a part never imports it.
def _hostwinds() -> HostwindsClient:
    from inboxfleet.hostwinds.runtime import deps as hostwinds_deps

    return hostwinds_deps().client


def _billing() -> BillingDeps:
    from inboxfleet.billing.runtime import billing_deps

    return billing_deps()


def _meter() -> MeterApi:
    from inboxfleet.billing.runtime import stripe_api

    return stripe_api()


def _dns() -> DnsDeps:
    from inboxfleet.dns.runtime import deps as dns_deps

    return dns_deps()
