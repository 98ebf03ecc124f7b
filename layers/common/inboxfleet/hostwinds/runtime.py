"""One Hostwinds client per container and settings, built on first use."""

from __future__ import annotations

import threading
from functools import cache

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.secret_store import secret_reader
from inboxfleet.settings import HostwindsSettings, hostwinds_settings_from_env

_lock = threading.Lock()


def default_client() -> tuple[HostwindsClient, HostwindsSettings]:
    settings = hostwinds_settings_from_env()
    with _lock:
        return _client_for(settings), settings


@cache
def _client_for(settings: HostwindsSettings) -> HostwindsClient:
    api_key = secret_reader(settings.api_key_secret, "HOSTWINDS_API_KEY_SECRET")
    return HostwindsClient(api_key, url=settings.api_url, timeout_s=settings.timeout_s)
