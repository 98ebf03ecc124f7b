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
