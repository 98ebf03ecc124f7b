"""The one place Powertools Logger, Tracer and Metrics are created.

Service name, log level and metrics namespace come from the POWERTOOLS_* environment variables
that template.yaml sets; locally they fall back to Powertools' defaults.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
