"""Moto-backed AWS set-up shared by tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto import mock_aws

import inboxfleet.observability  # noqa: F401 - keeps the AWS SDK from logging bodies (secrets)


def put_secret(name: str, value: str) -> None:
    boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)


@contextmanager
def moto_aws(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[None]:
    """moto for every AWS call, with a region, dummy credentials and the given settings."""
    settings = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    for var, value in (settings | env).items():
        monkeypatch.setenv(var, value)
    with mock_aws():
        yield
