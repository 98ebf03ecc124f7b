"""Moto-backed AWS set-up shared by tests."""

from __future__ import annotations

import boto3

import inboxfleet.observability  # noqa: F401 - keeps the AWS SDK from logging bodies (secrets)


def put_secret(name: str, value: str) -> None:
    boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)
