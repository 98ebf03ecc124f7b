"""Page cursors: the keyset (created_at, id) of a page's last row, opaque to clients."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypeVar
from uuid import UUID

from inboxfleet.api.errors import InvalidRequest


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    text = json.dumps([created_at.isoformat(), str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The keyset a cursor holds; InvalidRequest (naming `query.cursor`) for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        found = json.loads(raw)
        if not isinstance(found, list) or len(found) != 2:
            raise ValueError("not [time, id]")
        if not all(isinstance(value, str) for value in found):
            raise ValueError("not [time, id]")
        created_at, row_id = found
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment, UUID(row_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidRequest("not a cursor this API gave out", field="query.cursor") from None


class Keyed(Protocol):
    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> UUID: ...


K = TypeVar("K", bound=Keyed)


def split_page(rows: Sequence[K], limit: int) -> tuple[list[K], str | None]:
    """The page and the cursor of the next one, from `limit + 1` rows read (the extra row says
    whether a next page exists, without a count)."""
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, encode_cursor(page[-1].created_at, page[-1].id) if more else None
