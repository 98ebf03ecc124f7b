"""The provisioning starter the tenant API and billing use, from settings (once per container),
unless a local tool has put another in place (`use_starter`, as `use_database` does for the
database)."""

from __future__ import annotations

import threading
from functools import cache

from inboxfleet.provisioning.ports import ProvisioningStarter

_UNSET = object()
_lock = threading.Lock()
_installed: object = _UNSET


def starter() -> ProvisioningStarter | None:
    """Step Functions when PROVISIONING_STATE_MACHINE_ARN is set; None (requests stay queued
    for reconcile) when it is not, e.g. a function run on its own."""
    with _lock:
        installed = _installed
    if installed is not _UNSET:
        return installed  # type: ignore[return-value]
    from inboxfleet.settings import provisioning_settings_from_env

    return _starter(provisioning_settings_from_env().state_machine_arn)


def use_starter(replacement: ProvisioningStarter | object | None) -> object:
    """Put `replacement` in place of the configured starter for the whole process (local tools
    and tests: a recording starter, or None); returns what was in place, for restoring it
    (pass that back to go back to the configured one)."""
    global _installed
    with _lock:
        previous, _installed = _installed, replacement
    return previous


@cache
def _starter(arn: str | None) -> ProvisioningStarter | None:
    if arn is None:
        from inboxfleet.observability import logger

        logger.warning("PROVISIONING_STATE_MACHINE_ARN is not set: inboxes stay queued")
        return None
    from inboxfleet.provisioning.step_functions import StepFunctionsStarter

    return StepFunctionsStarter(arn)
