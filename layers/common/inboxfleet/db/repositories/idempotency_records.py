"""A tenant's idempotency records: what a POST with an Idempotency-Key answered, kept until it
expires (the tenant API's Powertools persistence layer stores them here)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from inboxfleet.db.repositories.base import TenantRepository

_COLUMNS = "key, status, expires_at, in_progress_expires_at, payload_hash, response_data"


class IdempotencyRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    status: str  # INPROGRESS or COMPLETED
    expires_at: int  # unix seconds
    in_progress_expires_at: int | None  # unix milliseconds
    payload_hash: str
    response_data: str


class IdempotencyRecords(TenantRepository):
    def claim(self, row: IdempotencyRow, *, now_s: int, now_ms: int) -> bool:
        """Write `row` unless a live record holds its key: one statement, so of two requests
        with one key exactly one claims it. A record is no longer live once it has expired, or
        while in progress once its hold has (the request that held it died)."""
        claimed = self._session.scalar(
            f"INSERT INTO idempotency_records (tenant_id, {_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (tenant_id, key) DO UPDATE SET status = EXCLUDED.status, "
            "expires_at = EXCLUDED.expires_at, "
            "in_progress_expires_at = EXCLUDED.in_progress_expires_at, "
            "payload_hash = EXCLUDED.payload_hash, response_data = EXCLUDED.response_data, "
            "created_at = clock_timestamp() "
            "WHERE idempotency_records.expires_at < %s "
            "OR (idempotency_records.status = 'INPROGRESS' "
            "    AND idempotency_records.in_progress_expires_at < %s) "
            "RETURNING true",
            (
                self.tenant_id,
                row.key,
                row.status,
                row.expires_at,
                row.in_progress_expires_at,
                row.payload_hash,
                row.response_data,
                now_s,
                now_ms,
            ),
        )
        return bool(claimed)

    def get(self, key: str) -> IdempotencyRow | None:
        return self._session.fetch_one(
            IdempotencyRow,
            f"SELECT {_COLUMNS} FROM idempotency_records WHERE tenant_id = %s AND key = %s",
            (self.tenant_id, key),
        )

    def complete(self, row: IdempotencyRow) -> None:
        self._session.execute(
            "UPDATE idempotency_records SET status = %s, expires_at = %s, "
            "in_progress_expires_at = NULL, payload_hash = %s, response_data = %s "
            "WHERE tenant_id = %s AND key = %s",
            (
                row.status,
                row.expires_at,
                row.payload_hash,
                row.response_data,
                self.tenant_id,
                row.key,
            ),
        )

    def delete(self, key: str) -> None:
        self._session.execute(
            "DELETE FROM idempotency_records WHERE tenant_id = %s AND key = %s",
            (self.tenant_id, key),
        )

    def purge_expired(self, now_s: int) -> int:
        """Delete the records past their expiry (their keys are free anyway)."""
        return self._session.execute(
            "DELETE FROM idempotency_records WHERE tenant_id = %s AND expires_at < %s",
            (self.tenant_id, now_s),
        )
