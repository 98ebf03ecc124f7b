"""Named Hostwinds errors. Their class names appear in the state machine's Retry/Catch, so a
subclass is listed there by its own name. Messages carry the action and Hostwinds' own error
text, never a response payload (those hold root passwords) and never the API key."""

from __future__ import annotations


class HostwindsError(Exception):
    pass


class HostwindsUnavailable(HostwindsError):
    """Transient: timeout, dropped connection, 5xx or HTML page, empty or truncated body.
    Safe to retry for reads; for add_instance see CreateOutcomeUnknown."""


class CreateOutcomeUnknown(HostwindsUnavailable):
    """add_instance was sent but no answer came back: the server may or may not exist. Only a
    lookup by its unique name can tell; never re-send add_instance before that lookup."""


class HostwindsProtocolError(HostwindsError):
    """Readable JSON in a shape the client does not know: Hostwinds changed, or the reference
    was wrong. Not retried; needs a look."""


class HostwindsRejected(HostwindsError):
    """Hostwinds answered and said no. Repeating the same request will not help."""


class HostwindsAuthFailed(HostwindsRejected):
    """Wrong or expired API key, or a call from an IP outside the key's allow-list."""


class InstanceNotFound(HostwindsRejected):
    pass


class UnknownLocation(HostwindsRejected):
    pass


class DuplicateInstances(HostwindsRejected):
    """More than one instance carries a name we create uniquely: needs a human (compensation
    by name still terminates them all)."""


class VpsNotReady(HostwindsError):
    """The instance exists but is not ACTIVE with an IP yet: retry later (bounded by the ASL)."""
