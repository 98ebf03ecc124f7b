"""How the demo reads a run (local/demo/watch.py), against a real execution history of the
provisioning workflow: every step in order, a Retry with the error that caused it, the end."""

from __future__ import annotations

import time

from local.cloud import LocalCloud
from local.demo.watch import read_run
from tests.provisioning_support import Tenant, fail_step


def test_a_run_is_read_step_by_step_with_its_retries(cloud: LocalCloud) -> None:
    tenant = Tenant.entitled(cloud)
    domain = tenant.add_domain()
    # A name the install's Retry lists: the ASL tries again, the run succeeds.
    fail_step(cloud, "MailuInstallerFunction", "install", error="SshUnreachable")
    since = time.monotonic()
    (inbox_id,) = tenant.ask(f"sales@{domain}")
    execution = tenant.settled(inbox_id).execution_name
    assert execution is not None

    run = read_run(cloud, f"sales@{domain}", execution, since)
    assert (run.status, run.state, run.retries) == ("SUCCEEDED", "Activate", 1)
    assert not run.running
    entered = [step.state for step in run.steps if not step.retry_of]
    assert entered[0] == "Reserve"
    assert entered.index("CreateServer") < entered.index("InstallMailu") < entered.index("Activate")
    assert "Route" not in entered  # a Choice decides, it is no step
    (retry,) = [step for step in run.steps if step.retry_of]
    assert (retry.state, retry.retry_of) == ("InstallMailu", "SshUnreachable")
    assert run.ended_at is not None
    assert all(step.at <= run.ended_at for step in run.steps)
    assert [step.at for step in run.steps] == sorted(step.at for step in run.steps)


def test_a_run_not_started_yet_reads_as_pending(cloud: LocalCloud) -> None:
    run = read_run(cloud, "nobody@nowhere.example", "no-such-execution", time.monotonic())
    assert (run.status, run.state, run.steps, run.running) == ("PENDING", "", (), True)
