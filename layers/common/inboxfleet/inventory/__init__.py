"""The state machine's database steps: typed commands in, typed results out."""
