"""The hostwinds function's dependencies: one client per container and settings, built on first
use."""

from __future__ import annotations

import threading
from functools import cache

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.hostwinds.service import HostwindsDeps
from inboxfleet.secret_store import secret_reader
from inboxfleet.settings import HostwindsSettings, environment_name, hostwinds_settings_from_env

_lock = threading.Lock()


def deps() -> HostwindsDeps:
    settings = hostwinds_settings_from_env()
    with _lock:
        return HostwindsDeps(_client_for(settings), settings, environment_name())


@cache
def _client_for(settings: HostwindsSettings) -> HostwindsClient:
    api_key = secret_reader(settings.api_key_secret, settings.variable("api_key_secret"))
    return HostwindsClient(api_key, url=settings.api_url, timeout_s=settings.timeout_s)
