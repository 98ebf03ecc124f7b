"""The tenant API's dependencies, built once per container."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inboxfleet.db.connection import Database
    from inboxfleet.provisioning.ports import ProvisioningStarter


@dataclass
class ApiDeps:
    # None until the provisioning workflow's StartExecution is plugged in (the saga): queued
    # inboxes then wait, with no execution name, for reconcile to start them.
    starter: ProvisioningStarter | None
    database: Database | None = None


@cache
def deps() -> ApiDeps:
    return ApiDeps(starter=None)
