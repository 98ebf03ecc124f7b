"""`python -m inboxfleet.admin`: operator commands against DATABASE_URL (or the URL in the
Secrets Manager secret DATABASE_URL_SECRET names).

    python -m inboxfleet.admin create-tenant --name "Acme Outreach" --billing-email ops@acme.example
    python -m inboxfleet.admin list-tenants
    python -m inboxfleet.admin list-rowless
    python -m inboxfleet.admin terminate-rowless --serviceid 1234 --name ifl-prod-<server id>

Tenants have no self sign-up: an operator creates each one here, then gives its id to the
identity provider (the Cognito user's `custom:tenant_id`, which the app client cannot write).
Instances reconcile reports with no server row (a restored database, most likely) are never
terminated automatically: an operator reviews each and terminates it here (Hostwinds settings
and the API key secret as the functions read them).
"""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import ValidationError

from inboxfleet.admin.commands import CreateTenant, TerminateRowless
from inboxfleet.admin.service import (
    Refused,
    create_tenant,
    list_rowless,
    list_tenants,
    terminate_rowless,
)
from inboxfleet.db.errors import DatabaseError
from inboxfleet.hostwinds.errors import HostwindsError
from inboxfleet.settings import SettingsError

# Command-line options by field, for messages that name what to fix.
_OPTIONS = {"name": "--name", "billing_email": "--billing-email", "serviceid": "--serviceid"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m inboxfleet.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-tenant", help="create a tenant (prints its id)")
    create.add_argument("--name", required=True, help="the company's display name")
    create.add_argument("--billing-email", required=True, help="where invoices and reminders go")
    commands.add_parser("list-tenants", help="tenants not deleted, oldest first, as JSON lines")
    commands.add_parser(
        "list-rowless", help="instances reconcile found with no server row, as JSON lines"
    )
    rowless = commands.add_parser(
        "terminate-rowless", help="terminate a reviewed row-less instance (its name confirms it)"
    )
    rowless.add_argument("--serviceid", required=True, help="the Hostwinds serviceid")
    rowless.add_argument("--name", required=True, help="its name, as list-rowless shows it")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "create-tenant":
            command = CreateTenant(name=args.name, billing_email=args.billing_email)
            tenant = create_tenant(command)
            print(json.dumps({"id": str(tenant.id), "name": tenant.name}))
        elif args.command == "list-rowless":
            for instance in list_rowless():
                print(instance.model_dump_json())
        elif args.command == "terminate-rowless":
            reviewed = TerminateRowless(serviceid=args.serviceid, name=args.name)
            from inboxfleet.hostwinds.runtime import deps as hostwinds

            gone = terminate_rowless(reviewed, hostwinds().client)
            print(json.dumps({"terminated": gone.serviceid, "name": gone.name}))
        else:
            for tenant in list_tenants():
                print(tenant.model_dump_json())
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            option = _OPTIONS.get(str(error["loc"][0]), str(error["loc"][0]))
            # pydantic prefixes a validator's own message; the message is the validator's alone.
            print(f"{option}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    except (DatabaseError, SettingsError, Refused, HostwindsError) as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
