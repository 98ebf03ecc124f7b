"""The DKIM record: the text DNS publishes for a public key, and the key read back from a
record (Mailu's recommendation, or what the authoritative servers serve). Pure.

The mail server (which signs) and DNS (which publishes and verifies) both use this module, so
the format is written once.
"""

from __future__ import annotations

import base64
import re

MIN_RSA_BITS = 2048


class InvalidDkimRecord(ValueError):
    pass


def record_text(public_key_b64: str) -> str:
    """The TXT data published at <selector>._domainkey.<domain> (before quoting)."""
    return f"v=DKIM1; k=rsa; p={public_key_b64}"


def public_key_from_record(record: str) -> str:
    """The base64 `p=` of a record like `dkim._domainkey.d. 600 IN TXT "v=DKIM1; k=rsa; p=..."`
    (the TXT data may be split into several quoted strings)."""
    data = "".join(re.findall(r'"([^"]*)"', record))
    match = re.search(r"(?:^|;)\s*p=([A-Za-z0-9+/=]+)\s*(?:;|\Z)", data)
    if not data.startswith("v=DKIM1") or not match:
        raise InvalidDkimRecord("not a DKIM record with a public key")
    key = match.group(1)
    rsa_bits(key)  # refuses anything that is not an RSA key of at least 2048 bits
    return key


def rsa_bits(public_key_b64: str) -> int:
    # cryptography loads only when a key is checked: the dns function's cold start skips it.
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:
        key = load_der_public_key(base64.b64decode(public_key_b64, validate=True))
    except ValueError:
        raise InvalidDkimRecord("the DKIM public key does not decode") from None
    if not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise InvalidDkimRecord(f"the DKIM key must be RSA of at least {MIN_RSA_BITS} bits")
    return key.key_size
