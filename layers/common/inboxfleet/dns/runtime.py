"""The dns function's dependencies, built from settings on first use (one set per container,
settings and database)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from inboxfleet.dns.records import DeliverabilityPolicy
from inboxfleet.dns.route53 import Route53
from inboxfleet.dns.service import DnsDeps
from inboxfleet.dns.verify import Nameserver

if TYPE_CHECKING:
    from inboxfleet.db import Database
    from inboxfleet.settings import DnsSettings


def servers(text: str | None) -> list[Nameserver] | None:
    return [Nameserver.parse(s) for s in text.split(",") if s.strip()] if text else None


def deps() -> DnsDeps:
    # Settings load with the first invocation, as they are first read then (cold start).
    from inboxfleet.settings import dns_settings_from_env

    return _deps(dns_settings_from_env())


def _database() -> Database:
    from inboxfleet.db import default_database

    return default_database()


@cache
def _deps(settings: DnsSettings) -> DnsDeps:
    dqs_key = None
    if settings.dqs_key_secret:
        from inboxfleet.secret_store import get_secret

        dqs_key = get_secret(settings.dqs_key_secret)
    return DnsDeps(
        route53=Route53(),
        database=_database,
        resolvers=servers(settings.resolvers) or [],
        authoritative=servers(settings.authoritative_servers),
        parent=servers(settings.parent_servers),
        blocklist=servers(settings.blocklist_resolvers),
        dqs_key=dqs_key,
        timeout_s=settings.timeout_s,
        concurrency=settings.concurrency,
        name_server_book=settings.name_server_book_url,
        policy=DeliverabilityPolicy(
            dmarc=settings.dmarc_policy, dmarc_report_domain=settings.dmarc_report_domain
        ),
    )
