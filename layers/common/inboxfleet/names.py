"""Validated names shared by every boundary: hostnames (ASCII, already IDNA-encoded), the
domains customers type (internationalised names included) and the mailbox addresses we create.

These names end up in Route 53, at Hostwinds and as lines of the mail server's config files, so
every check is a full match: with `.match`, a pattern's `$` also matches before a final "\n" and
a label could end in a newline. Plain spaces at the edges are trimmed (customers paste them);
any control or invisible character, a trailing "\n" included, is refused, never stripped.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from functools import cache
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, Field

MAX_NAME_LENGTH = 253
# The longest name published under a sending domain is _autodiscover._tcp.<domain>: a longer
# domain would leave some of its records (and so the mail server's names) invalid. The dns
# record tests hold the record layout to this.
SENDING_DOMAIN_MAX_LENGTH = MAX_NAME_LENGTH - len("_autodiscover._tcp.")
# ASCII classes on the text as given, so nothing non-ASCII can turn ASCII when lower-cased
# (str.lower() makes the Kelvin sign a "k").
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_LOCAL_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._+-]{0,62}[A-Za-z0-9])?")


def _shown(value: str) -> str:
    """The refused value for an error message: repr() escapes control characters, so the
    message stays one line."""
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _trimmed(value: str) -> str:
    # Only U+0020: str.strip() would also drop "\n", "\r", "\t", "\x85" and hide them.
    return value.strip(" ")


def _ascii_hostname(name: str) -> str | None:
    """`name` lower-cased without its trailing dot if it is at least two LDH labels of 1-63
    characters, at most 253 in all (we never deal in bare single-label names); else None."""
    name = name.removesuffix(".")
    labels = name.split(".")
    if len(name) > MAX_NAME_LENGTH or len(labels) < 2:
        return None
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return name.lower()


def normalise_hostname(value: str) -> str:
    """Lower-case, trailing dot dropped; ValueError unless it is a valid ASCII hostname."""
    name = _ascii_hostname(_trimmed(value))
    if name is None:
        raise ValueError(f"{_shown(value)} is not a valid hostname")
    return name


Hostname = Annotated[str, AfterValidator(normalise_hostname)]


def _has_hidden_characters(text: str) -> bool:
    """Controls, format characters (soft hyphen, zero-width space, BOM...), spaces and line
    separators. IDNA would map some of them away unseen: what the customer sees must be
    exactly the name we publish."""
    return any(unicodedata.category(c)[0] in "CZ" for c in text)


def _idna_hostname(text: str) -> str | None:
    import idna

    if _has_hidden_characters(text):
        return None
    try:
        encoded = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None
    return _ascii_hostname(encoded)


def customer_domain(value: str) -> str:
    """A domain as customers type it, internationalised names included, in its ASCII (IDNA
    2008, UTS 46 mapped) form, validated as a hostname with room for the records we publish
    under it."""
    name = _idna_hostname(_trimmed(value))
    if name is None:
        raise ValueError(f"{_shown(value)} is not a valid domain name")
    if len(name) > SENDING_DOMAIN_MAX_LENGTH:
        raise ValueError(
            f"{_shown(value)} is too long to send from: at most {SENDING_DOMAIN_MAX_LENGTH} "
            "characters leave room for its mail records"
        )
    return name


Domain = Annotated[str, AfterValidator(customer_domain)]


# Special-use names (RFC 6761, 6762, 7686, 8375; ICANN's .internal): no registry delegates them,
# so a zone for one would cost money and never serve. (.example and .test stay: the local cloud
# and the tests use them, and a zone there harms no one.)
NEVER_DELEGATED = frozenset({"localhost", "invalid", "local", "onion", "arpa", "internal", "alt"})


@cache
def _public_suffixes() -> Any:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def registrable_domain(value: str) -> str:
    """A domain a tenant can claim: `customer_domain`, and exactly one label below a public
    suffix (the Public Suffix List: `co.uk` and `github.io` are suffixes, `acme.co.uk` is
    registrable). IP literals, single labels, suffixes themselves and names below a
    registrable domain are refused, each saying why."""
    name = customer_domain(value)
    top = name.rsplit(".", 1)[-1]
    if top.isdigit():
        raise ValueError(f"{_shown(value)} is an IP address, not a domain name")
    if top in NEVER_DELEGATED:
        raise ValueError(f"{_shown(value)} is under .{top}, which no registry delegates")
    suffixes = _public_suffixes()
    if suffixes.is_public(name):
        raise ValueError(f"{_shown(value)} is a public suffix: nobody can register it whole")
    registrable = suffixes.privatesuffix(name)
    if registrable != name:
        raise ValueError(
            f"{_shown(value)} is below the registrable domain {registrable}: add {registrable}"
        )
    return name


RegistrableDomain = Annotated[str, AfterValidator(registrable_domain)]


def mail_host_of(domain: str) -> str:
    """The mail server's host name in its domain: MX target, TLS name, what clients connect to
    (and so a name whose records are ours in the domain's zone)."""
    return f"mail.{domain}"


def normalise_email(value: str) -> str:
    """A mailbox address we create: a plain lower-case local part at a valid hostname."""
    local, at, domain = _trimmed(value).rpartition("@")
    hostname = _ascii_hostname(domain)
    if not at or not _LOCAL_PART.fullmatch(local) or ".." in local or hostname is None:
        raise ValueError(f"{_shown(value)} is not a valid mailbox address")
    return f"{local.lower()}@{hostname}"


Email = Annotated[str, AfterValidator(normalise_email)]

MAILBOX_LOCAL_PART_MAX_LENGTH = 64
# Stricter than a contact address: no "+" (Mailu's recipient delimiter, which would make the
# mailbox an alias of another) and nothing a shell, a DNS name or a CSV cell could read as syntax.
_MAILBOX_LOCAL_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?")


def mailbox_address(value: str) -> str:
    """An inbox a tenant asks for: a plain local part at one of its sending domains (an
    internationalised domain in its ASCII form), lower-cased."""
    local, at, domain = _trimmed(value).rpartition("@")
    if not at or not _MAILBOX_LOCAL_PART.fullmatch(local) or ".." in local:
        raise ValueError(
            f"{_shown(value)} is not a mailbox address we can create: the part before @ takes "
            f"1-{MAILBOX_LOCAL_PART_MAX_LENGTH} letters, digits, '.', '_' or '-', starting and "
            "ending with a letter or digit"
        )
    try:
        hostname = customer_domain(domain)
    except ValueError:
        raise ValueError(f"{_shown(value)} is not a valid mailbox address") from None
    return f"{local.lower()}@{hostname}"


MailboxAddress = Annotated[str, AfterValidator(mailbox_address)]

TENANT_NAME_MAX_LENGTH = 200


def tenant_name(value: str) -> str:
    """A company's display name: trimmed, 1-200 characters of letters, marks, numbers,
    punctuation, symbols and plain spaces; never a control, format or line-breaking character
    (it is shown in consoles, emails and Stripe)."""
    name = _trimmed(value)
    if not 0 < len(name) <= TENANT_NAME_MAX_LENGTH:
        raise ValueError(f"a tenant name is 1-{TENANT_NAME_MAX_LENGTH} characters")
    if any(c != " " and unicodedata.category(c)[0] in "CZ" for c in name):
        raise ValueError(f"{_shown(value)} holds a control, invisible or line-breaking character")
    return name


TenantName = Annotated[str, AfterValidator(tenant_name)]


def server_name_prefix(environment: str) -> str:
    """What every server name of this environment starts with (and only its names)."""
    return f"ifl-{environment}-"


def server_name(environment: str, server_id: UUID) -> str:
    """The unique Hostwinds srvrname of a server: creation and compensation find it by this."""
    return f"{server_name_prefix(environment)}{server_id}"


def execution_name(inbox_id: UUID, attempt: int) -> str:
    """The provisioning execution of an inbox's attempt: starting it twice is one execution,
    and only this name may provision (or undo) the attempt."""
    return f"{inbox_id}-{attempt}"


def teardown_name(inbox_id: UUID, run: int = 1) -> str:
    """The teardown of a deleted inbox, its `run`-th execution: the first is `<id>-delete`, and
    another is started only once the one before has ended with the inbox still `deleting`."""
    return f"{inbox_id}-delete" if run == 1 else f"{inbox_id}-delete-{run}"


def compensation_name(execution: str, run: int = 1) -> str:
    """The compensation entry's `run`-th execution for a stopped or stranded provisioning run
    (`execution`): another is started only once the one before has ended with the inbox still
    not failed."""
    return f"{execution}-compensate" if run == 1 else f"{execution}-compensate-{run}"


def mailbox_run_name(inbox_id: UUID) -> str:
    """A convergence run of an inbox's mailbox: each change starts its own (runs take turns
    through the inbox's lease, and one that finds nothing to do ends at once)."""
    return f"{inbox_id}-mailbox-{secrets.token_hex(6)}"


# A pinned SSH host key: the mail-server function reports it, the inventory function stores it.
# pydantic runs `pattern` on the Rust regex engine, where `$` is the end of the text (tested).
Fingerprint = Annotated[str, Field(pattern=r"^SHA256:[A-Za-z0-9+/]{43}$")]
