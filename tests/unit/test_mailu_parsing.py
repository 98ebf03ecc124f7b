"""Reading what the server and Mailu answer: compose ps, ufw status, DKIM records, addresses."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from inboxfleet.dkim import InvalidDkimRecord, public_key_from_record, rsa_bits
from inboxfleet.mailu.compose import EXPECTED_SERVICES, parse_ps, stack_ready
from inboxfleet.mailu.firewall import ALLOWED_PORTS, ufw_commands, ufw_in_place
from inboxfleet.names import normalise_email


def ps_line(service: str, state: str = "running", health: str = "healthy") -> str:
    return json.dumps(
        {"Name": f"mailu-{service}-1", "Service": service, "State": state, "Health": health}
    )


def test_ps_lines_and_arrays_both_parse() -> None:
    lines = "\n".join(ps_line(s) for s in sorted(EXPECTED_SERVICES))
    array = json.dumps([json.loads(line) for line in lines.splitlines()])
    assert parse_ps(lines) == parse_ps(array)
    assert stack_ready(parse_ps(lines))
    assert parse_ps("") == []


def test_one_unhealthy_or_missing_container_means_not_ready() -> None:
    services = sorted(EXPECTED_SERVICES)
    starting = [ps_line(s, health="starting" if s == "admin" else "healthy") for s in services]
    assert not stack_ready(parse_ps("\n".join(starting)))
    missing = [ps_line(s) for s in services if s != "smtp"]
    assert not stack_ready(parse_ps("\n".join(missing)))
    exited = [ps_line(s, state="exited" if s == "front" else "running") for s in services]
    assert not stack_ready(parse_ps("\n".join(exited)))
    no_healthcheck = [ps_line(s, health="" if s == "redis" else "healthy") for s in services]
    assert stack_ready(parse_ps("\n".join(no_healthcheck)))


def ufw_status(ports: tuple[int, ...] = ALLOWED_PORTS, active: bool = True) -> str:
    if not active:
        return "Status: inactive\n"
    rules = "".join(f"{p}/tcp                     ALLOW IN    Anywhere\n" for p in ports)
    twins = "".join(f"{p}/tcp (v6)                ALLOW IN    Anywhere (v6)\n" for p in ports)
    return (
        "Status: active\nLogging: on (low)\n"
        "Default: deny (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n\n"
        "To                         Action      From\n--                         ------      ----\n"
        + rules
        + twins
    )


def test_firewall_in_place_only_when_exactly_our_rules_are_active() -> None:
    assert ufw_in_place(ufw_status())
    assert not ufw_in_place(ufw_status() + "3306                       ALLOW IN    Anywhere\n")
    assert not ufw_in_place(ufw_status() + "22/tcp                     ALLOW IN    203.0.113.9\n")
    assert not ufw_in_place(ufw_status(active=False))
    assert not ufw_in_place(ufw_status((*ALLOWED_PORTS, 3306)))
    assert not ufw_in_place(ufw_status(ALLOWED_PORTS[:-1]))
    assert not ufw_in_place(ufw_status().replace("deny (incoming)", "allow (incoming)"))


def test_firewall_commands_open_ssh_mail_and_web_and_enable_last() -> None:
    commands = ufw_commands()
    assert commands[:2] == [["ufw", "--force", "reset"], ["ufw", "default", "deny", "incoming"]]
    assert commands[-1] == ["ufw", "--force", "enable"]
    opened = {c[2] for c in commands if c[1] == "allow"}
    assert opened == {f"{p}/tcp" for p in (22, 25, 80, 443, 465, 587, 993, 4190)}


def der(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    raw = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(raw).decode()


def test_dkim_key_is_read_from_a_chunked_record() -> None:
    key = der(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())
    txt = f"v=DKIM1; k=rsa; p={key}"
    chunks = " ".join(f'"{txt[i : i + 250]}"' for i in range(0, len(txt), 250))
    record = f"dkim._domainkey.acme.example. 600 IN TXT {chunks}"
    assert public_key_from_record(record) == key
    assert rsa_bits(key) == 2048


@pytest.mark.parametrize(
    "record",
    [
        "",
        'dkim._domainkey.a.example. 600 IN TXT "v=spf1 mx ~all"',
        'x. 600 IN TXT "v=DKIM1; k=rsa; p=bm90IGEga2V5"',
    ],
)
def test_records_without_a_usable_key_are_refused(record: str) -> None:
    with pytest.raises(InvalidDkimRecord):
        public_key_from_record(record)


def test_weak_or_non_rsa_keys_are_refused() -> None:
    weak = der(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key())
    with pytest.raises(InvalidDkimRecord, match="2048"):
        rsa_bits(weak)
    with pytest.raises(InvalidDkimRecord, match="RSA"):
        rsa_bits(der(ec.generate_private_key(ec.SECP256R1()).public_key()))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Sales@Acme.Example", "sales@acme.example"), ("a.b+c@x.example", "a.b+c@x.example")],
)
def test_mailbox_addresses(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "noat",
        "@x.example",
        "a..b@x.example",
        ".a@x.example",
        "a@localhost",
        "a b@x.example",
        "a;id@x.example",
        "$(reboot)@x.example",
        "a@x.example;reboot",
        "'@x.example",
    ],
)
def test_bad_mailbox_addresses(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid"):
        normalise_email(raw)
