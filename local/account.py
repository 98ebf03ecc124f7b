"""The local AWS account everything local runs in: moto's default account, one region, one stack."""

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
STACK_NAME = "inboxfleet-local"
ENVIRONMENT = "local"  # the stage: part of resource names (Hostwinds servers are ifl-local-...)
# Where `inboxfleet-local token` finds a running cloud's issuer (`up` prints the export line).
ISSUER_VARIABLE = "INBOXFLEET_LOCAL_ISSUER"
