"""The real installer (paramiko) against a simulated VPS over real SSH/SFTP on loopback,
through the mailu_installer Lambda as the state machine will call it."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import boto3
import paramiko
import pytest

from inboxfleet.dkim import rsa_bits
from inboxfleet.kms import UndecryptableSecret, encrypt_text
from inboxfleet.mailu.errors import (
    HostKeyMismatch,
    InvalidMailuCommand,
    MailboxNotFound,
    MailuNotReady,
    RemoteCommandFailed,
    SshUnreachable,
)
from inboxfleet.mailu.ssh import load_private_key
from local.fake_clock import FakeClock
from local.hostwinds_sim import HostwindsSimulator
from local.hostwinds_sim.account import API_KEY
from local.invoke import invoke
from local.platform_key import platform_key
from local.polling import poll
from local.template import REPO_ROOT
from local.vps_sim import (
    FailingCommand,
    HostKeyChanged,
    NeverHealthy,
    SimulatedHost,
    Slow,
    Unreachable,
)
from tests.aws_support import moto_aws, put_secret
from tests.leakcheck import register_secret
from tests.sample_outputs import SampleOutputs

EVENTS = REPO_ROOT / "events" / "MailuInstallerFunction"
SERVER_IP = "198.51.100.1"
ROOT_PASSWORD = "hwroot-vps-initial-pw"
MAILBOX_PASSWORD = "hwkey-mailbox-pw-7f3a9c"  # an hwkey- marker: the leak check knows it
HEALTHY_AFTER_S = 60.0
KEY_SECRET = "inboxfleet/local/platform-ssh-key"


@dataclass
class Vps:
    host: SimulatedHost
    clock: FakeClock
    kms_key: str
    fingerprint: str = ""
    tenant: str = field(default_factory=lambda: str(uuid4()))
    inbox: str = field(default_factory=lambda: str(uuid4()))

    def event(self, name: str, **changes: Any) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
        data["server_ip"] = SERVER_IP
        if "host_key_fingerprint" in data:
            data["host_key_fingerprint"] = self.fingerprint
        return {**data, **changes}

    def call(self, name: str, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = invoke("MailuInstallerFunction", self.event(name, **changes))
        return result

    def ciphertext(self, tenant: str, inbox: str, password: str = MAILBOX_PASSWORD) -> str:
        return encrypt_text(self.kms_key, password, {"tenant_id": tenant, "inbox_id": inbox})

    def configure(self, password: str = MAILBOX_PASSWORD) -> dict[str, Any]:
        """configure for this test's inbox, its password encrypted as the workflow would."""
        return self.call(
            "configure",
            tenant_id=self.tenant,
            inbox_id=self.inbox,
            password_ciphertext=self.ciphertext(self.tenant, self.inbox, password),
        )

    def path(self, remote: str) -> Any:
        return self.host.sandbox / remote.lstrip("/")


@pytest.fixture
def vps(monkeypatch: pytest.MonkeyPatch) -> Iterator[Vps]:
    clock = FakeClock()
    with (
        HostwindsSimulator(api_keys={API_KEY}) as hostwinds,
        SimulatedHost(
            ip=SERVER_IP,
            authorized_keys=[platform_key().public_openssh],
            root_password=ROOT_PASSWORD,
            clock=clock,
            healthy_after_s=HEALTHY_AFTER_S,
        ) as host,
    ):
        host.register(hostwinds)
        with moto_aws(
            monkeypatch,
            MAILU_SSH_KEY_SECRET=KEY_SECRET,
            MAILU_CONNECT_TIMEOUT_S="3",
            MAILU_COMMAND_TIMEOUT_S="5",
            SSH_ADDRESS_BOOK_URL=hostwinds.address_book_url,
        ):
            put_secret(KEY_SECRET, platform_key().private_openssh)
            kms_key = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
            yield Vps(host, clock, kms_key)


def pinned(vps: Vps) -> Vps:
    vps.fingerprint = vps.call("pin")["host_key_fingerprint"]
    return vps


def provisioned(vps: Vps) -> Vps:
    """pin -> secure -> install -> healthy: the state configure needs."""
    pinned(vps).call("secure")
    vps.call("install")
    env = vps.path("/mailu/mailu.env").read_text()
    for line in env.splitlines():
        if line.startswith(("SECRET_KEY=", "API_TOKEN=")):
            register_secret(line.split("=", 1)[1])
    vps.clock.advance(HEALTHY_AFTER_S)
    return vps


def password_login(vps: Vps) -> None:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            "127.0.0.1",
            port=vps.host.port,
            username="root",
            password=ROOT_PASSWORD,
            allow_agent=False,
            look_for_keys=False,
            timeout=5,
        )
    finally:
        client.close()


def test_secure_pins_the_key_disables_passwords_and_opens_only_mail_ports(vps: Vps) -> None:
    password_login(vps)  # the fresh VPS accepts its root password
    pin = vps.call("pin")
    assert pin["host_key_fingerprint"] == vps.host.host_key_fingerprint
    assert pin["changed"] == []
    assert vps.host.commands == []  # pinning reads the key and nothing else
    vps.fingerprint = pin["host_key_fingerprint"]
    first = vps.call("secure")
    assert "sshd: password login off" in first["changed"]
    with pytest.raises(paramiko.AuthenticationException):
        password_login(vps)
    drop_in = vps.path("/etc/ssh/sshd_config.d/00-inboxfleet.conf")
    assert "PasswordAuthentication no" in drop_in.read_text()
    assert stat.S_IMODE(drop_in.stat().st_mode) == 0o644

    again = vps.call("secure")
    assert again["changed"] == []


def test_install_lands_the_files_with_their_modes_and_starts_the_stack(vps: Vps) -> None:
    pinned(vps).call("secure")
    result = vps.call("install")
    assert "/mailu/mailu.env" in result["changed"]
    assert any(c.startswith("stack starting") for c in result["changed"])
    modes = {
        p: stat.S_IMODE(vps.path(p).stat().st_mode)
        for p in (
            "/mailu",
            "/mailu/mailu.env",
            "/mailu/docker-compose.yml",
            "/mailu/overrides/nginx/mta-sts.conf",
        )
    }
    assert modes == {
        "/mailu": 0o700,
        "/mailu/mailu.env": 0o600,
        "/mailu/docker-compose.yml": 0o644,
        "/mailu/overrides/nginx/mta-sts.conf": 0o644,
    }
    env = vps.path("/mailu/mailu.env").read_text()
    assert "DOMAIN=acme-outreach.example" in env
    assert "HOSTNAMES=mail.acme-outreach.example,mta-sts.acme-outreach.example" in env

    with pytest.raises(MailuNotReady, match="admin"):
        vps.call("status")
    vps.clock.advance(HEALTHY_AFTER_S)
    assert vps.call("status")["ready"] is True


def test_a_second_install_changes_nothing(vps: Vps) -> None:
    provisioned(vps)
    before = {
        p: vps.path(p).read_bytes() for p in ("/mailu/mailu.env", "/mailu/docker-compose.yml")
    }
    commands_before = len(vps.host.commands)
    again = vps.call("install")
    assert again["changed"] == []
    assert {p: vps.path(p).read_bytes() for p in before} == before
    assert not any(c.startswith("systemd-run") for c in vps.host.commands[commands_before:])


def test_configure_creates_domain_dkim_and_mailbox(vps: Vps) -> None:
    provisioned(vps)
    result = vps.configure()
    assert rsa_bits(result["dkim_public_key"]) == 2048
    assert result["records"]["dns_mx"] == (
        "acme-outreach.example. 600 IN MX 10 mail.acme-outreach.example."
    )
    assert vps.host.mailu.password_matches("sales@acme-outreach.example", MAILBOX_PASSWORD)
    assert vps.configure()["changed"] == []


DOMAIN = "acme-outreach.example"


def mailboxes_of(vps: Vps, domain: str) -> list[str]:
    return [email for email in vps.host.mailu.users if email.endswith(f"@{domain}")]


def test_configure_domain_creates_the_domain_and_its_dkim_key_and_no_mailbox(vps: Vps) -> None:
    provisioned(vps)
    result = vps.call("configure_domain")
    assert result["changed"] == [f"domain {DOMAIN}", "dkim key"]
    assert rsa_bits(result["dkim_public_key"]) == 2048
    assert result["dkim_public_key"] == vps.host.mailu.domains[DOMAIN].dkim_public_key
    assert result["records"]["dns_mx"] == f"{DOMAIN}. 600 IN MX 10 mail.{DOMAIN}."
    assert mailboxes_of(vps, DOMAIN) == []


def test_configure_domain_again_changes_nothing(vps: Vps) -> None:
    provisioned(vps)
    first = vps.call("configure_domain")
    domains = vps.host.mailu.domains
    again = vps.call("configure_domain")
    assert again["changed"] == []
    assert (again["dkim_public_key"], again["records"]) == (
        first["dkim_public_key"],
        first["records"],
    )
    assert vps.host.mailu.domains == domains


def test_configure_after_configure_domain_adds_the_mailbox_under_the_same_key(vps: Vps) -> None:
    provisioned(vps)
    domain = vps.call("configure_domain")
    mailbox = vps.configure()
    assert mailbox["changed"] == [f"mailbox sales@{DOMAIN}"]
    assert mailbox["dkim_public_key"] == domain["dkim_public_key"]
    assert mailboxes_of(vps, DOMAIN) == [f"sales@{DOMAIN}"]
    assert vps.host.mailu.password_matches(f"sales@{DOMAIN}", MAILBOX_PASSWORD)


def test_a_ciphertext_from_another_inbox_does_not_decrypt(vps: Vps) -> None:
    provisioned(vps)
    tenant = str(uuid4())
    stolen = vps.ciphertext(tenant, str(uuid4()))
    with pytest.raises(UndecryptableSecret, match="does not decrypt"):
        vps.call("configure", tenant_id=tenant, inbox_id=str(uuid4()), password_ciphertext=stolen)


def suspend(vps: Vps, *, enabled: bool = False) -> dict[str, Any]:
    """apply_mailbox with no new password: the mailbox enabled or disabled."""
    ids = {"tenant_id": vps.tenant, "inbox_id": vps.inbox}
    return vps.call("apply_mailbox", enabled=enabled, password_ciphertext=None, **ids)


def test_disable_enable_and_remove_a_mailbox(vps: Vps) -> None:
    provisioned(vps)
    vps.configure()
    email = "sales@acme-outreach.example"
    assert suspend(vps)["changed"] == [f"mailbox {email} disabled"]
    assert vps.host.mailu.users[email].enabled is False
    assert suspend(vps)["changed"] == []
    suspend(vps, enabled=True)
    assert vps.host.mailu.users[email].enabled is True
    assert vps.call("remove_mailbox")["changed"] == [f"mailbox {email} deleted"]
    assert vps.call("remove_mailbox")["changed"] == []


def test_apply_mailbox_sets_the_state_and_the_new_password_through_the_api(vps: Vps) -> None:
    provisioned(vps)
    vps.configure()
    email = "sales@acme-outreach.example"
    rotated = "Rotated-Mailbox-Passw0rd"
    cipher = vps.ciphertext(vps.tenant, vps.inbox, rotated)
    ids = {"tenant_id": vps.tenant, "inbox_id": vps.inbox}

    disabled = vps.call("apply_mailbox", enabled=False, password_ciphertext=cipher, **ids)

    assert disabled["changed"] == [f"mailbox {email} disabled", f"mailbox {email} password set"]
    mailu = vps.host.mailu
    assert mailu.users[email].enabled is False
    assert mailu.password_matches(email, rotated)
    assert not mailu.login_allowed(email, rotated)  # a disabled mailbox lets no client in
    assert all(rotated not in command for command in vps.host.commands)
    # Applied again without a password: nothing left to change.
    assert (
        vps.call("apply_mailbox", enabled=False, password_ciphertext=None, **ids)["changed"] == []
    )
    enabled = vps.call("apply_mailbox", enabled=True, password_ciphertext=None, **ids)
    assert enabled["changed"] == [f"mailbox {email} enabled"]
    assert mailu.login_allowed(email, rotated)


def test_apply_mailbox_for_a_mailbox_the_server_lacks_is_a_named_error(vps: Vps) -> None:
    provisioned(vps)
    vps.configure()
    ids = {"tenant_id": vps.tenant, "inbox_id": vps.inbox}
    with pytest.raises(MailboxNotFound, match="no mailbox"):
        vps.call(
            "apply_mailbox", address="nobody@acme-outreach.example", password_ciphertext=None, **ids
        )


def test_no_secret_ever_appears_in_a_command_the_host_received(vps: Vps) -> None:
    provisioned(vps)
    vps.configure()
    env = vps.path("/mailu/mailu.env").read_text()
    secrets = [
        line.split("=", 1)[1]
        for line in env.splitlines()
        if line.startswith(("SECRET_KEY=", "API_TOKEN="))
    ]
    secrets += [MAILBOX_PASSWORD, platform_key().private_openssh.splitlines()[1]]
    assert len(secrets) == 4
    for command in vps.host.commands:
        for secret in secrets:
            assert secret not in command


@pytest.mark.parametrize(
    ("event", "changes"),
    [
        ("install", {"domain": "acme.example; rm -rf /"}),
        ("install", {"domain": "$(reboot).example"}),
        ("install", {"domain": "acme.example && curl evil.example"}),
        ("apply_mailbox", {"address": "sales@acme.example; reboot"}),
        ("apply_mailbox", {"address": "$(id)@acme.example"}),
        ("remove_mailbox", {"address": "a'b@acme.example"}),
        ("apply_mailbox", {"address": "x@acme.example`id`"}),
        ("apply_mailbox", {"enabled": "sometimes"}),
        ("secure", {"server_ip": "127.0.0.1; reboot"}),
    ],
)
def test_injection_attempts_never_reach_the_host(
    vps: Vps, event: str, changes: dict[str, Any]
) -> None:
    vps.fingerprint = "SHA256:" + "A" * 43
    with pytest.raises(InvalidMailuCommand):
        vps.call(event, **changes)
    assert vps.host.commands == []


def test_a_changed_host_key_is_refused(vps: Vps) -> None:
    pinned(vps).host.inject(HostKeyChanged())
    for action in ("secure", "install", "status"):
        with pytest.raises(HostKeyMismatch, match="pinned"):
            vps.call(action)
    assert vps.host.commands == []


def test_secure_cannot_run_without_a_pinned_key(vps: Vps) -> None:
    event = vps.event("secure")
    del event["host_key_fingerprint"]
    with pytest.raises(InvalidMailuCommand, match="host_key_fingerprint"):
        invoke("MailuInstallerFunction", event)


def test_an_unreachable_host_is_a_named_retryable_error(vps: Vps) -> None:
    vps.host.inject(Unreachable())
    with pytest.raises(SshUnreachable):
        vps.call("pin")
    vps.host.restore()
    assert vps.call("pin")["host_key_fingerprint"] == vps.host.host_key_fingerprint


def test_a_connection_dropped_while_a_command_runs_is_a_named_retryable_error(vps: Vps) -> None:
    """Not a failed command: the host never said how the command ended (paramiko reports no
    exit status as -1), so the step is retried rather than compensated."""
    pinned(vps).host.inject(Slow(delay_s=30.0, times=1))

    def go_dark_mid_command() -> None:
        poll(lambda: any("sshd -t" in c for c in vps.host.commands), "the command to arrive")
        vps.host.inject(Unreachable())

    dropper = threading.Thread(target=go_dark_mid_command, daemon=True)
    dropper.start()
    with pytest.raises(SshUnreachable, match="lost its channel"):
        vps.call("secure")
    dropper.join()
    vps.host.restore()
    assert vps.call("secure")["changed"] is not None


def test_a_command_killed_by_a_signal_is_a_failed_command_not_a_lost_host(vps: Vps) -> None:
    """The host answers exit-signal, not exit-status (the OOM killer ending a lone command):
    the command failed and says so; nothing is retried as if the host had gone."""
    pinned(vps).call("secure")
    vps.host.inject(FailingCommand(program="systemd-run", signal="KILL", stderr=""))
    with pytest.raises(RemoteCommandFailed, match=r"systemd-run .*signal"):
        vps.call("install")


def test_a_slow_host_times_out_into_a_named_error(
    vps: Vps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILU_COMMAND_TIMEOUT_S", "1")
    pinned(vps).host.inject(Slow(delay_s=30.0, times=1))
    with pytest.raises(SshUnreachable):
        vps.call("secure")


def test_a_container_that_never_gets_healthy_keeps_status_not_ready(vps: Vps) -> None:
    vps.host.inject(NeverHealthy(service="admin"))
    provisioned(vps)
    vps.clock.advance(HEALTHY_AFTER_S * 10)
    with pytest.raises(MailuNotReady, match="admin"):
        vps.call("status")
    with pytest.raises(MailuNotReady):
        vps.configure()


def test_a_failing_command_names_itself_and_a_rerun_still_turns_passwords_off(
    vps: Vps,
) -> None:
    pinned(vps).host.inject(
        FailingCommand(
            program="sshd",
            exit_status=255,
            stderr="/etc/ssh/sshd_config line 9: Bad configuration option: Nonsense\n",
        )
    )
    with pytest.raises(
        RemoteCommandFailed, match=r"sshd -t .* exited 255: .*Bad configuration"
    ) as info:
        vps.call("secure")
    assert info.value.command.startswith("sshd -t")
    password_login(vps)  # the drop-in is written, but sshd never re-read it
    vps.call("secure")  # the file is unchanged now; the reload happens all the same
    with pytest.raises(paramiko.AuthenticationException):
        password_login(vps)


def test_configure_before_install_is_not_ready(vps: Vps) -> None:
    pinned(vps).call("secure")
    with pytest.raises(MailuNotReady, match="not installed"):
        vps.configure()


def root_shell(vps: Vps, command: str) -> None:
    """What an operator (or an intruder) might have changed by hand on the server."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # test probe only
    client.connect(
        "127.0.0.1",
        port=vps.host.port,
        username="root",
        pkey=load_private_key(platform_key().private_openssh),
        allow_agent=False,
        look_for_keys=False,
        timeout=5,
    )
    try:
        _, stdout, _ = client.exec_command(command)
        assert stdout.channel.recv_exit_status() == 0
    finally:
        client.close()


def test_a_firewall_rule_nobody_asked_for_is_removed(vps: Vps) -> None:
    pinned(vps).call("secure")
    root_shell(vps, "ufw allow 3306/tcp")
    assert vps.call("secure")["changed"] == ["firewall rules applied"]
    assert vps.call("secure")["changed"] == []


def test_configure_hands_out_the_new_password_and_keeps_a_suspension(vps: Vps) -> None:
    provisioned(vps)
    email = "sales@acme-outreach.example"
    vps.configure()
    suspend(vps)
    rotated = "hwkey-mailbox-pw-rotated"
    vps.configure(rotated)
    assert vps.host.mailu.password_matches(email, rotated)
    assert vps.host.mailu.users[email].enabled is False


def test_a_server_without_webmail_gets_ready(vps: Vps) -> None:
    pinned(vps).call("secure")
    vps.call("install", webmail="none")
    vps.clock.advance(HEALTHY_AFTER_S)
    status = vps.call("status")
    assert status["ready"] is True
    assert "webmail" not in status["containers"]


def test_sample_outputs_are_what_the_samples_answer(vps: Vps) -> None:
    # Randomly generated per install: the stack's unit name (a hash of files holding fresh
    # secrets) and the domain's DKIM key.
    outputs = SampleOutputs(
        "MailuInstallerFunction", fields={"unit", "dkim_public_key", "dns_dkim"}
    )
    # configure_domain first, as the workflow runs them: configure then adds the mailbox.
    order = ("pin", "secure", "install", "status", "configure_domain", "configure")
    for name in (*order, "apply_mailbox", "remove_mailbox"):
        data = vps.event(name)
        if name in ("configure", "apply_mailbox"):  # the sample's ciphertext, made here
            data["password_ciphertext"] = vps.ciphertext(data["tenant_id"], data["inbox_id"])
        answer = invoke("MailuInstallerFunction", data)
        outputs.record(EVENTS / f"{name}.json", data, answer)
        if name == "pin":
            vps.fingerprint = answer["host_key_fingerprint"]
        if name == "install":
            vps.clock.advance(HEALTHY_AFTER_S)
            for line in vps.path("/mailu/mailu.env").read_text().splitlines():
                if line.startswith(("SECRET_KEY=", "API_TOKEN=")):
                    register_secret(line.split("=", 1)[1])
    outputs.check()


def test_a_release_codename_that_is_not_one_word_never_reaches_the_apt_sources(vps: Vps) -> None:
    pinned(vps).call("secure")
    os_release = vps.path("/etc/os-release")
    os_release.write_text(os_release.read_text().replace("bookworm", "bookworm main\ndeb x"))
    with pytest.raises(RemoteCommandFailed, match="codename"):
        vps.call("install")
    assert not vps.path("/etc/apt/sources.list.d/docker.list").exists()
