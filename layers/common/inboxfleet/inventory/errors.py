"""Named errors of the inventory steps. Their class names appear in the ASL Retry/Catch."""

from __future__ import annotations


class InventoryError(Exception):
    pass


class InvalidCommand(InventoryError, ValueError):
    """The event is not a valid inventory command (the message lists what is wrong)."""


class InboxNotFound(InventoryError, LookupError):
    pass


class InvalidTransition(InventoryError):
    """The inbox's current status does not allow the requested one."""


class HostKeyAlreadyPinned(InventoryError):
    """The server row holds another host key: the server was replaced or is impersonated."""


class ServerNotFound(InventoryError, LookupError):
    pass


class InboxNotQueued(InventoryError):
    """The execution was not started for this inbox as it stands (not queued, or queued for
    another execution): it fails at once, changing and buying nothing."""


class ReservationRefused(InventoryError):
    """The inbox cannot be provisioned as things are (no subscription, over the plan's limit,
    domain removed, no location allowed): it fails with this message as its reason."""


class ServerFailed(InventoryError):
    """The inbox's server cannot be had: the one it waited for failed (the inbox fails with the
    server's reason), has been building or going away for too long, or is not the one this
    run ordered (a replacement asked for another server)."""


class NotCompensable(InventoryError):
    """Nothing of that run is left to undo here: the inbox is in service, gone or on another
    attempt, or the run's undoing already succeeded."""


class NotDeleting(InventoryError):
    """Only an inbox marked `deleting` (DELETE /v1/inboxes/{id}, billing's teardown, reconcile)
    is torn down."""


class MailboxBusy(InventoryError):
    """Another convergence run holds the mailbox's lease: this one retries while that run
    applies what is wanted (then it finds nothing to do), and fails if it never lets go (a
    stopped run's lease lasts until it runs out; reconcile applies the change then)."""
