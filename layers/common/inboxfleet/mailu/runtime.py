"""The mail-server function's dependencies, built from settings on first use."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from inboxfleet.kms import decrypt_text
from inboxfleet.mailu.address_book import address_book_resolver
from inboxfleet.mailu.service import MailuDeps
from inboxfleet.mailu.ssh import load_private_key, same_ip_port_22
from inboxfleet.secret_store import secret_reader

if TYPE_CHECKING:
    from inboxfleet.settings import MailuSettings


def deps() -> MailuDeps:
    # Settings load with the first invocation, as they are first read then (cold start).
    from inboxfleet.settings import mailu_settings_from_env

    return _deps(mailu_settings_from_env())


@cache
def _deps(settings: MailuSettings) -> MailuDeps:
    key_text = secret_reader(settings.ssh_key_secret, settings.variable("ssh_key_secret"))

    def private_key() -> Any:
        return load_private_key(key_text())

    resolver = (
        address_book_resolver(settings.address_book_url)
        if settings.address_book_url
        else same_ip_port_22
    )
    return MailuDeps(
        private_key=private_key,
        resolver=resolver,
        decrypt=decrypt_text,
        username=settings.ssh_user,
        connect_timeout_s=settings.connect_timeout_s,
        command_timeout_s=settings.command_timeout_s,
    )
