"""The dns Lambda's context, built from settings on first use."""

from __future__ import annotations

from functools import cache

from inboxfleet.dns.records import DeliverabilityPolicy
from inboxfleet.dns.route53 import Route53
from inboxfleet.dns.service import DnsContext
from inboxfleet.dns.verify import Nameserver
from inboxfleet.settings import DnsSettings, dns_settings_from_env


def servers(text: str | None) -> list[Nameserver] | None:
    return [Nameserver.parse(s) for s in text.split(",") if s.strip()] if text else None


def default_context() -> DnsContext:
    return _context(dns_settings_from_env())


@cache
def _context(settings: DnsSettings) -> DnsContext:
    dqs_key = None
    if settings.dqs_key_secret:
        from inboxfleet.secret_store import get_secret

        dqs_key = get_secret(settings.dqs_key_secret)
    return DnsContext(
        route53=Route53(),
        resolvers=servers(settings.resolvers) or [],
        authoritative=servers(settings.authoritative_servers),
        parent=servers(settings.parent_servers),
        blocklist=servers(settings.blocklist_resolvers),
        dqs_key=dqs_key,
        timeout_s=settings.timeout_s,
        concurrency=settings.concurrency,
        policy=DeliverabilityPolicy(
            dmarc=settings.dmarc_policy, dmarc_report_domain=settings.dmarc_report_domain
        ),
    )
