"""Request bodies as Mailu's flask-restx API checks them (`Api(validate=True)` + `@expect`):
a JSON Schema (draft 4) per model, checked BEFORE the token is (flask-restx validates the
payload in `Resource.dispatch_request`, then calls the token-checking method).

A failure answers 400 `{"errors": {field: message}, "message": "Input payload validation
failed"}` with jsonschema's own messages ("'name' is a required property", "'x' is not of type
'integer'", "-2 is less than the minimum of -1"). Unknown fields are allowed, as there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Field:
    kind: str  # string, integer, boolean, date, strings
    required: bool = False
    minimum: int | None = None


STRING, INTEGER, BOOLEAN, DATE, STRINGS = (
    Field("string"),
    Field("integer"),
    Field("boolean"),
    Field("date"),
    Field("strings"),
)

_DOMAIN_COMMON = {
    "comment": STRING,
    "max_users": Field("integer", minimum=-1),
    "max_aliases": Field("integer", minimum=-1),
    "max_quota_bytes": Field("integer", minimum=0),
    "signup_enabled": BOOLEAN,
    "alternatives": STRINGS,
}
DOMAIN_CREATE = {"name": Field("string", required=True), **_DOMAIN_COMMON}
DOMAIN_UPDATE = dict(_DOMAIN_COMMON)

_USER_COMMON = {
    "comment": STRING,
    "quota_bytes": INTEGER,
    "global_admin": BOOLEAN,
    "enabled": BOOLEAN,
    "change_pw_next_login": BOOLEAN,
    "enable_imap": BOOLEAN,
    "enable_pop": BOOLEAN,
    "allow_spoofing": BOOLEAN,
    "forward_enabled": BOOLEAN,
    "forward_destination": STRINGS,
    "forward_keep": BOOLEAN,
    "reply_enabled": BOOLEAN,
    "reply_subject": STRING,
    "reply_body": STRING,
    "reply_startdate": DATE,
    "reply_enddate": DATE,
    "displayed_name": STRING,
    "spam_enabled": BOOLEAN,
    "spam_mark_as_read": BOOLEAN,
    "spam_threshold": INTEGER,
}
USER_CREATE = {
    "email": Field("string", required=True),
    "raw_password": Field("string", required=True),
    **_USER_COMMON,
}
USER_UPDATE = {"raw_password": STRING, **_USER_COMMON}

Schema = dict[str, Field]


def errors(data: Any, schema: Schema) -> dict[str, str]:
    """Field path -> message for everything wrong with `data` (empty when it is valid)."""
    if not isinstance(data, dict):
        return {"": f"{data!r} is not of type 'object'"}
    found: dict[str, str] = {}
    for name, spec in schema.items():
        if name not in data:
            if spec.required:
                found[name] = f"{name!r} is a required property"
            continue
        message = _check(data[name], spec)
        if isinstance(message, tuple):
            found[f"{name}.{message[0]}"] = message[1]
        elif message:
            found[name] = message
    return found


def _type_error(value: Any, kind: str) -> str:
    return f"{value!r} is not of type {kind!r}"


def _check(value: Any, spec: Field) -> str | tuple[int, str] | None:
    return _CHECKS[spec.kind](value, spec)


def _integer(value: Any, spec: Field) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return _type_error(value, "integer")
    if spec.minimum is not None and value < spec.minimum:
        return f"{value!r} is less than the minimum of {spec.minimum!r}"
    return None


def _boolean(value: Any, spec: Field) -> str | None:
    return None if isinstance(value, bool) else _type_error(value, "boolean")


def _strings(value: Any, spec: Field) -> str | tuple[int, str] | None:
    if not isinstance(value, list):
        return _type_error(value, "array")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            return index, _type_error(item, "string")
    return None


def _string(value: Any, spec: Field) -> str | None:
    return None if isinstance(value, str) else _type_error(value, "string")


def _date(value: Any, spec: Field) -> str | None:
    if not isinstance(value, str):
        return _type_error(value, "string")
    try:
        date.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a 'date'"
    return None


_CHECKS: dict[str, Callable[[Any, Field], str | tuple[int, str] | None]] = {
    "integer": _integer,
    "boolean": _boolean,
    "strings": _strings,
    "string": _string,
    "date": _date,
}
