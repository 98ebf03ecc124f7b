"""The KMS client, built once per process however many threads ask for it at once (an export
decrypts on sixteen threads), with the short timeouts of a caller that waits."""

from __future__ import annotations

import importlib.util
import threading
from types import ModuleType
from typing import Any

import boto3
import pytest

import inboxfleet.kms


def fresh_kms() -> ModuleType:
    """A copy of inboxfleet.kms of its own, with no client built yet (the module's own client
    is left to the rest of the run)."""
    spec = importlib.util.spec_from_file_location("kms_under_test", inboxfleet.kms.__file__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_threads_asking_at_once_share_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    kms = fresh_kms()
    built: list[dict[str, Any]] = []
    second_inside = threading.Event()
    answers: list[Any] = []

    def client(service: str, **kwargs: Any) -> object:
        built.append({"service": service, **kwargs})
        if len(built) == 1:
            # While the first client is being built, another thread asks for one: it must wait
            # for this one, not build its own.
            other = threading.Thread(target=lambda: answers.append(kms._client()))
            other.start()
            second_inside.wait(timeout=0.5)  # set only if it built one meanwhile
            answers.append(("first", other))
        else:
            second_inside.set()
        return object()

    monkeypatch.setattr(boto3, "client", client)
    first = kms._client()
    [(_, other)] = [a for a in answers if isinstance(a, tuple)]
    other.join(timeout=10)
    assert not other.is_alive()
    assert len(built) == 1
    assert [a for a in answers if not isinstance(a, tuple)] == [first]
    assert kms._client() is first
    config = built[0]["config"]
    assert built[0]["service"] == "kms"
    assert (config.connect_timeout, config.read_timeout) == (2, 3)
    assert config.retries == {"max_attempts": 2, "mode": "standard"}
