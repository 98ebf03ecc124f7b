"""Secrets Manager access through Powertools parameters (cached, so warm invocations are free)."""

from __future__ import annotations

SECRET_MAX_AGE_S = 300


def get_secret(name: str, *, force: bool = False) -> str:
    """The secret's string value; `force` skips the cache (after the old value was refused)."""
    # Imported here: boto3 costs ~150 ms and only cold paths that really read a secret pay it.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(name, max_age=SECRET_MAX_AGE_S, force_fetch=force)
    if not isinstance(value, str):
        raise TypeError(f"secret {name!r} is not a string secret")
    return value
