"""What a reconcile pass is asked (the schedule's Input, or an on-demand invoke) and the drift
report it answers with."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from inboxfleet.validation import parse_event

# The parts of a pass, in the order a full pass runs them (a pass that ran out of time resumes
# at the part it stopped in, and goes round from there).
PartName = Literal["servers", "work", "billing", "mailboxes", "dns", "housekeeping"]
PARTS: tuple[PartName, ...] = ("servers", "work", "billing", "mailboxes", "dns", "housekeeping")


class InvalidCommand(ValueError):
    """The event is not a reconcile command; nothing was done."""


class ReconcileCommand(BaseModel):
    """`{}` (EventBridge Scheduler's Input as the template sets it, or nothing) runs a full
    pass; `dry_run` reports without acting; `parts` runs only those (on demand)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    dry_run: bool = False
    parts: tuple[PartName, ...] | None = Field(default=None, min_length=1)

    @field_validator("parts", mode="before")
    @classmethod
    def _list_is_fine(cls, value: Any) -> Any:
        # JSON has lists, not tuples; strict mode would refuse one.
        return tuple(value) if isinstance(value, list) else value

    @field_validator("parts")
    @classmethod
    def _each_once(cls, value: tuple[PartName, ...] | None) -> tuple[PartName, ...] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("each part at most once")
        return value


_ADAPTER: TypeAdapter[ReconcileCommand] = TypeAdapter(ReconcileCommand)


def parse_command(event: Any) -> ReconcileCommand:
    return parse_event(
        _ADAPTER, {} if event is None else event, InvalidCommand, "reconcile command"
    )


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)


class KindReport(_Result):
    """One kind of drift: how many were found, how many this pass repaired, and the first few
    (ids and names only: nothing secret, nothing of a tenant's beyond its ids)."""

    found: int
    repaired: int
    items: list[dict[str, str | int | None]]


PartStatus = Literal["done", "incomplete", "skipped", "not_reached"]


class PartReport(_Result):
    """`incomplete`: it saw only part of what it compares (a listing cut short) and acted on
    nothing it did not see completely; `skipped`: an outage or missing configuration, named in
    `reason`; `not_reached`: the pass ran out of time before it (the next pass starts there)."""

    part: PartName
    status: PartStatus
    reason: str | None = None
    drift: dict[str, KindReport] = {}
    elapsed_ms: int = 0


Outcome = Literal["complete", "incomplete", "stopped_early", "lease_held"]


class ReconcileReport(_Result):
    """The pass's drift report, also logged and published as metrics. `complete`: every part
    ran to the end; `incomplete`: some part skipped or saw only part of its world;
    `stopped_early`: out of time, `resume_part` is where the next pass begins; `lease_held`:
    another pass is running, this one did nothing."""

    pass_id: str
    dry_run: bool
    outcome: Outcome
    parts: list[PartReport]
    resume_part: PartName | None = None
    elapsed_ms: int
