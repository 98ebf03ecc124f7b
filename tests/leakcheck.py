"""A suite-wide check: no captured output of any test may contain a secret.

Secrets in the suite are recognisable: the Hostwinds simulator's root passwords (`hwroot-…`) and
config keys (`hwcfg-…`), and the test API keys (`hwkey-…`). Every test phase's captured stdout,
stderr and log records are scanned; any hit fails the whole run, naming the test. Logging is
captured at DEBUG (Powertools too), so even debug lines are held to this.
"""

from __future__ import annotations

import os
import re

import pytest

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "DEBUG")

SECRET_MARKERS = re.compile(r"hw(?:root|cfg|key)-[A-Za-z0-9_-]{4,}")
_leaks: dict[str, str] = {}  # test id -> where the first hit was
_registered: set[str] = set()  # secrets only known at run time (generated tokens, keys)


def register_secret(value: str) -> None:
    """Hold the rest of the run to never showing `value` in captured output either."""
    if len(value) >= 8:
        _registered.add(value)


def find_leaks(text: str) -> list[str]:
    return SECRET_MARKERS.findall(text) + [s for s in _registered if s in text]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # A report carries the sections of the phases before it too: keep the first hit per test.
    for section, text in report.sections:
        if find_leaks(text):
            _leaks.setdefault(report.nodeid, section)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _leaks:
        terminalreporter.section("secrets in captured output", red=True)
        for nodeid, section in _leaks.items():
            terminalreporter.line(f"secret marker found in {nodeid} ({section})")
