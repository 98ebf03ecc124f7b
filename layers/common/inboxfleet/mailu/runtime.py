"""The mail-server Lambda's dependencies, built from settings on first use."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from inboxfleet.mailu.service import Dependencies
from inboxfleet.mailu.ssh import Resolver, load_private_key, same_ip_port_22
from inboxfleet.settings import MailuSettings, SettingsError, mailu_settings_from_env


def default_dependencies() -> Dependencies:
    return _dependencies(mailu_settings_from_env())


@cache
def _dependencies(settings: MailuSettings) -> Dependencies:
    secret_name = settings.ssh_key_secret
    if not secret_name:
        raise SettingsError("MAILU_SSH_KEY_SECRET (a Secrets Manager name) is not set")

    def private_key() -> Any:
        from inboxfleet.secret_store import get_secret

        return load_private_key(get_secret(secret_name))

    def decrypt(ciphertext: str, context: dict[str, str]) -> str:
        from inboxfleet.kms import decrypt_text

        return decrypt_text(ciphertext, context)

    resolver = (
        address_book_resolver(settings.address_book_url)
        if settings.address_book_url
        else same_ip_port_22
    )
    return Dependencies(
        private_key=private_key,
        resolver=resolver,
        decrypt=decrypt,
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
