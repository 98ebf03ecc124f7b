"""The mail-server Lambda's dependencies, built from settings on first use."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from inboxfleet.kms import decrypt_text
from inboxfleet.mailu.service import Dependencies
from inboxfleet.mailu.ssh import Resolver, load_private_key, same_ip_port_22
from inboxfleet.secret_store import secret_reader
from inboxfleet.settings import MailuSettings, mailu_settings_from_env


def default_dependencies() -> Dependencies:
    return _dependencies(mailu_settings_from_env())


@cache
def _dependencies(settings: MailuSettings) -> Dependencies:
    key_text = secret_reader(settings.ssh_key_secret, "MAILU_SSH_KEY_SECRET")

    def private_key() -> Any:
        return load_private_key(key_text())

    resolver = (
        address_book_resolver(settings.address_book_url)
        if settings.address_book_url
        else same_ip_port_22
    )
    return Dependencies(
        private_key=private_key,
        resolver=resolver,
        decrypt=decrypt_text,
        username=settings.ssh_user,
        connect_timeout_s=settings.connect_timeout_s,
        command_timeout_s=settings.command_timeout_s,
    )


def address_book_resolver(url: str) -> Resolver:
    """Local mode: the Hostwinds simulator publishes which loopback port plays which server IP
    (DESIGN.md, "Local-mode seams"). An IP missing from the book resolves to itself, port 22."""

    def resolve(ip: str) -> tuple[str, int]:
        import httpx

        book: dict[str, dict[str, Any]] = json.loads(httpx.get(url, timeout=5.0).content)
        entry = book.get(ip)
        return (str(entry["host"]), int(entry["port"])) if entry else same_ip_port_22(ip)

    return resolve
