"""Domain names as the simulator keeps them: lower-case, absolute, with one trailing dot.

Route 53 treats every name as absolute whether or not it ends in a dot, and so does everything
here. Comparison is case-insensitive (RFC 4343) because every stored name is lower-cased.
"""

from __future__ import annotations

import ipaddress
import re

ROOT = "."
MAX_NAME = 253  # presentation length without the trailing dot
MAX_LABEL = 63
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


def normalize(name: str) -> str:
    """`Mail.Acme.Example` -> `mail.acme.example.`; "" and "." are the root. No validation."""
    stripped = name.strip().rstrip(".")
    return stripped.lower() + "." if stripped else ROOT


def checked(name: str) -> str:
    """`normalize`, refusing what cannot be a domain name (for names given through the API)."""
    fqdn = normalize(name)
    if fqdn == ROOT:
        return fqdn
    body = fqdn[:-1]
    if len(body) > MAX_NAME:
        raise ValueError(f"domain name longer than {MAX_NAME} characters: {name!r}")
    for label in body.split("."):
        if not label or len(label) > MAX_LABEL:
            raise ValueError(f"bad label in domain name {name!r}")
        if any(ch.isspace() for ch in label):
            raise ValueError(f"whitespace in domain name {name!r}")
    return fqdn


def route53_name(name: str) -> str:
    """A name as Route 53 lists it (`\\052.acme.example.` for a wildcard) -> normalized."""
    return normalize(_OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), name))


def is_within(name: str, origin: str) -> bool:
    """Is `name` equal to `origin` or below it? Both normalized."""
    return origin in (ROOT, name) or name.endswith("." + origin)


def parent(name: str) -> str:
    """The name one label up (the root's parent is the root)."""
    if name == ROOT:
        return ROOT
    rest = name.split(".", 1)[1]
    return rest or ROOT


def below(name: str, origin: str) -> list[str]:
    """The names strictly below `origin` down to `name` inclusive, nearest the origin first:
    below("a.b.example.", "example.") == ["b.example.", "a.b.example."]."""
    chain: list[str] = []
    current = name
    while current not in (origin, ROOT):
        chain.append(current)
        current = parent(current)
    chain.reverse()
    return chain


def reverse_pointer(ip: str) -> str:
    """`203.0.113.7` -> `7.113.0.203.in-addr.arpa.`; IPv6 gives the nibble form in ip6.arpa."""
    return ipaddress.ip_address(ip).reverse_pointer + "."


def reversed_ip_labels(ip: str) -> str:
    """The labels a DNSBL puts in front of its zone: `203.0.113.7` -> `7.113.0.203`."""
    pointer = ipaddress.ip_address(ip).reverse_pointer
    return pointer.rsplit(".", 2)[0]
    return None
