"""Secrets Manager access through Powertools parameters (cached, so warm invocations are free)."""

from __future__ import annotations

from collections.abc import Callable

SECRET_MAX_AGE_S = 300


def get_secret(name: str, *, force: bool = False) -> str:
    """The secret's string value; `force` skips the cache (after the old value was refused)."""
    # Imported here: boto3 costs ~150 ms and only cold paths that really read a secret pay it.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(name, max_age=SECRET_MAX_AGE_S, force_fetch=force)
    if not isinstance(value, str):
        raise TypeError(f"secret {name!r} is not a string secret")
    return value


def secret_reader(name: str | None, variable: str) -> Callable[[], str]:
    """Reads the secret `name` (from the setting `variable`) at each use, so a rotated value is
    picked up within the cache's age; SettingsError at the first use when the name is unset."""

    def read() -> str:
        if not name:
            from inboxfleet.settings import SettingsError

            raise SettingsError(f"{variable} (a Secrets Manager name) is not set")
        return get_secret(name)

    return read
