from __future__ import annotations

import pytest

from local.template import REPO_ROOT
from tests.leakcheck import find_leaks


def test_markers_are_found() -> None:
    assert find_leaks('{"password": "hwroot-Kq93vXzL0pTe"} key=hwkey-local') == [
        "hwroot-Kq93vXzL0pTe",
        "hwkey-local",
    ]
    assert find_leaks("an ordinary hwroot mention and hwcfg-") == []


def test_a_test_that_logs_a_secret_fails_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.leakcheck"]')
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    pytester.makepyfile(
        """
        import logging

        def test_leaks():
            logging.getLogger("x").warning("root password hwroot-abcdefgh")

        def test_clean():
            logging.getLogger("x").warning("nothing to see")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*secret marker found in test_a_test_that*test_leaks*"])
    assert "test_clean" not in "".join(line for line in result.outlines if "marker found" in line)
