"""The provisioning workflow's steps as the demo names them: what each state of
provision_inbox.asl.json does in a few words, and the steps `--fail-at` can break (read from the
ASL itself, so a renamed state or action can never leave the demo injecting into nothing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from local.template import REPO_ROOT

ASL = REPO_ROOT / "statemachines" / "provision_inbox.asl.json"

# A poll loop's states share one label: the display shows one step while it polls.
LABELS = {
    "Reserve": "reserve: plan limits, placement, mailbox password",
    "ReserveDelegated": "reserve: plan limits, placement, mailbox password",
    "CheckDelegation": "check the domain's delegation",
    "WaitForServer": "wait for the domain's server (another inbox builds it)",
    "CreateServer": "order a VPS at Hostwinds",
    "WaitBeforeCreate": "order a VPS at Hostwinds",
    "DescribeServer": "wait for the VPS to be ACTIVE",
    "WaitForVps": "wait for the VPS to be ACTIVE",
    "ServerCreated": "record the server",
    "PublishHost": "publish the mail host's A record",
    "TerminateListed": "blocklisted address: give the VPS back",
    "ReplaceServer": "blocklisted address: order another",
    "ReverseDns": "set reverse DNS (PTR)",
    "ReadHostKey": "pin the SSH host key",
    "PinHostKey": "pin the SSH host key",
    "SecureServer": "secure SSH (keys only) and the firewall",
    "InstallMailu": "install Mailu over SSH",
    "MailuStatus": "wait for Mailu to be healthy",
    "WaitForMailu": "wait for Mailu to be healthy",
    "RecordInstalled": "record the install",
    "ConfigureDomain": "Mailu: the domain and its DKIM key",
    "PublishRecords": "publish MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT",
    "VerifyDomain": "verify DNS: authoritative, FCrDNS, blocklists",
    "ServerReady": "server ready",
    "ConfigureMailbox": "Mailu: create the mailbox",
    "Activate": "activate the inbox",
    "Compensate": "failed: plan the undoing",
    "CompensateStopped": "stopped: plan the undoing",
    "RemoveMailbox": "undo: remove the mailbox",
    "DeleteRecords": "undo: delete our DNS records",
    "TerminateServer": "undo: terminate the VPS",
    "TerminateByName": "undo: terminate the VPS (by name)",
    "FinishCompensation": "undo: release the reservation",
    "FinishIncomplete": "undo: incomplete, recorded",
}
# The happy path's work after Reserve, in order: what `--fail-at` offers.
FAILABLE = (
    "CreateServer",
    "ServerCreated",
    "PublishHost",
    "ReverseDns",
    "SecureServer",
    "InstallMailu",
    "ConfigureDomain",
    "PublishRecords",
    "VerifyDomain",
    "ConfigureMailbox",
    "Activate",
)
# Failed after the call did its work, its answer lost: a create failing before Hostwinds saw it
# would leave an order of unknown fate, which compensation waits out for HOSTWINDS_ORDER_GRACE_S
# of real time (the time scale does not shorten it) before concluding nothing was bought.
ANSWER_LOST = frozenset({"CreateServer"})
INJECTED_ERROR = "InjectedFault"  # a name no Retry lists: the workflow's Catch takes it


@dataclass(frozen=True)
class TaskStep:
    state: str
    function: str  # the template's logical id, e.g. MailuInstallerFunction
    action: str  # the command's `action`, e.g. install
    after_the_call: bool = False  # the call does its work, then its answer is lost


def label(state: str) -> str:
    return LABELS.get(state, state)


@cache
def failable_steps() -> dict[str, TaskStep]:
    """State name -> the task it runs, for every step `--fail-at` can break."""
    states: dict[str, Any] = json.loads(ASL.read_text())["States"]
    found = {}
    for name in FAILABLE:
        state = states[name]
        resource = str(state["Resource"])  # "${MailuInstallerFunctionArn}"
        function = resource.removeprefix("${").removesuffix("Arn}")
        action = str(state["Parameters"]["action"])
        found[name] = TaskStep(name, function, action, after_the_call=name in ANSWER_LOST)
    return found


def failable_step(name: str) -> TaskStep:
    """The step named by its state (InstallMailu) or its action (install), any case."""
    wanted = name.strip().lower()
    for step in failable_steps().values():
        if wanted in (step.state.lower(), step.action.lower()):
            return step
    known = ", ".join(failable_steps())
    raise ValueError(f"no step {name!r} to fail (choose one of: {known})")
