"""The provisioning workflow: how an inbox request becomes a Step Functions execution."""
