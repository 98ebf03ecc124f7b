"""Stripe-looking object ids: a type prefix and a random alphanumeric suffix."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

# Suffix lengths as real ids show them (cus_NffrFeUfNV2Hib, sub_1MowQVLkdIwHu7ixeRlqHVzs,
# cs_test_a1...: Checkout Session ids are much longer).
_LENGTHS = {"cus_": 14, "req_": 14, "cs_test_": 58}
DEFAULT_LENGTH = 24


def new_id(prefix: str) -> str:
    """A fresh id such as "sub_1MowQVLkdIwHu7ixeRlqHVzs"; `prefix` includes its underscore."""
    length = _LENGTHS.get(prefix, DEFAULT_LENGTH)
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))
