"""Secrets Manager access through Powertools parameters (cached, so warm invocations are free)."""

from __future__ import annotations

SECRET_MAX_AGE_S = 300


def get_secret(name: str) -> str:
    # Imported here: boto3 costs ~150 ms and only cold paths that really read a secret pay it.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(name, max_age=SECRET_MAX_AGE_S)
    if not isinstance(value, str):
        raise TypeError(f"secret {name!r} is not a string secret")
    return value
