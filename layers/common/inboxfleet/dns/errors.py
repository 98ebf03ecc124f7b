"""Named DNS errors; their class names appear in the ASL Retry/Catch."""

from __future__ import annotations


class DnsError(Exception):
    pass


class DnsNotPropagated(DnsError):
    """The authoritative servers do not serve every record yet, or verification is incomplete:
    retry with backoff."""


class DnsConflict(DnsError):
    """The customer's existing records cannot be merged with ours (e.g. two SPF records, or
    more than ten SPF lookups). A human must decide."""


class NotDelegated(DnsError):
    """The parent zone does not delegate the domain to our name servers: the customer must set
    them at the registrar. No server is bought until this is fixed."""


class ZoneMissing(DnsError):
    """The domain is not the tenant's, or its hosted zone is gone: nothing to publish into. A
    new zone would have new name servers and break the delegation, so none is made here."""


class ChangeRefused(DnsError):
    """Route 53 refused a change batch as invalid (its reason in the message): retrying the
    same change cannot help."""


class Blocklisted(DnsError):
    """A blocklist confirmed a listing of the IP or the domain."""


class IpBlocklisted(DnsError):
    """The new server's address is listed: the workflow terminates it and orders another once
    (nothing was published for it)."""


class InvalidDnsCommand(ValueError):
    pass


class DomainStillUsed(DnsError):
    """The domain still has inboxes or servers: they go first (each inbox's teardown)."""
