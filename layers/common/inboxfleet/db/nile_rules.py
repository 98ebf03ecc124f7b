"""Static checks for SQL bound for Nile (reference/nile.md). Pure: text in, problems out.

Nile refuses functions, triggers, policies, roles, databases, extensions, sequences in tenant
tables (hence serial/identity columns) and anonymous code blocks. The migrator runs these checks
before sending a Nile-bound file anywhere, and a test runs them over every shipped file.
"""

from __future__ import annotations

import re

_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_STRING = re.compile(r"'(?:[^']|'')*'")

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
    ("CREATE SEQUENCE", re.compile(r"\bCREATE\s+(TEMP\w*\s+)?SEQUENCE\b")),
    ("serial column", re.compile(r"\b(SMALL|BIG)?SERIAL[248]?\b")),
    ("identity column", re.compile(r"\bGENERATED\s+(ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b")),
    ("DO block", re.compile(r"\bDO\s+(\$|LANGUAGE\b)")),
    ("row level security", re.compile(r"\bROW\s+LEVEL\s+SECURITY\b")),
)


def strip_comments_and_strings(sql: str) -> str:
    return _STRING.sub("''", _COMMENT.sub(" ", sql))


def nile_problems(sql: str) -> list[str]:
    """Names of the Nile-refused constructs found in `sql` (empty when it is fine)."""
    text = strip_comments_and_strings(sql).upper()
    return [name for name, pattern in _FORBIDDEN if pattern.search(text)]
