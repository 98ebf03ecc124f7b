"""The inventory function's commands (one pydantic model per action, told apart by `action`)
and the results each action returns.

Results are the state machine's contract: the ASL reads their fields by JSONPath, so every
field is named here once and documented.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from datetime import datetime
from ipaddress import IPv4Address
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from inboxfleet.db.repositories.inbox_events import STATUS_STEP
from inboxfleet.inventory.errors import InvalidCommand
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.names import Fingerprint
from inboxfleet.records import Inbox, InboxEvent, Server, TimelineEntry
from inboxfleet.validation import parse_event

# A timeline step's name: lower-case words joined by underscores.
StepName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
# Step Functions execution names: <inbox id>-<attempt> (and the compensation entry's).
ExecutionName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,80}$")]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tenant_id: UUID
    inbox_id: UUID


class Reserve(_Command):
    """The workflow's first step. `execution` is the execution's own name ($$.Execution.Name):
    only the execution the inbox was started with may provision it."""

    action: Literal["reserve"]
    execution: ExecutionName
    # The dns function has just seen the parent zone delegate to our zone.
    delegation_confirmed: bool = False


class ServerCreated(_Command):
    """The instance is ACTIVE with its address: recorded on the server row."""

    action: Literal["server_created"]
    server_id: UUID
    serviceid: int = Field(gt=0, lt=2**31)
    ip: IPv4Address


class ServerReady(_Command):
    """Mail server installed, the domain configured and its records verified: other inboxes
    of the domain may now take the mailbox-only path."""

    action: Literal["server_ready"]
    server_id: UUID
    records: int = Field(ge=0, le=1000)  # what the dns step published, for the timeline


class ReplaceServer(_Command):
    """The new server's address is blocklisted and its instance terminated: order another,
    once per execution (a second listed address fails the inbox)."""

    action: Literal["replace_server"]
    server_id: UUID
    execution: ExecutionName


class PlanCompensation(_Command):
    """What this execution must undo, decided under the domain lock. `execution` names the run
    being undone (the compensation entry undoes another, stopped one); `failure` is the Catch's
    `{Error, Cause}` (both optional): the reason recorded comes from it. Planned again for the
    same run, it answers the first plan's decisions as far as they still hold; once that
    run's undoing has succeeded it refuses (NotCompensable): nothing is undone twice."""

    action: Literal["plan_compensation"]
    execution: ExecutionName
    failure: dict[str, str | None] = Field(default_factory=dict, max_length=8)


class FinishCompensation(_Command):
    """The inbox ends `failed` with the plan's reason (unless it has moved on: another attempt,
    or deleted meanwhile); a server this execution gave back is `decommissioned`, one it could
    not is left `decommissioning` (entering compensation again, or reconcile, ends it)."""

    action: Literal["finish_compensation"]
    execution: ExecutionName  # the run undone: a later attempt's inbox is left alone
    reason: str = Field(min_length=1, max_length=500)
    server_id: UUID | None = None
    terminated: bool = False  # the plan gave the server back (with `incomplete`: maybe left)
    # A compensation step that kept failing: the server stays `decommissioning`.
    incomplete: bool = False


class PlanTeardown(_Command):
    """The deprovision workflow's first step, for an inbox marked `deleting`: what its deletion
    takes, decided under the domain lock (the mailbox; the server and our records when no other
    inbox uses the server any more)."""

    action: Literal["plan_teardown"]


class FinishTeardown(_Command):
    """The end of a teardown: a server given back `decommissioned`, the inbox `deleted`. With
    `failure` (the Catch's `{Error, Cause}`) a step kept failing: the inbox stays `deleting`
    with the reason, the server `decommissioning` (the workflow entered again finishes it)."""

    action: Literal["finish_teardown"]
    server_id: UUID | None = None
    terminated: bool = False  # the plan gave the server back
    failure: dict[str, str | None] | None = Field(default=None, max_length=8)


class ClaimMailbox(_Command):
    """Convergence: take the lease on the inbox's mailbox state for this execution and say what
    its server must be made to hold (`$.work` false: nothing differs, or its server is not in
    service; MailboxBusy while another run holds the lease)."""

    action: Literal["claim_mailbox"]
    execution: ExecutionName


class MailboxApplied(_Command):
    """Convergence: the server now holds what the claim said (the same `enabled` and password
    ciphertext, as handed out); the lease ends."""

    action: Literal["mailbox_applied"]
    execution: ExecutionName
    enabled: bool
    password_ciphertext: str | None = Field(default=None, max_length=8192, repr=False)


class ReleaseMailbox(_Command):
    """Convergence failed (`failure`: the Catch's `{Error, Cause}`): the lease ends, the
    timeline says why; the mailbox stays different from what is wanted (reconcile retries)."""

    action: Literal["release_mailbox"]
    execution: ExecutionName
    failure: dict[str, str | None] = Field(default_factory=dict, max_length=8)


class DescribeInbox(_Command):
    action: Literal["describe_inbox"]


class RecordStep(_Command):
    action: Literal["record_step"]
    step: StepName
    outcome: Literal["started", "succeeded", "failed", "retrying", "info"]
    detail: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=32)
    then: StepName | None = None  # the step starting next: its "started" entry too

    @field_validator("step")
    @classmethod
    def _not_a_status_change(cls, step: str) -> str:
        # "status" entries are written only with the status change they record (one writer).
        if step == STATUS_STEP:
            raise ValueError("'status' entries come only from transition_inbox")
        return step


class TransitionInbox(_Command):
    action: Literal["transition_inbox"]
    to: InboxStatus
    # Kept on the inbox when it fails (the named error, for the tenant and for support).
    failure_reason: str | None = Field(default=None, max_length=500)
    # Why the workflow moves it, for the timeline.
    reason: str = Field(default="workflow step", min_length=1, max_length=200)
    step: StepName | None = None  # the step this move completes: its "succeeded" entry too

    @model_validator(mode="after")
    def _a_failure_names_its_reason(self) -> Self:
        if self.to == InboxStatus.FAILED and not self.failure_reason:
            raise ValueError("failure_reason is required to move an inbox to failed")
        return self

    @property
    def why(self) -> str:
        return self.failure_reason or self.reason


class PinHostKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Literal["pin_host_key"]
    tenant_id: UUID
    server_id: UUID
    host_key_fingerprint: Fingerprint
    # The inbox whose workflow pins it: its timeline records the step.
    inbox_id: UUID | None = None


InventoryCommand = (
    DescribeInbox
    | RecordStep
    | TransitionInbox
    | PinHostKey
    | Reserve
    | ServerCreated
    | ServerReady
    | ReplaceServer
    | PlanCompensation
    | FinishCompensation
    | PlanTeardown
    | FinishTeardown
    | ClaimMailbox
    | MailboxApplied
    | ReleaseMailbox
)
_ADAPTER: TypeAdapter[InventoryCommand] = TypeAdapter(
    Annotated[InventoryCommand, Field(discriminator="action")]
)


def parse_command(event: Any) -> InventoryCommand:
    return parse_event(_ADAPTER, event, InvalidCommand, "inventory command")


class _Result(BaseModel):
    # Built on first use: an invocation returns one of these, never all of them.
    model_config = ConfigDict(frozen=True, defer_build=True)


class InboxDescribed(_Result):
    """describe_inbox: `$.inbox.status` is where the inbox stands; `$.timeline` its history,
    oldest first."""

    inbox: Inbox
    timeline: list[TimelineEntry]


class StepRecorded(_Result):
    """record_step: the timeline entry written."""

    event: InboxEvent


class InboxTransitioned(_Result):
    """transition_inbox: `$.inbox` as it is now; `$.changed` is false when it already had the
    status (a repeated step is a no-op)."""

    inbox: Inbox
    changed: bool


class HostKeyPinned(_Result):
    """pin_host_key: the server row with `$.server.host_key_fingerprint` pinned."""

    server: Server


class ReservedDomain(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: UUID
    name: str


Path = Literal["new_server", "existing_server", "wait_for_server", "check_delegation"]


class Reserved(_Result):
    """reserve: where the workflow goes next (`$.path`):

    - `new_server`: `$.server` was ordered for this inbox; `$.previous_order` (None on the first
      pass) is the time from which an earlier create of this execution may have sent its order
      (recorded by this pass: the create before may have ordered just before it timed out). The
      create step gets it, so it looks the name up, and waits out the grace, before it buys.
    - `existing_server`: the domain's server is ready: configure the mailbox only.
    - `wait_for_server`: the domain's server is still being built by another inbox: wait, then
      reserve again (`$.server.status` says how far it is).
    - `check_delegation`: the domain is not known to be delegated: ask the parent zone, then
      reserve again with `delegation_confirmed`.

    `$.password_ciphertext` is the mailbox password as KMS ciphertext (base64, bound to the
    inbox by its encryption context), once the inbox has a server."""

    path: Path
    inbox_id: UUID
    address: str
    domain: ReservedDomain
    mail_host: str
    server: Server | None
    previous_order: datetime | None
    password_ciphertext: str | None = Field(default=None, repr=False)


class ServerRecorded(_Result):
    """server_created, server_ready: the server row as it is now."""

    server: Server


class _UndoPlan(_Result):
    """What a run takes away, in this order - `$.remove_mailbox` (the server stays: others use
    it), `$.delete_records` and `$.terminate` (nobody else relies on the server: by
    `$.serviceid` once known, else by `$.server_name`, which finds it even when the create
    timed out, `$.ordered_at` saying how recent its order is). Server fields are None when the
    inbox never got a server; `$.ordered_at` only while the instance has not been seen (its
    order may still be on its way into the listings)."""

    domain: ReservedDomain
    mail_host: str
    address: str
    server_id: UUID | None
    server_name: str | None
    serviceid: int | None  # the Hostwinds instance, once the workflow has seen it
    server_ip: str | None
    host_key_fingerprint: str | None
    ordered_at: datetime | None
    remove_mailbox: bool
    delete_records: bool
    terminate: bool


class CompensationPlan(_UndoPlan):
    """plan_compensation: what to undo (the server only if it was bought for this inbox, or
    this inbox was the last to use it); `$.reason` is what the inbox's failure says."""

    execution: str  # the run being undone (FinishCompensation names it again)
    reason: str


class TeardownPlan(_UndoPlan):
    """plan_teardown: what deleting the inbox takes (the server and our records only when this
    was the last inbox on it; the zone and the tenant's own records always stay)."""


class MailboxWork(_Result):
    """claim_mailbox: `$.work` says whether there is something to apply; then the server (by
    `$.server_ip` and its pinned `$.host_key_fingerprint`) must hold the mailbox `$.address`
    `$.enabled` or not, with `$.password_ciphertext` (KMS, base64) as its password if set."""

    work: bool
    why: str
    address: str
    server_ip: str | None = None
    host_key_fingerprint: str | None = None
    enabled: bool = True
    password_ciphertext: str | None = Field(default=None, repr=False)


class MailboxSettled(_Result):
    """mailbox_applied: `$.again` when what is wanted changed while it was applied."""

    again: bool


InventoryResult = (
    InboxDescribed
    | StepRecorded
    | InboxTransitioned
    | HostKeyPinned
    | Reserved
    | ServerRecorded
    | CompensationPlan
    | TeardownPlan
    | MailboxWork
    | MailboxSettled
)
