"""The one place Powertools Logger, Tracer and Metrics are created.

Service name, log level and metrics namespace come from the POWERTOOLS_* environment variables
that template.yaml sets; locally they fall back to Powertools' defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics

# botocore logs whole request and response bodies at DEBUG: for Secrets Manager those hold the
# secret values. Whatever level the function runs at, the AWS SDK never logs below INFO.
for _sdk in ("botocore", "boto3", "urllib3"):
    logging.getLogger(_sdk).setLevel(max(logging.getLogger(_sdk).level, logging.INFO))

logger = Logger()
# auto_patch would import and patch every X-Ray-supported library installed in the layer
# (botocore.client, httpx, requests, ...): ~80 ms of cold start for libraries most handlers never
# use. Adapters patch what they really call, where they are imported.
tracer = Tracer(auto_patch=False)
# The namespace is InboxFleet everywhere (template.yaml says the same); without one, a flush
# outside Lambda would fail schema validation.
NAMESPACE = "InboxFleet"
metrics = Metrics(namespace=NAMESPACE)
# The metrics of the invocation this thread is serving (metered_lambda_entry). Powertools'
# Metrics keep one set per process, which two invocations served at once on threads (the local
# cloud) would flush under each other; each invocation's own set cannot be.
_invocation: ContextVar[EphemeralMetrics | None] = ContextVar("inboxfleet_metrics", default=None)


def count(name: str, value: int = 1) -> None:
    """Add to a Count metric: the invocation's, published when its handler (metered) returns;
    otherwise the process's, published when it holds 100 metrics."""
    from aws_lambda_powertools.metrics import MetricUnit

    target = _invocation.get() or metrics
    target.add_metric(name=name, unit=MetricUnit.Count, value=value)


Handler = TypeVar("Handler", bound=Callable[..., Any])


def lambda_entry(handler: Handler) -> Handler:
    """What every function's handler is wrapped in: Powertools' Lambda context on the logger,
    cleared each invocation (keys appended for one must not stay on the next warm one), and a
    trace segment without the response (results hold tenant data, which has no place in
    traces)."""
    traced = tracer.capture_lambda_handler(capture_response=False)(handler)
    wrapped: Handler = logger.inject_lambda_context(clear_state=True)(traced)
    return wrapped


def metered_lambda_entry(handler: Handler) -> Handler:
    """lambda_entry, and the metrics the invocation counted are published when it returns (or
    raises): its own set, whatever other invocations the process serves meanwhile."""
    from functools import wraps

    @wraps(handler)
    def published(event: Any, context: Any) -> Any:
        own = EphemeralMetrics(namespace=NAMESPACE)
        token = _invocation.set(own)
        try:
            return handler(event, context)
        finally:
            _invocation.reset(token)
            if own.metric_set:
                own.flush_metrics()

    return lambda_entry(cast(Handler, published))
