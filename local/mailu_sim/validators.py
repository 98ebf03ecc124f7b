"""The two checks Mailu's API runs on names, as the `validators` package (0.2x) defines them:
`validators.domain(value)` and `validators.email(value)`. Both return a plain bool here.
"""

from __future__ import annotations

import re

_DOMAIN = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-_]{0,61}[a-z0-9])?\.)+[a-z0-9][a-z0-9-_]{0,61}[a-z]$",
    re.IGNORECASE,
)
_LOCAL_PART = re.compile(
    # dot-atom
    r"(^[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*$"
    # quoted-string
    r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"$)',
    re.IGNORECASE,
)


def domain(value: str) -> bool:
    """`validators.domain`: labels of letters, digits, `-` and `_`, a TLD ending in a letter;
    international names are checked in their IDNA (punycode) form."""
    if not value or re.search(r"\s", value):
        return False
    try:
        ascii_form = value.encode("idna").decode("utf-8")
    except UnicodeError:
        return False
    return _DOMAIN.match(ascii_form) is not None


def email(value: str) -> bool:
    """`validators.email`: one `@`, a local part of at most 64 characters (dot-atom or quoted
    string) and a valid domain of at most 253.

    Like the real one, it matches the local part with `$` and `.match`, so a local part may end
    in a newline ("sales\n@example.com" passes). Kept on purpose: the simulator must accept what
    Mailu accepts, so that only the platform's own validators stand between such a name and
    the mail server, as in production."""
    if not value or value.count("@") != 1:
        return False
    local, host = value.rsplit("@", 1)
    if len(local) > 64 or len(host) > 253:
        return False
    return _LOCAL_PART.match(local) is not None and domain(host)
