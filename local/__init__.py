"""The local cloud: simulators, runners and the demo CLI."""
