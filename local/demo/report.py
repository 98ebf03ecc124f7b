"""After the runs: the inboxes used as a customer uses them (credentials from the API, SMTP and
IMAP on the server), the domain as the world's resolvers answer it, and the summary tables -
what each inbox is and costs, each record and its verification, and with `--fail-at`, what was
bought and what was undone (checked against the simulators, not taken on the workflow's word)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from inboxfleet.db import tenant_session
from inboxfleet.db.repositories import Domains, Servers
from inboxfleet.lifecycles import LIVE_SERVER
from inboxfleet.provisioning.costs import inbox_cost
from inboxfleet.records import Server
from local.demo.dns_answers import deliverability_answers
from local.demo.mail_check import MailTrial, try_the_mailboxes
from local.hostwinds_sim.account import PLAN
from local.hostwinds_sim.catalogue import plan_price
from local.provisioning_runs import record_sets_beyond_the_zones_own, run_cost

if TYPE_CHECKING:
    from local.demo.story import Story


class DemoFailed(RuntimeError):
    """The story cannot go on; the message says why in the customer's terms."""


VALUE_WIDTH = 56
TYPE_ORDER = {"A": 0, "MX": 1, "TXT": 2, "CNAME": 3, "SRV": 4}


@dataclass
class Outcome:
    fault: bool  # --fail-at armed one
    active: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    mail: MailTrial | None = None
    dns_ok: bool = False
    left_instances: int = 0  # at Hostwinds, used by no active inbox
    left_records: int = 0  # of ours, in the zones of domains with no active inbox
    undo_incomplete: int = 0  # failed inboxes whose compensation did not finish

    def problems(self) -> list[str]:
        """What the demo promised and did not get. Without a fault: every inbox active, mail
        through, every record answered. With one: the failed inboxes' undoing finished and left
        nothing that no active inbox uses, and whatever is active works."""
        found = []
        if self.failed and not self.fault:
            found.append(f"{len(self.failed)} inbox(es) failed with no fault injected")
        if self.left_instances:
            found.append(f"{self.left_instances} VPS(s) left at Hostwinds that nothing uses")
        if self.left_records:
            found.append(f"{self.left_records} record set(s) of ours left that nothing uses")
        if self.undo_incomplete:
            found.append(f"{self.undo_incomplete} failed inbox(es) whose undoing did not finish")
        if self.active and not (self.mail is not None and self.mail.ok):
            found.append("the active inboxes did not send and receive mail as they should")
        if self.active and not self.dns_ok:
            found.append("a record of an active inbox's domain went unanswered")
        return found

    @property
    def ok(self) -> bool:
        return not self.problems()


def report(story: Story) -> Outcome:
    you = story.you()
    inboxes = {address: you.inbox(inbox_id) for address, inbox_id in story.inboxes.items()}
    outcome = Outcome(
        fault=story.options.fail_at is not None,
        active=[a for a, i in inboxes.items() if i["status"] == "active"],
        failed=[a for a, i in inboxes.items() if i["status"] == "failed"],
    )
    servers = {s["domain"]: s for s in you.servers() if s["status"] == "ready"}
    for address in outcome.failed:
        story.view.say(f"{address} failed: {inboxes[address]['failure_reason']}")
    # Each domain as GET /v1/domains/{id} shows it once the runs have ended: its name servers,
    # its records and their verification.
    domains = {name: you.domain(domain_id) for name, domain_id in story.domains.items()}
    if outcome.active:
        outcome.mail = try_the_mailboxes(story, outcome.active)
        outcome.dns_ok = _dns(story, servers, domains)
    _inbox_table(story, inboxes, servers)
    if outcome.active:
        _records_table(story, domains.values())
    if story.options.fail_at or outcome.failed:
        _undone(story, inboxes, outcome)
    return outcome


def _dns(
    story: Story, servers: dict[str, dict[str, Any]], domains: dict[str, dict[str, Any]]
) -> bool:
    dns = story.cloud.dns
    everything = True
    for domain, view in domains.items():
        server = servers.get(domain)
        if server is None:
            continue
        name_server = view["delegation"]["name_servers"][0]
        story.view.heading(f"DNS answers for {domain} (dig @{name_server.rstrip('.')}, over UDP)")
        address = dns.name_server_address(name_server)
        if address is None:
            raise DemoFailed(f"no local server plays the name server {name_server}")
        dkim = next((r["name"] for r in view["records"] or [] if "._domainkey." in r["name"]), "")
        ip = str(server["ip"]) if server.get("ip") else None
        answers = deliverability_answers(
            address, dns.authoritative.address, domain, dkim.rstrip("."), ip
        )
        for answer in answers:
            shown = " | ".join(answer.values) if answer.values else f"({answer.error})"
            story.view.say(f"{answer.what:<12} {answer.type:<4} {answer.name}: {_cut(shown, 90)}")
            everything = everything and bool(answer.values)
    return everything


def _inbox_table(
    story: Story, inboxes: dict[str, dict[str, Any]], servers: dict[str, dict[str, Any]]
) -> None:
    vps_month = plan_price(PLAN)
    sharing = Counter(a.split("@", 1)[1] for a, i in inboxes.items() if i["status"] == "active")
    runs = {run.address: run for run in story.runs}
    rows = []
    for address, inbox in inboxes.items():
        domain = address.split("@", 1)[1]
        server = servers.get(domain, {})
        run = runs[address]
        cost = run_cost(story.cloud, run.execution)
        month = inbox_cost(cost, vps_month, sharing[domain]).month_usd
        rows.append(
            (
                address,
                str(inbox["status"]),
                str(server.get("ip") or "-"),
                str(server.get("location") or "-"),
                f"{run.elapsed_s:.1f}s",
                str(cost.transitions),
                str(cost.lambda_calls),
                f"{cost.usd:.6f}",
                f"{month:.2f}" if inbox["status"] == "active" else "-",
            )
        )
    story.view.table(
        "Summary: the inboxes",
        (
            "inbox",
            "status",
            "IP",
            "location",
            "time",
            "transitions",
            "Lambda calls",
            "AWS $ once",
            "VPS+zone $/month",
        ),
        rows,
    )
    story.view.say(
        "AWS $: Step Functions transitions + Lambda requests and GB-s of this run (us-east-1, "
        "arm64); $/month: the Hostwinds plan and the Route 53 zone, shared by the domain's inboxes"
    )


def _records_table(story: Story, domains: Iterable[dict[str, Any]]) -> None:
    rows = []
    verdicts = []
    for domain in domains:
        records = [r for r in domain["records"] or [] if r["type"] not in ("SOA", "NS")]
        for record in sorted(records, key=lambda r: (TYPE_ORDER.get(r["type"], 9), r["name"])):
            shared = not record["managed"] and any("v=spf1" in v for v in record["values"])
            if not record["managed"] and not shared:
                continue  # the tenant's own
            rows.append(
                (
                    record["type"],
                    record["name"].rstrip("."),
                    _cut(" ".join(record["values"]), VALUE_WIDTH),
                    "shared: our SPF" if shared else "ours",
                    record["authoritative"],
                    record["propagated"],
                )
            )
        report = domain.get("report") or {}
        verdicts.append(
            f"{domain['name']}: SPF {report.get('spf', '?')}, DKIM {report.get('dkim', '?')}, "
            f"DMARC {report.get('dmarc', '?')}, reverse DNS {report.get('reverse_dns', '?')} "
            f"(forward-confirmed), blocklists: address {report.get('ip_blocklist', '?')}, "
            f"domain {report.get('domain_blocklist', '?')}"
        )
    story.view.table(
        "Summary: the records, as GET /v1/domains/{id} reports their verification",
        ("type", "name", "value", "whose", "authoritative", "resolvers"),
        rows,
    )
    for verdict in verdicts:
        story.view.say(verdict)


def _undone(story: Story, inboxes: dict[str, dict[str, Any]], outcome: Outcome) -> None:
    """What the failed runs bought and what their compensation undid, checked against the
    simulators as an operator would: every instance at Hostwinds and every record set of ours
    in the zones must be in use by an active inbox."""
    assert story.tenant_id is not None
    with tenant_session(story.tenant_id) as s:
        servers = Servers(s).list()
        domains = Domains(s).list()
    names = {d.id: d.name for d in domains}
    in_use = {a.split("@", 1)[1] for a in outcome.active}
    used = {s.name for s in servers if s.status in LIVE_SERVER and names.get(s.domain_id) in in_use}
    at_hostwinds = {str(i["srvrname"]) for i in story.cloud.hostwinds.instances()}
    # Every instance counts, not only those with a row: one without would be a leak too.
    outcome.left_instances += len(at_hostwinds - used)
    rows = [_server_row(server, server.name in used, at_hostwinds) for server in servers]
    for domain in domains:
        if domain.hosted_zone_id is not None:
            ours = record_sets_beyond_the_zones_own(domain.hosted_zone_id)
            if domain.name not in in_use:
                outcome.left_records += ours
            rows.append(_zone_row(domain.name, ours, domain.name in in_use))
    for address, inbox in inboxes.items():
        if inbox["status"] == "failed":
            row, finished = _inbox_row(address, inbox["timeline"])
            outcome.undo_incomplete += 0 if finished else 1
            rows.append(row)
    story.view.table(
        "Summary: what was bought, and what compensation undid",
        ("bought", "detail", "undone", "now"),
        rows,
    )


def _server_row(server: Server, used: bool, at_hostwinds: set[str]) -> tuple[str, ...]:
    there = server.name in at_hostwinds
    if used:
        undone, now = "kept: its domain's active inboxes use it", "running"
    else:
        undone = "NOT given back" if there else "given back"
        now = "STILL AT HOSTWINDS" if there else "none left at Hostwinds"
    where = f"{server.ip or 'no address yet'}, {server.location}, server {server.status}"
    return (f"VPS {server.name}", where, undone, now)


def _zone_row(domain: str, ours: int, used: bool) -> tuple[str, ...]:
    if used:
        undone, now = "kept: active inboxes use them", f"{ours} in use"
    else:
        undone, now = ("NOT deleted" if ours else "none left (the zone stays)"), f"{ours} left"
    return (f"DNS records in {domain}", "our record sets, as the zone holds them", undone, now)


def _inbox_row(address: str, timeline: list[dict[str, Any]]) -> tuple[tuple[str, ...], bool]:
    """The failed inbox's row, and whether its undoing finished (read from its timeline: the
    plan's steps are what was undone only once the undoing says it succeeded)."""
    planned = _entry(timeline, "compensate", "started")
    ended = _entry(timeline, "compensate", "succeeded") or _entry(timeline, "compensate", "failed")
    finished = ended is not None and ended["outcome"] == "succeeded"
    if planned is None:
        undone = "nothing of its own to undo"
    elif finished:
        undone = _undo_steps(planned["detail"])
    else:
        undone = "incomplete: left for reconcile"
    now = f"undo {ended['outcome'] if ended else 'not finished'}; inbox failed"
    return (f"inbox {address}", "its reservation (and mailbox, if made)", undone, now), finished


def _entry(timeline: list[dict[str, Any]], step: str, outcome: str) -> dict[str, Any] | None:
    found = [e for e in timeline if e["step"] == step and e["outcome"] == outcome]
    return found[-1] if found else None


def _undo_steps(plan: dict[str, Any]) -> str:
    """The undo plan's steps, as its timeline entry names them."""
    named = {
        "remove_mailbox": "mailbox removed",
        "delete_records": "records deleted",
        "terminate_server": "VPS terminated",
    }
    done = [text for key, text in named.items() if plan.get(key)]
    return ", ".join(done) or "nothing bought of its own (the server is another inbox's)"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
