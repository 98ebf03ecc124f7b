"""The only module that touches dnslib: typed values in, DNS wire format out (and back).

Record data is given in Route 53's presentation format (the `Value` of a ResourceRecord): names
are absolute with or without the trailing dot, TXT data is one or more quoted strings
(`"v=DKIM1; k=rsa; " "p=MIIB..."`), each of which becomes its own character-string on the wire.
Inside quotes `\\"` and `\\\\` escape themselves and `\\NNN` is an octal byte, as Route 53
documents it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from dnslib import (  # type: ignore[import-untyped]
    AAAA,
    CAA,
    CLASS,
    CNAME,
    EDNS0,
    MX,
    NS,
    PTR,
    QTYPE,
    RR,
    SOA,
    SRV,
    TXT,
    A,
    DNSError,
    DNSHeader,
    DNSLabel,
    DNSQuestion,
    DNSRecord,
)

from local.dns_sim.names import normalize

CLASS_IN = 1
OPT = 41
UDP_DEFAULT_LIMIT = 512  # a UDP answer without EDNS (RFC 1035)
TCP_LIMIT = 65535
TXT_STRING_MAX = 255
OPCODE_QUERY = 0


class Rcode(IntEnum):
    NOERROR = 0
    FORMERR = 1
    SERVFAIL = 2
    NXDOMAIN = 3
    NOTIMP = 4
    REFUSED = 5


def rtype_code(rtype: str) -> int:
    """`"MX"` -> 15; `"TYPE65534"` -> 65534."""
    upper = rtype.upper()
    if upper.startswith("TYPE") and upper[4:].isdigit():
        return int(upper[4:])
    code = QTYPE.reverse.get(upper)
    if code is None:
        raise ValueError(f"unknown record type {rtype!r}")
    return int(code)


def rtype_name(code: int) -> str:
    """15 -> `"MX"`; a type dnslib has no name for -> `"TYPE<n>"`."""
    name = QTYPE.get(code)
    return name if isinstance(name, str) else f"TYPE{code}"


# ---- record data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RData:
    """One record's data: its type, a presentation form, and the dnslib object that packs it."""

    rtype: str
    text: str
    wire: Any = field(compare=False, repr=False, hash=False)

    def target(self) -> str | None:
        """The domain name this data points at (CNAME/NS/PTR/MX/SRV), normalized."""
        parts = self.text.split()
        if self.rtype in {"CNAME", "NS", "PTR"} and parts:
            return normalize(parts[0])
        if self.rtype == "MX" and len(parts) == 2:
            return normalize(parts[1])
        if self.rtype == "SRV" and len(parts) == 4:
            return normalize(parts[3])
        return None


@dataclass(frozen=True)
class ResourceRecord:
    name: str  # normalized owner name
    ttl: int
    rdata: RData

    @property
    def rtype(self) -> str:
        return self.rdata.rtype


@functools.lru_cache(maxsize=65536)
def _label(name: str) -> Any:
    return DNSLabel(name.rstrip(".") or ".")


def _ints(parts: Sequence[str], count: int, what: str) -> list[int]:
    if len(parts) < count:
        raise ValueError(f"{what}: expected {count} numbers")
    try:
        values = [int(p) for p in parts[:count]]
    except ValueError:
        raise ValueError(f"{what}: not a number in {' '.join(parts)!r}") from None
    if any(not 0 <= v <= 0xFFFFFFFF for v in values):
        raise ValueError(f"{what}: number out of range")
    return values


def _unescape(text: str, start: int, out: bytearray) -> int:
    """`text[start]` is a backslash: append the escaped byte(s), return the next index."""
    digits = text[start + 1 : start + 4]
    if len(digits) == 3 and all(c in "01234567" for c in digits):
        value = int(digits, 8)
        if value > 0xFF:
            raise ValueError(f"escape \\{digits} is not a byte")
        out.append(value)
        return start + 4
    if start + 1 >= len(text):
        raise ValueError("dangling backslash")
    out += text[start + 1].encode()
    return start + 2


def txt_strings(value: str) -> list[bytes]:
    """Route 53 TXT data -> its character-strings. Quoted strings are one string each
    (one longer than 255 bytes is split, as a DNS server cannot send it whole); unquoted words
    are one string each, as in a zone file."""
    strings: list[bytes] = []
    i, n = 0, len(value)
    while i < n:
        if value[i].isspace():
            i += 1
            continue
        buf = bytearray()
        if value[i] == '"':
            i += 1
            while True:
                if i >= n:
                    raise ValueError(f"unterminated quoted string in {value!r}")
                ch = value[i]
                if ch == '"':
                    i += 1
                    break
                if ch == "\\":
                    i = _unescape(value, i, buf)
                else:
                    buf += ch.encode()
                    i += 1
        else:
            while i < n and not value[i].isspace():
                if value[i] == "\\":
                    i = _unescape(value, i, buf)
                else:
                    buf += value[i].encode()
                    i += 1
        raw = bytes(buf)
        chunks = [raw[k : k + TXT_STRING_MAX] for k in range(0, len(raw), TXT_STRING_MAX)]
        strings.extend(chunks or [b""])
    return strings or [b""]


def _quoted(text: str) -> str:
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        buf = bytearray()
        i = 1
        while i < len(stripped) - 1:
            if stripped[i] == "\\":
                i = _unescape(stripped, i, buf)
            else:
                buf += stripped[i].encode()
                i += 1
        return buf.decode("utf-8", "replace")
    return stripped


def _fields(parts: Sequence[str], count: int, usage: str) -> Sequence[str]:
    if len(parts) != count:
        raise ValueError(f"expected {usage!r}")
    return parts


def _caa(text: str) -> Any:
    flags, tag, value = _fields(text.split(None, 2), 3, 'flags tag "value"')
    return CAA(_ints([flags], 1, "CAA")[0], tag, _quoted(value))


def _soa(parts: Sequence[str]) -> Any:
    mname, rname, *times = _fields(parts, 7, "mname rname serial refresh retry expire minimum")
    return SOA(_label(mname), _label(rname), _ints(times, 5, "SOA"))


def _srv(parts: Sequence[str]) -> Any:
    priority, weight, port, target = _fields(parts, 4, "priority weight port target")
    return SRV(*_ints([priority, weight, port], 3, "SRV"), _label(target))


def _mx(parts: Sequence[str]) -> Any:
    preference, exchange = _fields(parts, 2, "preference exchange")
    return MX(_label(exchange), _ints([preference], 1, "MX")[0])


_PARSERS: dict[str, Callable[[str, Sequence[str]], Any]] = {
    "A": lambda text, _: A(str(ipaddress.IPv4Address(text))),
    "AAAA": lambda text, _: AAAA(str(ipaddress.IPv6Address(text))),
    "CNAME": lambda _, parts: CNAME(_label(_fields(parts, 1, "name")[0])),
    "NS": lambda _, parts: NS(_label(_fields(parts, 1, "name")[0])),
    "PTR": lambda _, parts: PTR(_label(_fields(parts, 1, "name")[0])),
    "MX": lambda _, parts: _mx(parts),
    "SRV": lambda _, parts: _srv(parts),
    "SOA": lambda _, parts: _soa(parts),
    "TXT": lambda text, _: TXT(txt_strings(text)),
    "SPF": lambda text, _: TXT(txt_strings(text)),
    "CAA": lambda text, _: _caa(text),
}


def parse_rdata(rtype: str, value: str) -> RData:
    """Route 53 presentation data of one record -> RData. ValueError if it is not valid."""
    kind = rtype.upper()
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ValueError(f"record type {rtype!r} is not supported by the simulator")
    text = value.strip() if kind in {"TXT", "SPF", "CAA"} else " ".join(value.split())
    try:
        wire = parser(text, text.split())
    except (DNSError, ValueError) as exc:
        raise ValueError(f"{kind} {value!r}: {exc}") from None
    return RData(kind, text, wire)


def rdata_from_wire(rtype: str, wire: Any) -> RData:
    return RData(rtype, str(wire.toZone()), wire)


# ---- messages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    qname: str  # as the client sent it, absolute ("Mail.Acme.example.")
    name: str  # normalized
    qtype: str
    qclass: int


@dataclass(frozen=True)
class Query:
    id: int
    opcode: int
    rd: bool
    question: Question
    edns_payload: int | None  # None: no OPT record in the query
    wire_question: Any = field(compare=False, repr=False)


@dataclass(frozen=True)
class BadQuery:
    """A datagram that is not a query we answer: `reply` is the error to send (or None)."""

    reply: bytes | None


@dataclass(frozen=True)
class Reply:
    """What a server says, before encoding."""

    rcode: Rcode
    aa: bool = False
    ra: bool = False
    answer: tuple[ResourceRecord, ...] = ()
    authority: tuple[ResourceRecord, ...] = ()
    additional: tuple[ResourceRecord, ...] = ()


@dataclass(frozen=True)
class Message:
    """A decoded response (what an upstream server said)."""

    id: int
    rcode: int  # compare with Rcode members
    aa: bool
    tc: bool
    qr: bool
    question: Question | None
    answer: tuple[ResourceRecord, ...]
    authority: tuple[ResourceRecord, ...]
    additional: tuple[ResourceRecord, ...]


def _error_header_reply(data: bytes, rcode: Rcode) -> bytes | None:
    if len(data) < 12 or data[2] & 0x80:  # too short, or a response: never answer those
        return None
    flags = 0x8000 | ((data[2] & 0x79) << 8) | int(rcode)  # QR, the opcode and RD echoed
    return data[:2] + flags.to_bytes(2, "big") + bytes(8)


def _question(q: Any) -> Question:
    qname = str(q.qname)
    return Question(qname, normalize(qname), rtype_name(int(q.qtype)), int(q.qclass))


def decode_query(data: bytes) -> Query | BadQuery:
    try:
        msg = DNSRecord.parse(data)
    except (DNSError, UnicodeError, ValueError, IndexError):
        return BadQuery(_error_header_reply(data, Rcode.FORMERR))
    header = msg.header
    if header.qr:
        return BadQuery(None)
    if header.opcode != OPCODE_QUERY:
        return BadQuery(_error_header_reply(data, Rcode.NOTIMP))
    if len(msg.questions) != 1:
        return BadQuery(_error_header_reply(data, Rcode.FORMERR))
    payload = None
    for rr in msg.ar:
        if rr.rtype == OPT:
            payload = max(UDP_DEFAULT_LIMIT, int(rr.rclass))
    wire_q = msg.questions[0]
    return Query(
        id=int(header.id),
        opcode=int(header.opcode),
        rd=bool(header.rd),
        question=_question(wire_q),
        edns_payload=payload,
        wire_question=wire_q,
    )


def _wire_rr(record: ResourceRecord, owner: Any) -> Any:
    return RR(owner, rtype_code(record.rtype), CLASS_IN, max(0, record.ttl), record.rdata.wire)


def encode_reply(query: Query, reply: Reply, *, limit: int, edns_payload: int) -> bytes:
    """The response to `query`; if it is longer than `limit` bytes, the TC bit with the
    question and no records instead (the client then retries over TCP)."""

    def message(records: bool) -> Any:
        bitmap = (
            0x8000  # QR
            | (query.opcode & 0xF) << 11
            | int(reply.aa) << 10
            | int(not records) << 9  # TC
            | int(query.rd) << 8
            | int(reply.ra) << 7
            | int(reply.rcode) & 0xF
        )
        header = DNSHeader(id=query.id, bitmap=bitmap)
        msg = DNSRecord(header, questions=[query.wire_question])
        if records:
            asked, asked_label = query.question.name, query.wire_question.qname
            for section, add in (
                (reply.answer, msg.add_answer),
                (reply.authority, msg.add_auth),
                (reply.additional, msg.add_ar),
            ):
                for rr in section:
                    owner = asked_label if rr.name == asked else _label(rr.name)
                    add(_wire_rr(rr, owner))
        if query.edns_payload is not None:
            msg.add_ar(EDNS0(udp_len=edns_payload))
        return msg

    packed: bytes = message(records=True).pack()
    if len(packed) <= limit:
        return packed
    truncated: bytes = message(records=False).pack()
    return truncated


def encode_query(qname: str, qtype: str, *, query_id: int, rd: bool, edns_payload: int) -> bytes:
    header = DNSHeader(id=query_id, bitmap=0, rd=int(rd))
    msg = DNSRecord(header, q=DNSQuestion(_label(qname), rtype_code(qtype), CLASS.IN))
    msg.add_ar(EDNS0(udp_len=edns_payload))
    packed: bytes = msg.pack()
    return packed


def _records(section: Sequence[Any]) -> tuple[ResourceRecord, ...]:
    out = []
    for rr in section:
        if rr.rtype == OPT:
            continue
        rdata = rdata_from_wire(rtype_name(int(rr.rtype)), rr.rdata)
        out.append(ResourceRecord(normalize(str(rr.rname)), int(rr.ttl), rdata))
    return tuple(out)


def decode_message(data: bytes) -> Message:
    """Any DNS message -> Message. ValueError if it does not parse."""
    try:
        msg = DNSRecord.parse(data)
    except (DNSError, UnicodeError, IndexError) as exc:
        raise ValueError(f"malformed DNS message: {exc}") from None
    header = msg.header
    return Message(
        id=int(header.id),
        rcode=int(header.rcode),
        aa=bool(header.aa),
        tc=bool(header.tc),
        qr=bool(header.qr),
        question=_question(msg.questions[0]) if msg.questions else None,
        answer=_records(msg.rr),
        authority=_records(msg.auth),
        additional=_records(msg.ar),
    )
