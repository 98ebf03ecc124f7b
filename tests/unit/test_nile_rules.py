"""The Nile-bound SQL holds nothing Nile refuses; the vanilla-only part may."""

from __future__ import annotations

import pytest

from inboxfleet.db.migrator import default_directory, load_migrations
from inboxfleet.db.nile_rules import nile_problems, transaction_problems


def test_every_shipped_nile_bound_file_is_clean() -> None:
    migrations = load_migrations(default_directory())
    assert migrations, "no migrations found"
    for m in migrations:
        assert nile_problems(m.sql) == [], m.filename


def test_the_vanilla_only_files_are_where_the_forbidden_constructs_live() -> None:
    vanilla = default_directory() / "vanilla"
    found = set()
    for path in vanilla.glob("*.sql"):
        found.update(nile_problems(path.read_text()))
    # If these ever moved into Nile-bound files, the test above would catch it.
    assert {"CREATE ROLE/USER", "CREATE POLICY", "DO block", "row level security"} <= found


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        (
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;",
            "CREATE FUNCTION/PROCEDURE",
        ),
        (
            "create or replace function f() returns int as 'select 1' language sql;",
            "CREATE FUNCTION/PROCEDURE",
        ),
        (
            "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW EXECUTE FUNCTION f();",
            "CREATE TRIGGER",
        ),
        ("CREATE POLICY p ON x USING (true);", "CREATE POLICY"),
        ("CREATE ROLE app;", "CREATE ROLE/USER"),
        ("CREATE USER app;", "CREATE ROLE/USER"),
        ("CREATE DATABASE other;", "CREATE DATABASE"),
        ("CREATE EXTENSION pgcrypto;", "CREATE EXTENSION"),
        ("CREATE SEQUENCE s;", "CREATE SEQUENCE"),
        ("CREATE TABLE t (tenant_id uuid, n serial);", "serial column"),
        ("CREATE TABLE t (n BIGSERIAL);", "serial column"),
        ("CREATE TABLE t (n int GENERATED ALWAYS AS IDENTITY);", "identity column"),
        ("DO $$ BEGIN NULL; END $$;", "DO block"),
        ("ALTER TABLE t ENABLE ROW LEVEL SECURITY;", "row level security"),
        ("CREATE UNLOGGED SEQUENCE s;", "CREATE SEQUENCE"),
        ("CREATE TABLE t (n bigint DEFAULT nextval('s'));", "nextval()"),
        (
            "CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f();",
            "CREATE EVENT TRIGGER",
        ),
        ("CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING;", "CREATE RULE"),
        ("ALTER ROLE app BYPASSRLS;", "ALTER ROLE/USER"),
        (
            "SELECT E'it\\'s'; CREATE FUNCTION f() RETURNS int AS 'x' LANGUAGE sql;",
            "CREATE FUNCTION/PROCEDURE",
        ),
        ("-- it's a comment\nCREATE ROLE r;", "CREATE ROLE/USER"),
    ],
)
def test_each_forbidden_construct_is_found(sql: str, problem: str) -> None:
    assert problem in nile_problems(sql)


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);", "transaction control"),
        ("begin;\nCREATE TABLE a (id int);", "transaction control"),
        ("CREATE INDEX CONCURRENTLY i ON t (c);", "CONCURRENTLY"),
        ("VACUUM t;", "VACUUM"),
    ],
)
def test_statements_that_break_one_transaction_per_file(sql: str, problem: str) -> None:
    assert transaction_problems(sql) == [problem]


def test_case_end_and_strings_are_not_transaction_control() -> None:
    sql = "UPDATE t SET x = CASE WHEN y THEN 1 ELSE 2 END;\nINSERT INTO n VALUES ('commit;');"
    assert transaction_problems(sql) == []


@pytest.mark.parametrize(
    "sql",
    [
        "-- CREATE FUNCTION in a comment is fine\nCREATE TABLE t (id uuid);",
        "/* CREATE ROLE x */ CREATE INDEX i ON t (c);",
        "INSERT INTO notes (body) VALUES ('create sequence is just text here');",
        "CREATE TABLE serials_owned (id uuid PRIMARY KEY, serial_number text);",
        "CREATE TABLE t (id uuid DEFAULT gen_random_uuid(), done boolean);",
    ],
)
def test_lookalikes_are_not_flagged(sql: str) -> None:
    assert nile_problems(sql) == []
