"""The local certificate authority: what Let's Encrypt is to a real Mailu, for simulated hosts.

One CA per process, made on first use and never written to disk (like `local.platform_key`).
A simulated host asks it for a leaf certificate for the names in its mailu.env's HOSTNAMES;
mail clients of the local cloud trust this CA and nothing else, with hostname checking on, so
a certificate for the wrong name fails exactly as it would against a real server.

EC P-256 keys: issuing takes well under a millisecond, so every host can have its own.
"""

from __future__ import annotations

import datetime
import os
import re
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "inboxfleet local CA"
CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=90)  # Let's Encrypt's lifetime
# Issued a little in the past: a client whose clock is a second behind must not see "not yet
# valid".
BACKDATE = datetime.timedelta(hours=1)
_DNS_NAME = re.compile(r"(?=.{1,253}\Z)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}")


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    """Signatures only (ECDSA: no key encipherment); the CA's also sign certificates and CRLs."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class IssuedCertificate:
    names: tuple[str, ...]
    certificate_pem: bytes
    private_key_pem: bytes = b""  # kept out of repr below

    def __repr__(self) -> str:
        return f"IssuedCertificate(names={self.names!r})"


class LocalCA:
    """A self-signed root that signs server certificates for DNS names."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
        now = datetime.datetime.now(datetime.UTC)
        public = self._key.public_key()
        self._certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signs_certificates=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def certificate_pem(self) -> bytes:
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    def issue(self, names: Sequence[str]) -> IssuedCertificate:
        """A server certificate for `names` (DNS names; the first is also the subject)."""
        checked = tuple(dict.fromkeys(dns_names(names)))
        if not checked:
            raise ValueError("a certificate needs at least one valid DNS name")
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        ca_public = self._key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, checked[0])]))
            .issuer_name(self._certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + LEAF_VALIDITY)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in checked]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signs_certificates=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        return IssuedCertificate(
            names=checked,
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
            private_key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )


@cache
def local_ca() -> LocalCA:
    """The process's CA (made on first use)."""
    return LocalCA()


def dns_names(names: Sequence[str]) -> list[str]:
    """The valid DNS names among `names`, lower-cased, trailing dots dropped (what a
    HOSTNAMES list may hold; anything else could never be in a certificate)."""
    cleaned = (n.strip().lower().removesuffix(".") for n in names)
    return [n for n in cleaned if _DNS_NAME.fullmatch(n)]


def server_context(issued: IssuedCertificate) -> ssl.SSLContext:
    """A server-side TLS context presenting `issued` (TLS 1.2 or later)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain reads files only: a private folder, gone before this returns.
    with tempfile.TemporaryDirectory(prefix="mail-sim-tls-") as folder:
        chain = os.path.join(folder, "chain.pem")
        key = os.path.join(folder, "key.pem")
        descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(issued.private_key_pem)
        with open(chain, "wb") as file:
            file.write(issued.certificate_pem)
        context.load_cert_chain(chain, key)
    return context


def client_context(ca_pem: bytes | None = None) -> ssl.SSLContext:
    """A client TLS context that trusts the local CA only (this process's, or the one whose
    certificate is `ca_pem`: another process's, as `up` serves it), hostname checking on."""
    trusted = ca_pem if ca_pem is not None else local_ca().certificate_pem
    context = ssl.create_default_context(cadata=trusted.decode())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
