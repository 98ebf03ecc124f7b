"""Turning pydantic validation failures at a boundary into one clear, typed error."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")


def describe(exc: ValidationError) -> str:
    """'field.path: message; ...' without the offending input (it may be a secret)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in exc.errors()
    )


def parse_event(adapter: TypeAdapter[T], event: Any, error: type[Exception], what: str) -> T:
    try:
        return adapter.validate_python(event)
    except ValidationError as exc:
        raise error(f"invalid {what}: {describe(exc)}") from None
