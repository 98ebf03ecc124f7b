"""Names that reach Route 53, Hostwinds and the mail host: a control character anywhere, a
trailing newline included, is refused and never silently stripped (issue 10, section 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from inboxfleet.dns.commands import DkimKey
from inboxfleet.dns.commands import parse_command as parse_dns
from inboxfleet.dns.errors import InvalidDnsCommand
from inboxfleet.hostwinds.commands import InstanceName, InvalidHostwindsCommand
from inboxfleet.hostwinds.commands import parse_command as parse_hostwinds
from inboxfleet.mailu.commands import parse_command as parse_mailu
from inboxfleet.mailu.errors import InvalidMailuCommand
from inboxfleet.names import (
    Fingerprint,
    customer_domain,
    normalise_email,
    normalise_hostname,
    tenant_name,
)
from local.mailu_sim import validators as mailu_validators
from local.template import REPO_ROOT

# The examples the outside test used: each label, and the name, may end in a newline.
SMUGGLED_NAMES = [
    "x\n.reboot\n.example.com",
    "example.com\n",
    "example.com\r",
    "example.com\r\n",
    "\nexample.com",
    "example\n.com",
    "example.com\t",
    "example.com\x00",
    "example.com\x0b",
    "example.com\x0c",
    "example.com\x85",
    "example.com\u2028",
    "example.com\u2029",
    "example.com.\n",
]
SMUGGLED_ADDRESSES = [
    "sales\n@example.com",
    "sales@example.com\n",
    "sales\r\n@example.com",
    "\tsales@example.com",
    "sales@example\n.com",
    "sales\x00@example.com",
    "sales\u2028@example.com",
]


@pytest.mark.parametrize("raw", SMUGGLED_NAMES)
def test_a_hostname_with_a_control_character_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid hostname"):
        normalise_hostname(raw)


@pytest.mark.parametrize("raw", SMUGGLED_NAMES)
def test_a_customer_domain_with_a_control_character_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid domain name"):
        customer_domain(raw)


@pytest.mark.parametrize("raw", SMUGGLED_ADDRESSES)
def test_an_address_with_a_control_character_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid"):
        normalise_email(raw)


def test_the_refusal_shows_the_control_characters_escaped_on_one_line() -> None:
    with pytest.raises(ValueError, match="not a valid") as refused:
        normalise_email("sales\n@example.com")
    assert "\n" not in str(refused.value)
    assert "sales\\n@example.com" in str(refused.value)


@pytest.mark.parametrize(
    ("validate", "raw", "expected"),
    [
        (customer_domain, " Example.COM ", "example.com"),
        (customer_domain, "  bücher.example.  ", "xn--bcher-kva.example"),
        (normalise_hostname, " Mail.Example.COM ", "mail.example.com"),
        (normalise_email, " Sales@Example.COM ", "sales@example.com"),
    ],
)
def test_plain_spaces_at_the_edges_are_trimmed(
    validate: Callable[[str], str], raw: str, expected: str
) -> None:
    # Customers paste names with spaces around them: those are harmless and go.
    assert validate(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "exa mple.com",
        "example .com",
        "example.com\u00a0",  # no-break space
        "example.com\u3000",  # ideographic space
        "exam\u00adple.com",  # soft hyphen: IDNA would map it away unseen
        "exam\u200bple.com",  # zero-width space
        "exam\u200dple.com",  # zero-width joiner
        "example.com\ufeff",  # byte-order mark
    ],
)
def test_spaces_inside_and_invisible_characters_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid"):
        customer_domain(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "ex\u0430mple.com",  # Cyrillic a
        "example\u3002com",  # ideographic full stop
        "\u212aexample.com",  # Kelvin sign, which str.lower() turns into an ASCII k
        "\uff45xample.com",  # fullwidth e
        "b\u00fccher.example",
    ],
)
def test_a_hostname_is_ascii_already(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid hostname"):
        normalise_hostname(raw)


@pytest.mark.parametrize(
    "raw", ["s\u0430les@example.com", "\u212aate@example.com", "sales@b\u00fccher.example"]
)
def test_an_address_is_ascii(raw: str) -> None:
    with pytest.raises(ValueError, match="not a valid"):
        normalise_email(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bücher.example", "xn--bcher-kva.example"),
        ("bücher\u3002example", "xn--bcher-kva.example"),  # UTS 46 maps the ideographic dot
        ("\uff45xample.com", "example.com"),  # and fullwidth letters, as browsers do
        # A look-alike is a different name, and stays visibly different once encoded.
        ("ex\u0430mple.com", "xn--exmple-4nf.com"),
    ],
)
def test_internationalised_customer_domains_come_out_as_punycode(raw: str, expected: str) -> None:
    assert customer_domain(raw) == expected


def test_label_and_name_lengths_are_bounded() -> None:
    assert normalise_hostname("a" * 63 + ".example") == "a" * 63 + ".example"
    longest = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(longest) == 253
    assert normalise_hostname(longest) == longest
    for too_long in ("a" * 64 + ".example", longest + "b"):
        with pytest.raises(ValueError, match="not a valid"):
            customer_domain(too_long)
    # Punycode can push a label of 20 characters over 63.
    with pytest.raises(ValueError, match="not a valid"):
        customer_domain("".join(chr(0x4E00 + i * 997) for i in range(20)) + ".example")


@pytest.mark.parametrize(
    ("annotation", "value"),
    [
        (Fingerprint, "SHA256:" + "A" * 43),
        (InstanceName, "ifl-local-2a3f9c5f-dc5e-49be-b8e4-ca6294732654"),
        (DkimKey, "A" * 300),
    ],
    ids=["Fingerprint", "InstanceName", "DkimKey"],
)
def test_pydantic_patterns_end_at_the_end_of_the_text(annotation: Any, value: str) -> None:
    # pydantic runs `pattern` on Rust's regex engine, where `$` (no multi-line flag) is the end
    # of the text: unlike Python's `$`, it does not also match before a final newline.
    adapter = TypeAdapter[Any](annotation)
    assert adapter.validate_python(value) == value
    for tail in ("\n", "\r\n", "\r"):
        with pytest.raises(ValidationError):
            adapter.validate_python(value + tail)


def test_the_mailu_simulator_judges_names_as_real_mailu_does() -> None:
    # Mailu 2024.06 checks names with `validators` 0.20: its domain check refuses any
    # whitespace, but its email check matches the local part with `$` and .match, so a final
    # newline there passes. The simulator keeps that quirk on purpose: our validators, not
    # Mailu, have to stop such an address, and a stricter simulator would hide it if they did not.
    assert not mailu_validators.domain("x\n.reboot\n.example.com")
    assert not mailu_validators.domain("example.com\n")
    assert mailu_validators.email("sales\n@example.com")
    assert not mailu_validators.email("sa\nles@example.com")


# --- the commands the Lambdas accept -------------------------------------------------------------


def _sample(function: str, file: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((REPO_ROOT / "events" / function / file).read_text())
    return {**event, **changes}


DNS_EVENTS = [
    _sample("DnsFunction", "check_delegation.json", domain="example.com\n"),
    _sample("DnsFunction", "check_delegation.json", domain="x\n.reboot\n.example.com"),
    _sample("DnsFunction", "upsert.json", mail_host="x\n.reboot\n.acme-outreach.example"),
    _sample("DnsFunction", "upsert.json", domain="acme-outreach.example\r"),
    _sample("DnsFunction", "verify.json", mail_host="mail.acme-outreach.example\n"),
    _sample("DnsFunction", "delete.json", mail_host="mail\n.acme-outreach.example"),
    _sample("DnsFunction", "upsert.json", dkim_public_key="A" * 300 + "\n"),
]
MAILU_EVENTS = [
    _sample("MailuInstallerFunction", "install.json", domain="x\n.reboot\n.example.com"),
    _sample("MailuInstallerFunction", "install.json", domain="acme-outreach.example\n"),
    _sample("MailuInstallerFunction", "configure.json", address="sales\n@acme-outreach.example"),
    _sample(
        "MailuInstallerFunction", "apply_mailbox.json", address="sales@acme-outreach.example\n"
    ),
    _sample(
        "MailuInstallerFunction", "apply_mailbox.json", address="sa\rles@acme-outreach.example"
    ),
    _sample(
        "MailuInstallerFunction", "remove_mailbox.json", address="\nsales@acme-outreach.example"
    ),
    _sample(
        "MailuInstallerFunction", "status.json", host_key_fingerprint="SHA256:" + "A" * 43 + "\n"
    ),
]
HOSTWINDS_EVENTS = [
    _sample("HostwindsFunction", "set_reverse_dns.json", hostname="x\n.reboot\n.example.com"),
    _sample("HostwindsFunction", "set_reverse_dns.json", hostname="mail.example.com\n"),
    _sample(
        "HostwindsFunction",
        "find_server.json",
        name="ifl-local-2a3f9c5f-dc5e-49be-b8e4-ca6294732654\n",
    ),
    _sample("HostwindsFunction", "create_server.json", location="dallas\n"),
]


def test_the_samples_themselves_are_accepted() -> None:
    # Without this, a refusal below could come from a broken sample rather than the name.
    names = ("check_delegation", "upsert", "verify", "delete")
    for name in names:
        parse_dns(_sample("DnsFunction", f"{name}.json"))
    for name in ("install", "configure", "apply_mailbox", "remove_mailbox", "status"):
        parse_mailu(_sample("MailuInstallerFunction", f"{name}.json"))
    for name in ("set_reverse_dns", "find_server", "create_server"):
        parse_hostwinds(_sample("HostwindsFunction", f"{name}.json"))


@pytest.mark.parametrize("event", DNS_EVENTS)
def test_the_dns_function_refuses_a_smuggled_name(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidDnsCommand):
        parse_dns(event)


@pytest.mark.parametrize("event", MAILU_EVENTS)
def test_the_mail_server_function_refuses_a_smuggled_name(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidMailuCommand):
        parse_mailu(event)


@pytest.mark.parametrize("event", HOSTWINDS_EVENTS)
def test_the_hostwinds_function_refuses_a_smuggled_name(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidHostwindsCommand):
        parse_hostwinds(event)


def test_a_domain_without_room_for_its_records_is_refused_by_the_commands() -> None:
    from inboxfleet.dns.commands import parse_command as dns_command
    from inboxfleet.dns.errors import InvalidDnsCommand
    from inboxfleet.mailu.commands import parse_command as mailu_command
    from inboxfleet.mailu.errors import InvalidMailuCommand
    from inboxfleet.names import SENDING_DOMAIN_MAX_LENGTH

    domain = ".".join(["a" * 60] * 4)[: SENDING_DOMAIN_MAX_LENGTH - 8] + "x.example"
    assert len(domain) == SENDING_DOMAIN_MAX_LENGTH + 1
    with pytest.raises(InvalidDnsCommand, match="too long to send from"):
        dns_command({"action": "check_delegation", "domain": domain})
    with pytest.raises(InvalidMailuCommand, match="too long to send from"):
        mailu_command(
            {
                "action": "install",
                "server_ip": "198.51.100.1",
                "host_key_fingerprint": "SHA256:" + "A" * 43,
                "domain": domain,
            }
        )


# --- Tenant display names: Unicode letters welcome, nothing invisible or line-breaking -------


@pytest.mark.parametrize(
    "name",
    [
        "Acme Outreach",
        "B\u00fccher & Co. (EU)",
        "\u041e\u041e\u041e \u0420\u043e\u043c\u0430\u0448\u043a\u0430",
        "x" * 200,
    ],
)
def test_a_tenant_name_keeps_what_a_company_is_called(name: str) -> None:
    assert tenant_name(f"  {name} ") == name


@pytest.mark.parametrize(
    "hidden",
    [
        "\n",
        "\r",
        "\t",
        "\x00",
        "\x1b",
        "\x7f",
        "\x85",
        "\u2028",
        "\u00a0",
        "\u200b",
        "\u00ad",
        "\ufeff",
    ],
)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_tenant_name_with_a_hidden_character_anywhere_is_refused(hidden: str, where: str) -> None:
    name = {"start": hidden + "Acme", "middle": f"Ac{hidden}me", "end": "Acme" + hidden}[where]
    with pytest.raises(ValueError, match="control, invisible or line-breaking"):
        tenant_name(name)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_tenant_name_is_1_to_200_characters(name: str) -> None:
    with pytest.raises(ValueError, match="1-200 characters"):
        tenant_name(name)
