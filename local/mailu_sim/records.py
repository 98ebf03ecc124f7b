"""Mailu's configuration as the admin container reads it from mailu.env, and the DNS records
it recommends for a domain (`Domain.dns_*` in core/admin/mailu/models.py).

Formats follow Mailu's source: names IDNA-encoded and lower-cased, TTL 600 (TLSA 86400), MX and
SPF naming the first of HOSTNAMES, the DKIM TXT data cut into quoted strings of 250 characters
(records longer than 255 need that), DMARC addresses `<DMARC_RUA>@<DOMAIN>`, the DMARC report
authorisation record, one SRV per client protocol (`0 0 0 .` for a port not in PORTS) plus the
autoconfig and autodiscover CNAMEs, and TLSA for the ISRG roots with the letsencrypt flavours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import idna

TLSA_ISRG_ROOTS = (
    "0b9fa5a59eed715c26c1020c711b4f6ec42d58b0015e14337a39dad301c5afc3",  # ISRG Root X1
    "762195c225586ee6c0237456e2107dc54f1efc21f61a792ebd515913cce68332",  # ISRG Root X2
)
_PROTOCOLS = (("imap", 143, 20), ("pop3", 110, 20), ("submission", 587, 20))
_TLS_PROTOCOLS = (
    ("autodiscover", 443, 10),
    ("submissions", 465, 10),
    ("imaps", 993, 10),
    ("pop3s", 995, 10),
)
DKIM_CHUNK = 250


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "yes", "1", "on")


@dataclass(frozen=True)
class MailuConfig:
    """The settings of mailu.env the simulated admin container uses (Mailu's defaults)."""

    api: bool = False
    web_api: str = "/api"
    api_token: str = ""
    domain: str = "mailu.io"
    hostname: str = "mail.mailu.io"  # HOSTNAMES' first entry
    dmarc_rua: str = ""
    dmarc_ruf: str = ""
    tls_flavor: str = "cert"
    ports: str = "25,80,443,465,993,995,4190"
    dkim_selector: str = "dkim"
    credential_rounds: int = 12

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MailuConfig:
        default = cls()
        hostnames = env.get("HOSTNAMES", "")
        rounds = env.get("CREDENTIAL_ROUNDS", "")
        return cls(
            api=_true(env.get("API")),
            web_api="/" + env.get("WEB_API", default.web_api).strip("/"),
            api_token=env.get("API_TOKEN", ""),
            domain=env.get("DOMAIN", default.domain),
            hostname=hostnames.split(",")[0].strip() or default.hostname,
            dmarc_rua=env.get("DMARC_RUA", ""),
            dmarc_ruf=env.get("DMARC_RUF", ""),
            tls_flavor=env.get("TLS_FLAVOR", default.tls_flavor),
            ports=env.get("PORTS", default.ports),
            dkim_selector=env.get("DKIM_SELECTOR", default.dkim_selector) or "dkim",
            credential_rounds=min(max(int(rounds), 4), 31) if rounds.isdigit() else 12,
        )

    @property
    def open_ports(self) -> frozenset[int]:
        return frozenset(int(p) for p in self.ports.split(",") if p.strip().isdigit()) | {465, 993}


def ascii_name(name: str) -> str:
    try:
        return idna.encode(name.lower()).decode("ascii")
    except idna.IDNAError:
        return name.lower()


def dns_fields(name: str, config: MailuConfig, dkim_public_key: str | None) -> dict[str, object]:
    """`dns_autoconfig`, `dns_mx`, `dns_spf`, `dns_dkim`, `dns_dmarc`, `dns_dmarc_report` and
    `dns_tlsa` in the order of the API's DomainGet model (None when there is no DKIM key)."""
    domain = ascii_name(name)
    host = ascii_name(config.hostname)
    mailu_domain = ascii_name(config.domain)
    dkim = dmarc = report = None
    if dkim_public_key:
        txt = f"v=DKIM1; k=rsa; p={dkim_public_key}"
        chunks = " ".join(f'"{txt[i : i + DKIM_CHUNK]}"' for i in range(0, len(txt), DKIM_CHUNK))
        dkim = f"{config.dkim_selector}._domainkey.{domain}. 600 IN TXT {chunks}"
        rua = f" rua=mailto:{config.dmarc_rua}@{mailu_domain};" if config.dmarc_rua else ""
        ruf = f" ruf=mailto:{config.dmarc_ruf}@{mailu_domain};" if config.dmarc_ruf else ""
        dmarc = f'_dmarc.{domain}. 600 IN TXT "v=DMARC1; p=reject;{rua}{ruf} adkim=s; aspf=s"'
        report = f'{domain}._report._dmarc.{mailu_domain}. 600 IN TXT "v=DMARC1;"'
    protocols = _PROTOCOLS + (_TLS_PROTOCOLS if config.tls_flavor != "notls" else ())
    autoconfig = [
        f"_{proto}._tcp.{domain}. 600 IN SRV {prio} 1 {port} {config.hostname}."
        if port in config.open_ports
        else f"_{proto}._tcp.{domain}. 600 IN SRV 0 0 0 ."
        for proto, port, prio in protocols
    ] + [
        f"autoconfig.{domain}. 600 IN CNAME {host}.",
        f"autodiscover.{domain}. 600 IN CNAME {host}.",
    ]
    tlsa = (
        [f"_25._tcp.{host}. 86400 IN TLSA 2 1 1 {digest}" for digest in TLSA_ISRG_ROOTS]
        if config.tls_flavor in ("letsencrypt", "mail-letsencrypt")
        else []
    )
    return {
        "dns_autoconfig": autoconfig,
        "dns_mx": f"{domain}. 600 IN MX 10 {host}.",
        "dns_spf": f'{domain}. 600 IN TXT "v=spf1 mx a:{host} ~all"',
        "dns_dkim": dkim,
        "dns_dmarc": dmarc,
        "dns_dmarc_report": report,
        "dns_tlsa": tlsa,
    }
