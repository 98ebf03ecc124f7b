"""Static checks for SQL bound for Nile (reference/nile.md). Pure: text in, problems out.

Nile refuses functions, triggers, policies, roles, databases, extensions, sequences in tenant
tables (hence serial/identity columns) and anonymous code blocks. The migrator runs these checks
before sending a Nile-bound file anywhere, and a test runs them over every shipped file.
"""

from __future__ import annotations

import re

# One left-to-right pass, so a quote inside a comment or "--" inside a string cannot confuse
# it. E'...' strings take backslash escapes; plain ones only double their quotes.
_COMMENT_OR_STRING = re.compile(
    r"(?P<comment>--[^\n]*|/\*.*?\*/)|(?P<string>\b[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*')",
    re.DOTALL,
)

_FORBIDDEN: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "CREATE FUNCTION/PROCEDURE",
        re.compile(r"\bCREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE)\b"),
    ),
    ("CREATE TRIGGER", re.compile(r"\bCREATE\s+(OR\s+REPLACE\s+)?(CONSTRAINT\s+)?TRIGGER\b")),
    ("CREATE POLICY", re.compile(r"\bCREATE\s+POLICY\b")),
    ("CREATE ROLE/USER", re.compile(r"\bCREATE\s+(ROLE|USER|GROUP)\b")),
    ("CREATE DATABASE", re.compile(r"\bCREATE\s+DATABASE\b")),
    ("CREATE EXTENSION", re.compile(r"\bCREATE\s+EXTENSION\b")),
    ("CREATE SEQUENCE", re.compile(r"\bCREATE\s+((TEMP\w*|UNLOGGED)\s+)?SEQUENCE\b")),
    ("nextval()", re.compile(r"\bNEXTVAL\s*\(")),
    ("CREATE EVENT TRIGGER", re.compile(r"\bCREATE\s+EVENT\s+TRIGGER\b")),
    ("CREATE RULE", re.compile(r"\bCREATE\s+(OR\s+REPLACE\s+)?RULE\b")),
    ("ALTER ROLE/USER", re.compile(r"\bALTER\s+(ROLE|USER|GROUP)\b")),
    ("serial column", re.compile(r"\b(SMALL|BIG)?SERIAL[248]?\b")),
    ("identity column", re.compile(r"\bGENERATED\s+(ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b")),
    ("DO block", re.compile(r"\bDO\s+(\$|LANGUAGE\b)")),
    ("row level security", re.compile(r"\bROW\s+LEVEL\s+SECURITY\b")),
)


# Never allowed in a migration file, on any server: the migrator wraps each file in one
# transaction with its ledger row, and these would break that atomicity.
_TRANSACTION_BREAKING: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("transaction control", re.compile(r"(^|;)\s*(BEGIN|START|COMMIT|END|ROLLBACK|ABORT)\b")),
    ("CONCURRENTLY", re.compile(r"\bCONCURRENTLY\b")),
    ("VACUUM", re.compile(r"(^|;)\s*VACUUM\b")),
)


def strip_comments_and_strings(sql: str) -> str:
    return _COMMENT_OR_STRING.sub(lambda m: " " if m.group("comment") else "''", sql)


def transaction_problems(sql: str) -> list[str]:
    """Statements that cannot run inside the migrator's one-transaction-per-file."""
    text = strip_comments_and_strings(sql).upper()
    return [name for name, pattern in _TRANSACTION_BREAKING if pattern.search(text)]


def nile_problems(sql: str) -> list[str]:
    """Names of the Nile-refused constructs found in `sql` (empty when it is fine)."""
    text = strip_comments_and_strings(sql).upper()
    return [name for name, pattern in _FORBIDDEN if pattern.search(text)]
