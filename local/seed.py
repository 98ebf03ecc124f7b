"""`python -m local.seed`: migrate DATABASE_URL and seed the sample tenant the files in events/
name, so `python -m local.invoke` answers against a database that outlives the demo."""

from __future__ import annotations

import os
import sys

from pydantic import SecretStr

from inboxfleet.db import Database, UnknownTenant, tenant_session, use_database
from inboxfleet.db.connection import resolve_flavor
from inboxfleet.db.migrator import migrate
from inboxfleet.settings import DatabaseSettings
from local.samples import SAMPLE_TENANT_ID, seed_sample


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("DATABASE_URL is not set: the database to migrate and seed", file=sys.stderr)
        return 2
    report = migrate(url, resolve_flavor("auto", url))
    db = Database.from_settings(DatabaseSettings(url=SecretStr(url)))
    use_database(db)
    try:
        try:
            with tenant_session(SAMPLE_TENANT_ID):
                pass
        except UnknownTenant:
            sample = seed_sample()
            print(f"schema version {report.current_version}; seeded {sample.inbox.address}")
        else:
            print(f"schema version {report.current_version}; the sample tenant exists already")
    finally:
        use_database(None)
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
