"""`python -m inboxfleet.db migrate`: apply the migrations to DATABASE_URL, or to the URL in the
Secrets Manager secret DATABASE_URL_SECRET names (so no password passes through a shell)."""

from __future__ import annotations

import argparse
import sys

from inboxfleet.db.connection import resolve_flavor
from inboxfleet.db.errors import DatabaseError
from inboxfleet.db.migrator import migrate
from inboxfleet.secret_store import get_secret
from inboxfleet.settings import SettingsError, database_settings_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inboxfleet.db")
    parser.add_argument("command", choices=["migrate"])
    parser.parse_args(argv)
    try:
        settings = database_settings_from_env()
        if settings.url is not None:
            url = settings.url.get_secret_value()
        elif settings.url_secret:
            url = get_secret(settings.url_secret)
        else:
            print("set DATABASE_URL or DATABASE_URL_SECRET (owner credentials)", file=sys.stderr)
            return 2
        report = migrate(url, resolve_flavor(settings.flavor, url))
    except (DatabaseError, SettingsError) as exc:
        print(f"migrate failed: {exc}", file=sys.stderr)
        return 1
    applied = ", ".join(report.applied) or "nothing new"
    print(f"migrated: {applied}; schema version {report.current_version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
