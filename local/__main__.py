"""`python -m local`: the same commands as the `inboxfleet-local` console script."""

import sys

from local.cli import main

sys.exit(main())
