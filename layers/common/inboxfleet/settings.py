"""Settings, read from the environment on first use (never at import).

Secrets never live here: only the *names* of Secrets Manager secrets do.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: SecretStr | None = Field(
        default=None,
        description="DATABASE_URL: the server (owner credentials on vanilla PostgreSQL).",
    )
    url_secret: str | None = Field(
        default=None,
        description="DATABASE_URL_SECRET: Secrets Manager name holding the URL (Lambda).",
    )
    app_url: SecretStr | None = Field(
        default=None,
        description="DATABASE_APP_URL: what the application connects with; on vanilla "
        "PostgreSQL it defaults to DATABASE_URL with the user replaced by the app role.",
    )
    flavor: Literal["auto", "nile", "postgres"] = Field(
        default="auto", description="DATABASE_FLAVOR: auto = nile for *.thenile.dev hosts."
    )
    connect_timeout_s: int = Field(default=5, ge=1, le=60)
    statement_timeout_ms: int = Field(default=15_000, ge=100, le=900_000)


_ENV = {
    "url": "DATABASE_URL",
    "url_secret": "DATABASE_URL_SECRET",
    "app_url": "DATABASE_APP_URL",
    "flavor": "DATABASE_FLAVOR",
    "connect_timeout_s": "DATABASE_CONNECT_TIMEOUT_S",
    "statement_timeout_ms": "DATABASE_STATEMENT_TIMEOUT_MS",
}


def database_settings_from_env(environ: dict[str, str] | None = None) -> DatabaseSettings:
    env = os.environ if environ is None else environ
    raw = {field: env[var] for field, var in _ENV.items() if env.get(var)}
    try:
        return DatabaseSettings.model_validate(raw)
    except ValidationError as exc:
        names = ", ".join(_ENV[str(e["loc"][0])] for e in exc.errors())
        raise SettingsError(f"invalid database settings: {names}") from None


def environment_name(environ: dict[str, str] | None = None) -> str:
    """ENVIRONMENT: the deployment stage (dev, prod, local); part of every resource name."""
    env = os.environ if environ is None else environ
    return env.get("ENVIRONMENT", "local")
