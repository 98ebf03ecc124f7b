"""Operator commands (`python -m inboxfleet.admin`): what no tenant may do for itself, such as
creating a tenant, run in named system sessions."""
