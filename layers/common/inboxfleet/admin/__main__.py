"""`python -m inboxfleet.admin`: operator commands against DATABASE_URL (or the URL in the
Secrets Manager secret DATABASE_URL_SECRET names).

    python -m inboxfleet.admin create-tenant --name "Acme Outreach" --billing-email ops@acme.example
    python -m inboxfleet.admin list-tenants

Tenants have no self sign-up: an operator creates each one here, then gives its id to the
identity provider (the Cognito user's `custom:tenant_id`, which the app client cannot write).
"""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import ValidationError

from inboxfleet.admin.commands import CreateTenant
from inboxfleet.admin.service import create_tenant, list_tenants
from inboxfleet.db.errors import DatabaseError
from inboxfleet.settings import SettingsError

# Command-line options by field, for messages that name what to fix.
_OPTIONS = {"name": "--name", "billing_email": "--billing-email"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inboxfleet.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-tenant", help="create a tenant (prints its id)")
    create.add_argument("--name", required=True, help="the company's display name")
    create.add_argument("--billing-email", required=True, help="where invoices and reminders go")
    commands.add_parser("list-tenants", help="tenants not deleted, oldest first, as JSON lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "create-tenant":
            command = CreateTenant(name=args.name, billing_email=args.billing_email)
            tenant = create_tenant(command)
            print(json.dumps({"id": str(tenant.id), "name": tenant.name}))
        else:
            for tenant in list_tenants():
                print(tenant.model_dump_json())
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            option = _OPTIONS.get(str(error["loc"][0]), str(error["loc"][0]))
            # pydantic prefixes a validator's own message; the message is the validator's alone.
            print(f"{option}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    except (DatabaseError, SettingsError) as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
