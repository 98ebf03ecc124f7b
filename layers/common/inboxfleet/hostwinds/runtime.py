"""One Hostwinds client per container and settings, built on first use."""

from __future__ import annotations

import threading
from functools import cache

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.settings import HostwindsSettings, SettingsError, hostwinds_settings_from_env

_lock = threading.Lock()


def default_client() -> tuple[HostwindsClient, HostwindsSettings]:
    settings = hostwinds_settings_from_env()
    with _lock:
        return _client_for(settings), settings


@cache
def _client_for(settings: HostwindsSettings) -> HostwindsClient:
    secret_name = settings.api_key_secret
    if not secret_name:
        raise SettingsError("HOSTWINDS_API_KEY_SECRET (a Secrets Manager name) is not set")

    def api_key() -> str:
        from inboxfleet.secret_store import get_secret

        return get_secret(secret_name)

    return HostwindsClient(api_key, url=settings.api_url, timeout_s=settings.timeout_s)
