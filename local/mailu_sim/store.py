"""What the simulated Mailu admin keeps: domains, users and DKIM keys (Mailu's database and its
/dkim folder). Passwords are kept only as hashes, in the `$bcrypt-sha256$v=2,...` form Mailu
2024.06 stores (passlib's bcrypt_sha256, CREDENTIAL_ROUNDS rounds).

Like Mailu, a DKIM key lives apart from the domain row (a file named after the domain): deleting
a domain leaves its key, and a domain created again under that name gets the old key back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
from dataclasses import dataclass, field
from datetime import date

import bcrypt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_BCRYPT_SHA256 = re.compile(
    r"\$bcrypt-sha256\$v=2,t=2b,r=(\d{1,2})\$([./A-Za-z0-9]{22})\$([./A-Za-z0-9]{31})"
)


def hash_password(password: str, rounds: int) -> str:
    salt_setting = bcrypt.gensalt(rounds, prefix=b"2b")
    salt = salt_setting[-22:]
    checksum = bcrypt.hashpw(_prehash(password, salt), salt_setting)[-31:]
    return f"$bcrypt-sha256$v=2,t=2b,r={rounds}${salt.decode()}${checksum.decode()}"


def verify_password(password: str, stored: str) -> bool:
    match = _BCRYPT_SHA256.fullmatch(stored)
    if match is None:
        return False
    rounds, salt, checksum = match.groups()
    setting = f"$2b${int(rounds):02d}${salt}".encode()
    computed = bcrypt.hashpw(_prehash(password, salt.encode()), setting)[-31:]
    return hmac.compare_digest(computed, checksum.encode())


def _prehash(password: str, salt: bytes) -> bytes:
    digest = hmac.new(salt, password.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest)


def generate_dkim_key() -> bytes:
    """An RSA-2048 private key in PEM, as Mailu's dkim.gen_key writes to /dkim."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def dkim_public_key(private_pem: bytes) -> str:
    """The `p=` value: base64 of the DER SubjectPublicKeyInfo (Mailu's dkim.strip_key)."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


@dataclass
class DomainRow:
    name: str
    comment: str = ""
    max_users: int = -1
    max_aliases: int = -1
    max_quota_bytes: int = 0
    signup_enabled: bool = False
    alternatives: list[str] = field(default_factory=list)


@dataclass
class UserRow:
    email: str
    password: str  # the hash, never the password
    comment: str = ""
    quota_bytes: int = 10**9
    global_admin: bool = False
    enabled: bool = True
    change_pw_next_login: bool = False
    enable_imap: bool = True
    enable_pop: bool = True
    allow_spoofing: bool = False
    forward_enabled: bool = False
    forward_destination: list[str] = field(default_factory=list)
    forward_keep: bool = True
    reply_enabled: bool = False
    reply_subject: str | None = None
    reply_body: str | None = None
    reply_startdate: date = date(1900, 1, 1)
    reply_enddate: date = date(2999, 12, 31)
    displayed_name: str = ""
    spam_enabled: bool = True
    spam_mark_as_read: bool = True
    spam_threshold: int = 80

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[1]


class Store:
    """All rows behind one lock; request threads and test snapshots share it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.domains: dict[str, DomainRow] = {}  # lower-case name -> row
        self.users: dict[str, UserRow] = {}  # lower-case email -> row
        self.dkim_keys: dict[str, bytes] = {}  # lower-case domain -> PEM (survives deletes)

    def fqdn_in_use(self, name: str) -> bool:
        """Mailu's common.fqdn_in_use: a domain or an alternative name (relays: not simulated)."""
        key = name.lower()
        return key in self.domains or any(
            key in (alt.lower() for alt in row.alternatives) for row in self.domains.values()
        )

    def delete_domain(self, name: str) -> None:
        key = name.lower()
        del self.domains[key]
        # cascade='all, delete-orphan': the domain's users go with it (the DKIM file stays).
        for email in [e for e, user in self.users.items() if user.domain == key]:
            del self.users[email]
