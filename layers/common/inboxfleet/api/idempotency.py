"""Idempotent POSTs: Powertools' idempotency utility over a PostgreSQL store of our own.

A request carrying `Idempotency-Key` is answered once; the same key again gets the same status
and body, replayed. The key Powertools hashes is (tenant, method, the path with its ids, the
client's key), so one key used on `/v1/inboxes/{a}/retry` and `/v1/inboxes/{b}/retry` names two
requests. The body is the validated payload: the same key with another body is refused (422); a
request still being served answers 409. Records live in the tenant's own rows
(`idempotency_records`, under RLS), expire after a day (a new claim takes an expired key;
reconcile is to purge them), and hold hashes and answers only: a body's secret fields
(`secret_fields`) are left out of the payload hash, and a route whose answer carries a secret
must not come through here (none does). An error is not recorded, so the request can be sent
again.

Imported only by the routes that write: the idempotency utility stays off the read path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from inboxfleet.api.errors import InvalidRequest, RequestInProgress
from inboxfleet.db.connection import Database
from inboxfleet.db.repositories import IdempotencyRecords, IdempotencyRow
from inboxfleet.db.sessions import tenant_session

KEEP_FOR_SECONDS = 24 * 3600
KEY_HEADER = "idempotency-key"
KEY_FIELD = f"header.{KEY_HEADER}"


class Answer(BaseModel):
    """What a POST answered: replayed as it was."""

    model_config = ConfigDict(frozen=True)

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Request:
    tenant_id: UUID
    method: str
    path: str  # the route's, with its validated ids: one inbox is one path however it is spelt
    key: str | None  # the client's Idempotency-Key
    payload: dict[str, Any]  # the validated body


class KeyReused(InvalidRequest):
    """The same Idempotency-Key with another body: a new request needs a new key."""

    code = "idempotency_key_reused"


class TenantIdempotencyStore(BasePersistenceLayer):
    """Powertools' persistence layer on the tenant's `idempotency_records` rows: every call is
    one statement in the tenant's session."""

    def __init__(self, tenant_id: UUID, database: Database | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._tenant_id = tenant_id
        self._database = database

    def _records(self) -> Any:
        return tenant_session(self._tenant_id, database=self._database)

    @staticmethod
    def _row(record: DataRecord) -> IdempotencyRow:
        return IdempotencyRow(
            key=record.idempotency_key,
            status=record.status,
            expires_at=record.expiry_timestamp or 0,
            in_progress_expires_at=record.in_progress_expiry_timestamp,
            payload_hash=record.payload_hash,
            response_data=record.response_data,
        )

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._records() as session:
            row = IdempotencyRecords(session).get(idempotency_key)
        if row is None:
            raise IdempotencyItemNotFoundError
        return DataRecord(
            idempotency_key=row.key,
            status=row.status,
            expiry_timestamp=row.expires_at,
            in_progress_expiry_timestamp=row.in_progress_expires_at,
            response_data=row.response_data,
            payload_hash=row.payload_hash,
        )

    def _put_record(self, data_record: DataRecord) -> None:
        now = time.time()
        with self._records() as session:
            claimed = IdempotencyRecords(session).claim(
                self._row(data_record), now_s=int(now), now_ms=int(now * 1000)
            )
        if not claimed:
            raise IdempotencyItemAlreadyExistsError

    def _update_record(self, data_record: DataRecord) -> None:
        with self._records() as session:
            IdempotencyRecords(session).complete(self._row(data_record))

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._records() as session:
            IdempotencyRecords(session).delete(data_record.idempotency_key)


def _without(payload: dict[str, Any], secret_fields: Iterable[str]) -> dict[str, Any]:
    secret = set(secret_fields)
    return {name: value for name, value in payload.items() if name not in secret}


def idempotently(
    request: Request,
    operation: Callable[[], Answer],
    *,
    secret_fields: Iterable[str] = (),
    context: LambdaContext | None = None,
    database: Database | None = None,
) -> Answer:
    """`operation`'s answer, or the answer it gave the first time this request was made."""
    if request.key is None:
        return operation()
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="payload",
        expires_after_seconds=KEEP_FOR_SECONDS,
        hash_function="sha256",
        # One process serves many tenants locally: only the database knows what was answered.
        use_local_cache=False,
    )
    if context is not None:
        # A request that dies (a Lambda timeout) frees its key when its time is up, not a day later.
        config.register_lambda_context(context)

    def run(data: dict[str, Any]) -> dict[str, Any]:
        return operation().model_dump(mode="json")

    answer = cast(
        "Callable[..., dict[str, Any]]",
        idempotent_function(
            run,
            data_keyword_argument="data",
            persistence_store=TenantIdempotencyStore(request.tenant_id, database),
            config=config,
            key_prefix="tenant_api",
        ),
    )

    data = {
        "key": [str(request.tenant_id), request.method.upper(), request.path, request.key],
        "payload": _without(request.payload, secret_fields),
    }
    try:
        return Answer.model_validate(answer(data=data))
    except IdempotencyAlreadyInProgressError:
        raise RequestInProgress(
            "a request with this Idempotency-Key is still being served; send it again later",
            field=KEY_FIELD,
        ) from None
    except IdempotencyValidationError:
        raise KeyReused(
            "this Idempotency-Key was used with another body: use a new key for a new request",
            field=KEY_FIELD,
        ) from None
    except IdempotencyPersistenceLayerError as exc:
        # The store's own failures (an unknown tenant, the database) keep their meaning.
        cause = exc.__cause__
        raise (cause if isinstance(cause, Exception) else exc) from None
