"""`make demo` end to end: a fresh interpreter, a server it starts itself, nothing left after."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psutil

from local.template import REPO_ROOT as REPO


def test_demo_runs_for_real_and_leaves_nothing_running() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    done = subprocess.run(
        [sys.executable, "-m", "local.demo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr[-2000:]

    assert re.search(
        r"applied 0001_core\.sql, 0002_billing\.sql, 0003_location_slugs\.sql, "
        r"0004_tenant_api\.sql, 0005_domains_credentials\.sql, 0006_provisioning\.sql, "
        r"0007_teardown_convergence\.sql -> schema version 7",
        out,
    )
    assert "second run applied 0 files" in out
    assert "transition_inbox.json -> status queued (changed: True)" in out
    assert "timeline ['request:info', 'status:info', 'reserve:succeeded']" in out
    assert "Acme's session lists inboxes: ['sales@acme-outreach.example']" in out
    assert "Acme's session looks up Globex's inbox by id: None" in out
    assert "Acme's session updates Globex's inbox: 0 rows touched" in out
    assert "refused (new row violates row-level security policy" in out
    assert "the app role with no tenant context counts inboxes: 0" in out
    assert "a forged delivery -> 400 no signature matches" in out
    assert "Stripe's signed delivery -> 200 queued" in out
    assert "the same delivery again -> 200 duplicate" in out
    assert "customer.subscription.created -> 1 applied, 0 failed" in out
    assert re.search(r"inbox hello@globex-mail\.example: queued, workflow [0-9a-f-]{36}-1", out)
    assert re.search(r"SES reminder to billing@globex\.example: Payment failed: 15\.00 USD", out)
    states = re.findall(r"account: active on growth_monthly, max 25 inboxes .* payment (\w+)", out)
    assert states == ["ok", "past_due", "ok"]

    socket_dir = re.search(r"socket (\S+)", out)
    assert socket_dir, out
    data_dir = Path(socket_dir.group(1))
    assert not data_dir.exists()
    leftovers = [
        p.info["pid"]
        for p in psutil.process_iter(attrs=["pid", "cmdline"])
        if str(data_dir) in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []
