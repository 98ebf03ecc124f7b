"""The simulated Hostwinds account local runs (tests, benchmarks) order with: the API key the
simulator is started with, the name the platform SSH key is registered under (README step 3),
and the image and plan of the default catalogue that orders use."""

from __future__ import annotations

from local.hostwinds_sim.catalogue import DEFAULT_CATALOGUE

API_KEY = "hwkey-integration-0123456789"  # an hwkey- marker: the tests' leak check knows it
SSH_KEY_NAME = "inboxfleet-platform"
IMAGE = DEFAULT_CATALOGUE.images[0].id  # Debian 12
PLAN = DEFAULT_CATALOGUE.plans[0].rid  # Unmetered Cloud VPS 1
