"""`inboxfleet-local up` (and `demo --keep-running`): the local cloud kept running for a person
with curl, with a customer ready to use it (local/sample_customer.py: entitled, its domain added
through the API and delegated), and the commands to paste: ask for an inbox, watch it, read its
login."""

from __future__ import annotations

import shlex
import signal
import threading
from collections.abc import Callable
from types import FrameType
from uuid import UUID

from local.account import ISSUER_VARIABLE
from local.cloud import LocalCloud
from local.sample_customer import PLAN


def stop_on_signal() -> threading.Event:
    """An event SIGINT and SIGTERM set from now on (both stop the cloud the same way). Installed
    before the ready line is printed: a signal sent the moment it appears must not find the
    default handler still in place."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handle)
    return stop


def endpoints(cloud: LocalCloud, tenant_id: UUID, token: str) -> list[tuple[str, str]]:
    """What `up` prints, one (label, value) per line."""
    dns = cloud.dns.resolver.address
    authoritative = cloud.dns.authoritative.address
    return [
        ("API", cloud.api_url),
        ("tenant", str(tenant_id)),
        ("token", token),
        ("issuer", cloud.issuer.root_url),
        ("Stripe", cloud.stripe.base_url),
        ("Hostwinds", cloud.hostwinds.url),
        ("VPS hosts", f"{cloud.hostwinds.address_book_url} (IP -> SSH, SMTP, IMAP ports)"),
        ("mail TLS CA", f"{cloud.hostwinds.mail_ca_url} (the mail hosts' certificates' issuer)"),
        ("DNS resolver", f"{dns[0]}:{dns[1]} (udp+tcp)"),
        ("reverse DNS", f"{authoritative[0]}:{authoritative[1]} (udp+tcp; and DNSBLs)"),
        ("name servers", f"{cloud.dns.book.url}<name> (each zone its own port)"),
        ("database", cloud.database_url),
    ]


def curl_commands(api: str, token: str, address: str) -> list[str]:
    """Ready to paste into a shell (bash or zsh): the variables, then one command per step;
    the first asks for `address` (one the tenant does not have yet)."""
    auth = '-H "Authorization: Bearer $TOKEN"'
    body = shlex.quote(f'{{"address": "{address}"}}')
    first_id = 'python3 -c \'import json,sys; print(json.load(sys.stdin)["inboxes"][0]["id"])\''
    return [
        f"export API={shlex.quote(api)} TOKEN={shlex.quote(token)}",
        "# ask for an inbox (202: queued, the workflow starts)",
        f'INBOX=$(curl -s -X POST "$API/v1/inboxes" {auth} '
        f"-H 'Content-Type: application/json' -d {body} | {first_id})",
        "# watch it: status and the step timeline",
        f'curl -s "$API/v1/inboxes/$INBOX" {auth}',
        "# once active: its SMTP and IMAP login",
        f'curl -s "$API/v1/inboxes/$INBOX/credentials" {auth}',
    ]


def serve_until_stopped(
    cloud: LocalCloud, tenant_id: UUID, address: str, line: Callable[[str], None]
) -> None:
    """Print where everything is and the curl commands (asking for `address`, on the tenant's
    delegated domain), then wait for Ctrl-C or SIGTERM."""
    domain = address.split("@", 1)[1]
    stop = stop_on_signal()
    token = cloud.token(tenant_id)
    for label, value in endpoints(cloud, tenant_id, token):
        line(f"  {label:<14} {value}")
    line(f"  {'domain':<14} {domain} (delegated, on the {PLAN} plan)")
    line(f"export {ISSUER_VARIABLE}={cloud.issuer.root_url}")
    for command in curl_commands(cloud.api_url, token, address):
        line(command)
    line("Ctrl-C stops everything.")
    stop.wait()
