"""A simulated host's mail ports (SMTP submission "587", IMAPS "993") over real sockets on
loopback, driven by smtplib/imaplib and by local.mail_client, which finds the host the way a
customer's client would: the mail host's name through DNS (a local authoritative server), the
IP's port through the Hostwinds simulator's address book, TLS verified against the local CA.

Mailu is installed from the installer's own rendered files (only CREDENTIAL_ROUNDS lowered, so
that bcrypt is quick), started with `docker compose up -d` over SSH, and made healthy by moving
the host's fake clock. Users are created through the host's Mailu admin API.
"""

from __future__ import annotations

import email.message
import imaplib
import io
import logging
import secrets
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import httpx
import paramiko
import pytest

from inboxfleet.mailu.config import MailuConfig, MailuSecrets
from inboxfleet.mailu.render import ENV_FILE, render
from local import mail_client
from local.dns_sim import AuthoritativeServer, Record, StaticZone
from local.fake_clock import FakeClock
from local.hostwinds_sim import HostwindsSimulator
from local.hostwinds_sim.account import API_KEY
from local.mail_client import (
    EndpointNotFound,
    LoginRefused,
    MailAccount,
    MailRoute,
    MessageRefused,
    ServiceUnavailable,
)
from local.mail_sim.tls import client_context
from local.platform_key import platform_key
from local.vps_sim import SimulatedHost, Unreachable
from tests.leakcheck import register_secret

IP = "203.0.113.40"
DOMAIN = "acme.example"
MAIL_HOST = "mail.acme.example"
OTHER_NAME = "www.acme.example"  # same IP, but not a name the certificate holds
HEALTHY_AFTER_S = 30.0
ALICE, BOB, CAROL = (f"{name}@{DOMAIN}" for name in ("alice", "bob", "carol"))
# hwkey- markers: the suite's leak check fails the run if one shows up in captured output.
PASSWORDS = {who: f"hwkey-{who[:5]}-{secrets.token_hex(6)}" for who in (ALICE, BOB, CAROL)}
COMPOSE_UP = "docker compose --project-directory /mailu --project-name mailu up -d"
TIMEOUT_S = 5.0


@dataclass
class World:
    host: SimulatedHost
    clock: FakeClock
    hostwinds: HostwindsSimulator
    route: MailRoute
    api_token: str = ""

    def account(self, address: str, password: str | None = None) -> MailAccount:
        return MailAccount(MAIL_HOST, address, PASSWORDS[address] if password is None else password)

    def install(self, *, healthy: bool = True) -> None:
        """Mailu's files as the installer renders them, `up -d`, then (unless told not to)
        healthy and with the test users."""
        mailu_secrets = MailuSecrets.generate()
        self.api_token = mailu_secrets.api_token
        register_secret(mailu_secrets.api_token)
        register_secret(mailu_secrets.secret_key)
        for file in render(MailuConfig.for_domain(DOMAIN), mailu_secrets):
            content = file.content
            if file.path == ENV_FILE:
                content = content.replace("CREDENTIAL_ROUNDS=12", "CREDENTIAL_ROUNDS=4")
            path = self.host.sandbox / file.path.lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        assert ssh_run(self.host, COMPOSE_UP) == 0
        if healthy:
            self.clock.advance(HEALTHY_AFTER_S)
            self.create_users()

    def create_users(self) -> None:
        headers = {"Authorization": f"Bearer {self.api_token}"}
        with httpx.Client(base_url=f"{self.host.mailu.url}/api/v1", headers=headers) as api:
            assert api.post("/domain", json={"name": DOMAIN}).status_code == 200
            for address, password in PASSWORDS.items():
                user = {"email": address, "raw_password": password}
                assert api.post("/user", json=user).status_code == 200
            assert api.patch(f"/user/{CAROL}", json={"enabled": False}).status_code == 200


def ssh_run(host: SimulatedHost, command: str) -> int:
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(platform_key().private_openssh))
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            "127.0.0.1",
            port=host.port,
            username="root",
            pkey=key,
            allow_agent=False,
            look_for_keys=False,
            timeout=TIMEOUT_S,
        )
        _, out, _ = client.exec_command(command, timeout=TIMEOUT_S)
        return out.channel.recv_exit_status()
    finally:
        client.close()


@contextmanager
def world_of(*, mail_idle_s: float = 60.0) -> Iterator[World]:
    clock = FakeClock()
    zone = StaticZone(
        f"{DOMAIN}.", [Record(f"{MAIL_HOST}.", "A", (IP,)), Record(f"{OTHER_NAME}.", "A", (IP,))]
    )
    with ExitStack() as stack:
        hostwinds = stack.enter_context(HostwindsSimulator(api_keys={API_KEY}))
        dns_server = stack.enter_context(AuthoritativeServer([zone]))
        host = stack.enter_context(
            SimulatedHost(
                ip=IP,
                authorized_keys=[platform_key().public_openssh],
                clock=clock,
                healthy_after_s=HEALTHY_AFTER_S,
                docker_installed=True,
                mail_idle_s=mail_idle_s,
            )
        )
        host.register(hostwinds)
        route = MailRoute(dns_server.address, hostwinds.address_book_url, timeout_s=TIMEOUT_S)
        yield World(host, clock, hostwinds, route)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One host with Mailu installed, healthy, and alice, bob and carol (disabled)."""
    with world_of() as built:
        built.install()
        yield built


@pytest.fixture
def fresh() -> Iterator[World]:
    """A host of the test's own with nothing installed; silent clients dropped after 0.3 s."""
    with world_of(mail_idle_s=0.3) as built:
        yield built


def note(sender: str, to: str, subject: str, body: str) -> email.message.EmailMessage:
    message = email.message.EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def secured_smtp(world: World, host_name: str = MAIL_HOST) -> smtplib.SMTP:
    smtp = mail_client.smtp_connection(world.route, host_name)
    smtp.starttls(context=client_context())
    smtp.ehlo()  # what the server offers changes with TLS: ask again
    return smtp


def error_text(exc: smtplib.SMTPResponseException) -> str:
    raw: bytes | str = exc.smtp_error
    return raw.decode() if isinstance(raw, bytes) else raw


def reply_of(smtp: smtplib.SMTP, command: str) -> tuple[int, str]:
    code, text = smtp.docmd(command)
    return code, text.decode()


# ---- the address book -------------------------------------------------------------------------


def test_the_address_book_publishes_ssh_and_the_mail_ports(world: World) -> None:
    host = world.host
    smtp_port, imap_port = host.mail_ports[587], host.mail_ports[993]
    assert len({host.port, smtp_port, imap_port}) == 3
    book = httpx.get(world.hostwinds.address_book_url, timeout=TIMEOUT_S).json()
    assert book == {
        IP: {
            "host": "127.0.0.1",
            "port": host.port,
            "ports": {"22": host.port, "587": smtp_port, "993": imap_port},
        }
    }
    # The SSH view is what it always was.
    assert world.hostwinds.address_book() == {IP: ("127.0.0.1", host.port)}
    assert world.hostwinds.service_ports() == {IP: {22: host.port, 587: smtp_port, 993: imap_port}}
    assert world.route.endpoint(MAIL_HOST, 993) == ("127.0.0.1", imap_port)


# ---- sending and reading ----------------------------------------------------------------------


def test_a_message_from_alice_is_found_by_bob_over_imap(world: World) -> None:
    body = f"Hello Bob, {secrets.token_hex(4)}"
    message_id = mail_client.send(
        world.route, world.account(ALICE), note(ALICE, BOB, "Quarterly numbers", body)
    )
    found = mail_client.find(world.route, world.account(BOB), message_id, deadline_s=5.0)
    assert found["Message-ID"] == message_id
    assert found["From"] == ALICE
    assert found["To"] == BOB
    assert found["Subject"] == "Quarterly numbers"
    assert found.get_content().strip() == body
    assert found["Return-Path"] == f"<{ALICE}>"
    received = str(found["Received"])
    assert f"by {MAIL_HOST}" in received
    assert f"for <{BOB}>" in received
    # Read-only reading marks nothing, and alice's own INBOX did not get it.
    assert message_id in [
        m["Message-ID"] for m in mail_client.messages(world.route, world.account(BOB))
    ]
    assert message_id not in [
        m["Message-ID"] for m in mail_client.messages(world.route, world.account(ALICE))
    ]


def test_unknown_names_and_unpublished_ports_are_not_found(world: World) -> None:
    with pytest.raises(EndpointNotFound):
        mail_client.messages(world.route, world.account(ALICE), port=110)  # POP3: not published
    nowhere = mail_client.MailAccount(f"nowhere.{DOMAIN}", ALICE, PASSWORDS[ALICE])
    with pytest.raises(EndpointNotFound):
        mail_client.messages(world.route, nowhere)


def test_smtplib_and_imaplib_work_against_the_ports(world: World) -> None:
    message = note(BOB, ALICE, "Dots", "..leading dots survive\n.\nand a lone dot too\n")
    message["Message-ID"] = f"<stdlib-{secrets.token_hex(4)}@{DOMAIN}>"
    with secured_smtp(world) as smtp:
        assert smtp.has_extn("auth")
        assert not smtp.has_extn("starttls")
        smtp.login(BOB, PASSWORDS[BOB])
        assert smtp.send_message(message) == {}
    imap = mail_client.imap_connection(world.route, MAIL_HOST)
    try:
        assert imap.login(ALICE, PASSWORDS[ALICE])[0] == "OK"
        status, exists = imap.select("INBOX")
        assert status == "OK"
        _, found = imap.search(None, "HEADER", "Message-ID", f'"{message["Message-ID"]}"')
        [number] = found[0].split()
        assert int(exists[0] or 0) >= int(number)
        _, flags_before = imap.fetch(number.decode(), "(FLAGS)")
        _, data = imap.fetch(number.decode(), "(RFC822)")
        raw = data[0]
        assert isinstance(raw, tuple)
        assert b"\r\n..leading dots survive\r\n.\r\nand a lone dot too\r\n" in raw[1]
        _, flags_after = imap.fetch(number.decode(), "(FLAGS)")
        _, by_uid = imap.uid("SEARCH", "ALL")
        assert by_uid[0].split()
        assert imap.noop()[0] == "OK"
    finally:
        imap.logout()
    assert b"\\Seen" not in flags_before[0]  # type: ignore[operator]
    assert b"\\Seen" in flags_after[0]  # type: ignore[operator]


def test_imap_takes_literals_and_answers_bad_to_the_unknown(world: World) -> None:
    context = client_context()
    user, password = ALICE.encode(), PASSWORDS[ALICE].encode()
    with (
        socket.create_connection(world.route.endpoint(MAIL_HOST, 993), TIMEOUT_S) as raw,
        context.wrap_socket(raw, server_hostname=MAIL_HOST) as tls,
    ):
        lines = tls.makefile("rb")
        assert lines.readline().startswith(b"* OK [CAPABILITY IMAP4rev1")
        tls.sendall(b"a1 FROB\r\n")
        assert lines.readline() == b"a1 BAD Unknown command.\r\n"
        tls.sendall(b"a2 SELECT INBOX\r\n")
        assert lines.readline().startswith(b"a2 BAD")
        tls.sendall(b"a3 LOGIN {%d}\r\n" % len(user))
        assert lines.readline().startswith(b"+ ")
        tls.sendall(user + b" {%d+}\r\n" % len(password) + password + b"\r\n")
        assert lines.readline().startswith(b"a3 OK")
        tls.sendall(b"a4 EXAMINE inbox\r\n")
        answer = [lines.readline()]
        while not answer[-1].startswith(b"a4 "):
            answer.append(lines.readline())
        assert answer[-1] == b"a4 OK [READ-ONLY] Examine completed.\r\n"
        assert any(line.startswith(b"* OK [UIDVALIDITY ") for line in answer)
        tls.sendall(b"a5 LOGOUT\r\n")
        rest = lines.read()
    assert b"* BYE" in rest


@pytest.mark.parametrize(
    "criteria",
    [b"NOT " * 2000 + b"ALL", b"(" * 3000 + b"ALL" + b")" * 3000],
    ids=["a-long-chain-of-NOT", "deeply-nested-parentheses"],
)
def test_a_search_nested_too_deeply_is_bad_and_the_session_goes_on(
    world: World, criteria: bytes
) -> None:
    imap = mail_client.imap_connection(world.route, MAIL_HOST)
    try:
        imap.login(ALICE, PASSWORDS[ALICE])
        imap.select("INBOX", readonly=True)
        with pytest.raises(imaplib.IMAP4.error, match="nested too deeply"):
            imap.search(None, criteria.decode())
        assert imap.noop()[0] == "OK"
    finally:
        imap.logout()


def test_no_password_reaches_the_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    mail_client.send(world.route, world.account(BOB), note(BOB, ALICE, "Logged?", "No."))
    mail_client.messages(world.route, world.account(ALICE))
    with pytest.raises(LoginRefused):
        mail_client.messages(world.route, world.account(ALICE, "hwkey-wrong-one-123"))
    assert caplog.records, "nothing was logged at all: the check would prove nothing"
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for password in (*PASSWORDS.values(), "hwkey-wrong-one-123"):
        assert password not in logged


# ---- who may log in and send what -------------------------------------------------------------


def test_a_wrong_password_is_refused_on_both_ports(world: World) -> None:
    with secured_smtp(world) as smtp, pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        smtp.login(ALICE, "hwkey-not-the-password")
    assert refused.value.smtp_code == 535
    assert error_text(refused.value).startswith("5.7.8")
    imap = mail_client.imap_connection(world.route, MAIL_HOST)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            imap.login(ALICE, "hwkey-not-the-password")
    finally:
        imap.logout()
    wrong = world.account(ALICE, "hwkey-not-the-password")
    with pytest.raises(LoginRefused):
        mail_client.send(world.route, wrong, note(ALICE, BOB, "x", "x"))
    with pytest.raises(LoginRefused):
        mail_client.messages(world.route, wrong)


def test_a_disabled_user_is_refused_with_its_own_password(world: World) -> None:
    with secured_smtp(world) as smtp, pytest.raises(smtplib.SMTPAuthenticationError):
        smtp.login(CAROL, PASSWORDS[CAROL])
    with pytest.raises(LoginRefused):
        mail_client.messages(world.route, world.account(CAROL))
    assert world.host.mailu.password_matches(CAROL, PASSWORDS[CAROL])  # the right password


def test_auth_is_neither_offered_nor_accepted_before_starttls(world: World) -> None:
    with mail_client.smtp_connection(world.route, MAIL_HOST) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            smtp.login(ALICE, PASSWORDS[ALICE])
        assert reply_of(smtp, "AUTH PLAIN AGFsaWNlAHg=")[0] == 530
        assert reply_of(smtp, f"MAIL FROM:<{ALICE}>") == (
            530,
            "5.7.0 Must issue a STARTTLS command first",
        )


def test_mail_before_auth_and_a_spoofed_sender_are_refused(world: World) -> None:
    with secured_smtp(world) as smtp:
        assert reply_of(smtp, f"MAIL FROM:<{ALICE}>") == (530, "5.7.0 Authentication required")
        smtp.login(ALICE, PASSWORDS[ALICE])
        code, text = reply_of(smtp, f"MAIL FROM:<{BOB}>")
        assert (code, text.split(" ", 1)[0]) == (553, "5.7.1")
        assert reply_of(smtp, f"MAIL FROM:<{ALICE.upper()}>")[0] == 250


def test_recipients_must_be_users_here_and_other_domains_are_not_relayed(world: World) -> None:
    with secured_smtp(world) as smtp:
        smtp.login(ALICE, PASSWORDS[ALICE])
        assert reply_of(smtp, f"MAIL FROM:<{ALICE}>")[0] == 250
        unknown = reply_of(smtp, f"RCPT TO:<nobody@{DOMAIN}>")
        elsewhere = reply_of(smtp, "RCPT TO:<someone@gmail.example>")
        tagged = reply_of(smtp, f"RCPT TO:<bob+news@{DOMAIN}>")
    assert (unknown[0], unknown[1].split(" ", 1)[0]) == (550, "5.1.1")
    assert elsewhere == (
        550,
        "5.7.1 <someone@gmail.example>: relaying to other servers is not simulated",
    )
    assert tagged[0] == 250
    with pytest.raises(MessageRefused, match=r"5\.7\.1"):
        mail_client.send(
            world.route, world.account(ALICE), note(ALICE, "someone@gmail.example", "x", "x")
        )


def test_plain_text_sent_behind_starttls_is_thrown_away(world: World) -> None:
    """RFC 3207: a command injected before the handshake must not run after it."""
    with socket.create_connection(world.route.endpoint(MAIL_HOST, 587), TIMEOUT_S) as raw:
        lines = raw.makefile("rb")
        assert lines.readline().startswith(b"220 ")
        raw.sendall(b"EHLO client\r\n")
        while not lines.readline().startswith(b"250 "):
            pass
        raw.sendall(b"STARTTLS\r\nNOOP\r\n")
        assert lines.readline().startswith(b"220 2.0.0")
        with client_context().wrap_socket(raw, server_hostname=MAIL_HOST) as tls:
            tls.sendall(b"QUIT\r\n")
            assert tls.makefile("rb").readline() == b"221 2.0.0 Bye\r\n"


# ---- TLS ---------------------------------------------------------------------------------------


def test_the_certificate_names_the_mail_host_and_nothing_else(world: World) -> None:
    mail_client.messages(world.route, world.account(BOB))  # some TLS use has happened
    assert world.host.certificate_names == (MAIL_HOST, f"mta-sts.{DOMAIN}")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        mail_client.imap_connection(world.route, OTHER_NAME)
    with (
        mail_client.smtp_connection(world.route, OTHER_NAME) as smtp,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        smtp.starttls(context=client_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        mail_client.imap_connection(world.route, MAIL_HOST, ssl.create_default_context())


def test_a_changed_hostnames_gets_a_new_certificate(fresh: World) -> None:
    fresh.install()
    mail_client.messages(fresh.route, fresh.account(BOB))
    assert fresh.host.certificate_names == (MAIL_HOST, f"mta-sts.{DOMAIN}")
    env = fresh.host.sandbox / ENV_FILE.lstrip("/")
    env.write_text(env.read_text().replace(f"HOSTNAMES={MAIL_HOST},", f"HOSTNAMES={OTHER_NAME},"))
    mail_client.imap_connection(fresh.route, OTHER_NAME).logout()
    assert fresh.host.certificate_names == (OTHER_NAME, f"mta-sts.{DOMAIN}")
    with pytest.raises(ssl.SSLCertVerificationError):
        mail_client.imap_connection(fresh.route, MAIL_HOST)


# ---- service, faults and the lifecycle ---------------------------------------------------------


def test_the_ports_refuse_service_until_mailu_runs_healthy(fresh: World) -> None:
    account = fresh.account(ALICE)
    # Nothing installed: SMTP says so, IMAP has no certificate to speak TLS with.
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        mail_client.smtp_connection(fresh.route, MAIL_HOST)
    assert refused.value.smtp_code == 421
    assert error_text(refused.value).startswith("4.3.2 Service not available")
    with pytest.raises(ServiceUnavailable):
        mail_client.messages(fresh.route, account)
    # Installed, containers starting.
    fresh.install(healthy=False)
    with pytest.raises(ServiceUnavailable, match="421"):
        mail_client.send(fresh.route, account, note(ALICE, BOB, "x", "x"))
    with pytest.raises(imaplib.IMAP4.error, match="BYE"):
        mail_client.imap_connection(fresh.route, MAIL_HOST)
    with pytest.raises(ServiceUnavailable):
        mail_client.messages(fresh.route, account)
    # Healthy.
    fresh.clock.advance(HEALTHY_AFTER_S)
    fresh.create_users()
    assert mail_client.messages(fresh.route, account) == []


def test_a_silent_client_or_an_endless_line_is_dropped(fresh: World) -> None:
    fresh.install()
    started = time.monotonic()
    with socket.create_connection(fresh.route.endpoint(MAIL_HOST, 587), TIMEOUT_S) as raw:
        lines = raw.makefile("rb")
        assert lines.readline().startswith(b"220 ")
        assert lines.read() == b""  # the server hung up on us
    assert time.monotonic() - started < TIMEOUT_S
    with socket.create_connection(fresh.route.endpoint(MAIL_HOST, 587), TIMEOUT_S) as raw:
        lines = raw.makefile("rb")
        lines.readline()
        raw.sendall(b"NOOP " + b"x" * 5000)
        assert lines.readline() == b"500 5.5.2 Error: line too long\r\n"
        assert lines.read() == b""


def test_unreachable_closes_the_mail_ports_and_restore_reopens_them(fresh: World) -> None:
    fresh.install()
    ports = fresh.host.mail_ports
    fresh.host.inject(Unreachable())
    for port in ports.values():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), TIMEOUT_S).close()
    fresh.host.restore()
    assert fresh.host.mail_ports == ports
    assert mail_client.messages(fresh.route, fresh.account(ALICE)) == []


def test_after_close_the_ports_refuse_and_nothing_is_left() -> None:
    threads_before = set(threading.enumerate())
    with world_of() as built:
        built.install()
        ports = built.host.mail_ports
        idle = socket.create_connection(("127.0.0.1", ports[587]), TIMEOUT_S)
        idle_lines = idle.makefile("rb")
        assert idle_lines.readline().startswith(b"220 ")
        assert mail_client.messages(built.route, built.account(ALICE)) == []
    with idle:
        assert idle_lines.read() == b""  # dropped by the close
    for port in ports.values():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), TIMEOUT_S).close()
    assert not [t for t in set(threading.enumerate()) - threads_before if t.is_alive()]
