"""`python -m local.demo [flags]` is `inboxfleet-local demo [flags]`."""

import sys

from local.cli import main

sys.exit(main(["demo", *sys.argv[1:]]))
