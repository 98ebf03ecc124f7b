"""The whole local cloud in one context manager, read from template.yaml: what tests, the demo,
the benchmarks and `inboxfleet-local` run against.

    with LocalCloud(time_scale=0.01) as cloud:
        cloud.api_url, cloud.token(tenant_id), cloud.invoke("InventoryFunction", event)

Started, in order: a real PostgreSQL (embedded unless DATABASE_URL / PG_BINDIR say otherwise; a
scratch database migrated with the app role), moto with Step Functions executing ASL (Lambda
tasks dispatched to the in-process handlers), the Stripe, Hostwinds and VPS-host simulators, the
local DNS servers, the template's resources deployed into moto (secrets hold the local values, so
functions read them as in AWS), every function's environment from the template (parameters set to
the local endpoints), the SQS event source, the local JWT issuer and the HTTP API. `close()` (or
leaving the block, or Ctrl-C) stops all of it in reverse order: no thread, server, listening port
or temporary folder is left behind.

moto is process-global: one LocalCloud runs per process at a time.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from local.account import ACCOUNT_ID, ENVIRONMENT, REGION, STACK_NAME
from local.aws_stack import AwsStack, DeployedFunction
from local.intrinsics import Stack
from local.loopback import StartStop
from local.template import REPO_ROOT, TEMPLATE_PATH, load_template

if TYPE_CHECKING:
    from local.sqs_event_source import DrainReport

SENDER_DOMAIN = "inboxfleet.example"
SENDER = f"billing@{SENDER_DOMAIN}"
AUDIENCE = "inboxfleet-local"
# The parent zones the local DNS holds delegations in (the TLD servers' part): the TLDs and
# public suffixes a tenant's domain may sit under in tests and demos. A name under one of them
# is NXDOMAIN until delegated, as in the real world; under none of them, SERVFAIL.
PARENT_ORIGINS = (
    "example.",
    "test.",
    "com.",
    "net.",
    "org.",
    "io.",
    "co.",
    "ai.",
    "dev.",
    "app.",
    "uk.",
    "co.uk.",
    "org.uk.",
)
# AWS SDK settings for the in-process functions: moto answers, nothing leaves the machine.
AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}

# The state machines the tenant API and billing start (off with `provisioning=False`).
_WORKFLOW_ARNS = (
    "PROVISIONING_STATE_MACHINE_ARN",
    "DEPROVISIONING_STATE_MACHINE_ARN",
    "MAILBOX_STATE_MACHINE_ARN",
)
_running = threading.Lock()  # held while a cloud runs: moto's state is process-global


@dataclass(frozen=True)
class LocalSecrets:
    """The values the template's Secrets Manager parameters point at, locally."""

    stripe_api_key: str = field(default_factory=lambda: f"sk_test_local_{secrets.token_hex(12)}")
    webhook_secrets: tuple[str, ...] = field(
        default_factory=lambda: (f"whsec_local_{secrets.token_hex(16)}",)
    )


@dataclass(frozen=True)
class SimulatedDelays:
    """How long the simulated world takes, in seconds of real time at time scale 1 (each is
    multiplied by the cloud's time scale)."""

    vps_activation_s: float = 40.0
    mailu_healthy_s: float = 30.0
    image_pull_s: float = 5.0


@dataclass(frozen=True)
class InvokeResult:
    """What Lambda answers: the payload, and the error type when the function raised."""

    payload: Any
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_type is None


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` set for the block, exactly as it was afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LocalCloud(StartStop):
    def __init__(
        self,
        *,
        template_path: Path = TEMPLATE_PATH,
        root: Path = REPO_ROOT,
        postgres_url: str | None = None,
        time_scale: float = 1.0,
        delays: SimulatedDelays | None = None,
        local_secrets: LocalSecrets | None = None,
        event_sources: bool = True,
        api_port: int = 0,
        log_level: str = "INFO",
        provisioning: bool = True,
        hostwinds_ip_ranges: Sequence[str] | None = None,
    ) -> None:
        """`postgres_url`: a running server to create the cloud's database on (tests share
        one); None starts one (local.embedded_db.postgres_server). `time_scale` < 1 shortens
        ASL Waits and Retry intervals and the simulated delays. `event_sources`: poll the
        template's SQS event sources in the background (off: call `deliver_queued()`).
        `provisioning` off: the tenant API and billing start no workflow (requests stay
        queued, as with no state machine deployed), for tests of the API on its own.
        `hostwinds_ip_ranges`: where the Hostwinds simulator draws addresses from (default:
        the RFC 5737 ranges; a benchmark fleet needs RFC 2544's)."""
        if not 0 < time_scale <= 1:
            raise ValueError("time_scale must be in (0, 1]")
        self.template_path = template_path
        self.root = root
        self.template = load_template(template_path)
        self.time_scale = time_scale
        self.delays = delays or SimulatedDelays()
        self.secrets = local_secrets or LocalSecrets()
        self._postgres_url = postgres_url
        self._event_sources = event_sources
        self._api_port = api_port
        self._log_level = log_level
        self._provisioning = provisioning
        self._hostwinds_ip_ranges = hostwinds_ip_ranges
        self._stack: ExitStack | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        if not _running.acquire(blocking=False):
            raise RuntimeError("a local cloud is already running in this process (moto is global)")
        with ExitStack() as stack:
            stack.callback(_running.release)
            self._start(stack)
            self._stack = stack.pop_all()
        return self

    def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def _start(self, stack: ExitStack) -> None:
        from moto import mock_aws

        # Imported before anything below writes a secret: it puts the AWS SDK's loggers at INFO
        # or above, as in every function (botocore logs request bodies at DEBUG).
        import inboxfleet.observability  # noqa: F401
        from inboxfleet.db.connection import resolve_flavor
        from inboxfleet.db.migrator import migrate
        from local.dns_sim.name_servers import distinct_name_servers
        from local.embedded_db import postgres_server, scratch_database
        from local.stepfunctions import MOTO_CONFIG

        server = self._postgres_url or stack.enter_context(postgres_server())
        self.database_url = stack.enter_context(scratch_database(server, "cloud"))
        self.migration = migrate(self.database_url, resolve_flavor("auto", self.database_url))

        stack.enter_context(environment(AWS_ENVIRONMENT))
        stack.enter_context(mock_aws(config=MOTO_CONFIG))
        # Each hosted zone gets its own name servers, as in Route 53 (moto shares one set).
        stack.enter_context(distinct_name_servers())
        self._start_simulators(stack)
        self.aws = self._deploy()
        self.functions = self.aws.functions()
        self.env = self._function_environment()
        stack.enter_context(environment(self.env))
        self._install_database(stack)
        self._start_lambda(stack)
        if self._event_sources:
            self._start_event_sources(stack)
        self._start_api(stack)
        self.issuer.tenant_tokens = lambda tenant, lifetime: self.token(
            tenant, expires_in_s=lifetime
        )

    def _start_simulators(self, stack: ExitStack) -> None:
        import boto3

        from local.dns_sim import LocalDns
        from local.hostwinds_sim import HostwindsSimulator
        from local.hostwinds_sim.account import API_KEY, SSH_KEY_NAME
        from local.jwt_issuer import LocalIssuer
        from local.platform_key import platform_key
        from local.stripe_sim import StripeSimulator
        from local.vps_sim.fleet import HostFleet

        scale = self.time_scale
        self.stripe = stack.enter_context(StripeSimulator(self.secrets.stripe_api_key))
        for lookup_key, metered in _plan_prices():
            # A metered plan's price is billed by usage, as Stripe's (checkout sends no quantity).
            self.stripe.add_price(lookup_key, **({"usage_type": "metered"} if metered else {}))
        self.hostwinds = stack.enter_context(
            HostwindsSimulator(
                api_keys={API_KEY},
                activation_delay_s=self.delays.vps_activation_s * scale,
                ssh_keys={SSH_KEY_NAME: platform_key().public_openssh},
                ip_ranges=self._hostwinds_ip_ranges,
            )
        )
        self.fleet = stack.enter_context(
            HostFleet(
                self.hostwinds,
                authorized_keys=[platform_key().public_openssh],
                healthy_after_s=self.delays.mailu_healthy_s * scale,
                pull_s=self.delays.image_pull_s * scale,
            )
        )
        self.dns = stack.enter_context(
            LocalDns(
                boto3.client("route53", region_name=REGION),
                reverse_records=self.hostwinds.reverse_records,
                parent_origins=PARENT_ORIGINS,
                # A hosted zone is seen only through a delegation to its own name servers.
                route53_by_delegation=True,
            )
        )
        self.issuer = stack.enter_context(LocalIssuer())

    # ---- AWS: secrets, the template's resources, the functions' environment --------------

    def _deploy(self) -> AwsStack:
        resolver = self.dns.resolver.address
        parameters = local_parameters(
            database_url=self.database_url,
            local_secrets=self.secrets,
            issuer_url=self.issuer.root_url,
            resolvers=f"{resolver[0]}:{resolver[1]}",
            log_level=self._log_level,
        )
        return deploy_stack(self.template, parameters, self.root)

    def local_settings(self) -> dict[str, str]:
        """What `sam local` would take from --env-vars: the settings that point a function at
        a local stand-in instead of the real service."""
        authoritative = self.dns.authoritative.address
        parent = self.dns.parent.address
        return {
            "HOSTWINDS_API_URL": self.hostwinds.url,
            "SSH_ADDRESS_BOOK_URL": self.hostwinds.address_book_url,
            "STRIPE_API_BASE": self.stripe.base_url,
            # Each zone is asked at its own name servers' (local) addresses, as in production.
            "DNS_NAME_SERVER_BOOK_URL": self.dns.book.url,
            "DNS_PARENT_SERVERS": f"{parent[0]}:{parent[1]}",
            "DNS_BLOCKLIST_RESOLVERS": f"{authoritative[0]}:{authoritative[1]}",
        }

    def _function_environment(self) -> dict[str, str]:
        env = {**function_environment(self.functions.values()), **self.local_settings()}
        if not self._provisioning:
            for name in _WORKFLOW_ARNS:
                env[name] = ""  # empty counts as unset
        return env

    def _install_database(self, stack: ExitStack) -> None:
        """The functions' database, built from their settings (the URL read from Secrets
        Manager, as in Lambda) and installed as the process default for the cloud's life."""
        from inboxfleet.db import Database, use_database
        from inboxfleet.settings import database_settings_from_env

        database = Database.from_settings(database_settings_from_env())
        previous = use_database(database)

        def uninstall() -> None:
            use_database(previous)
            database.close()

        stack.callback(uninstall)

    # ---- Lambda ------------------------------------------------------------------------

    def _start_lambda(self, stack: ExitStack) -> None:
        from local.execution_events import status_change_events
        from local.stepfunctions import LocalFunction, local_step_functions
        from local.template import functions, load_handler

        specs = {spec.logical_id: spec for spec in functions(self.template, self.root)}
        local: dict[str, LocalFunction] = {}
        for logical_id, deployed in self.functions.items():
            handler = load_handler(specs[logical_id])
            local[deployed.name] = LocalFunction(
                handler=handler, timeout_s=deployed.timeout_s, memory_mb=deployed.memory_mb
            )
        # Running executions are stopped before the dispatcher goes (an execution left running
        # would call handlers later: in a test session, the next cloud's) and again after it
        # joined its asynchronous invocations (one of them may have started an execution).
        stack.callback(self.stop_executions)
        self.lambdas = stack.enter_context(local_step_functions(local, time_scale=self.time_scale))
        # Ended executions are announced on EventBridge, as AWS does (the template's rules route
        # them): entered after the dispatcher, so it stays in place until every stop is done.
        stack.enter_context(status_change_events())
        stack.callback(self.stop_executions)

    def stop_executions(self) -> list[str]:
        """Stop every running execution of the template's state machines (as StopExecution
        does); returns their ARNs."""
        import boto3

        sfn = boto3.client("stepfunctions", region_name=REGION)
        stopped = []
        for machine in self.aws.state_machines.values():
            pages = sfn.get_paginator("list_executions").paginate(
                stateMachineArn=machine, statusFilter="RUNNING"
            )
            for page in pages:
                for execution in page["executions"]:
                    sfn.stop_execution(executionArn=execution["executionArn"])
                    stopped.append(execution["executionArn"])
        return stopped

    def function(self, logical_id: str) -> DeployedFunction:
        if logical_id not in self.functions:
            known = ", ".join(self.functions)
            raise KeyError(f"no function {logical_id!r} in the template (have: {known})")
        return self.functions[logical_id]

    def invoke(self, logical_id: str, event: Any) -> InvokeResult:
        """Invoke a function as Lambda's Invoke API does (RequestResponse): the event and the
        answer travel as JSON; an error is reported, not raised."""
        import boto3
        from botocore.config import Config

        # One attempt (a retried Invoke would run the handler twice), and a read timeout above
        # Lambda's longest function Timeout (900 s): the function's own limit is the bound.
        config = Config(retries={"total_max_attempts": 1}, read_timeout=960)
        client = boto3.client("lambda", region_name=REGION, config=config)
        answer = client.invoke(
            FunctionName=self.function(logical_id).name, Payload=json.dumps(event).encode()
        )
        payload = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            return InvokeResult(payload, str(payload.get("errorType", "Unhandled")))
        return InvokeResult(payload)

    # ---- event sources -----------------------------------------------------------------

    def _start_event_sources(self, stack: ExitStack) -> None:
        from local.sqs_event_source import QueuePoller, sqs_event_sources

        for source in sqs_event_sources(self.template, self.aws.stack):
            stack.enter_context(QueuePoller(source, self.invoke, time_scale=self.time_scale))

    def deliver_queued(self) -> DrainReport:
        """Deliver what the SQS event sources' queues hold now, until they are empty or only
        failing messages remain (for runs without background polling: one step at a time)."""
        from local.sqs_event_source import DrainReport, drain_source, sqs_event_sources

        if self._event_sources:
            raise RuntimeError("the event sources poll in the background: nothing to deliver")

        sources = sqs_event_sources(self.template, self.aws.stack)
        return sum((drain_source(s, self.invoke) for s in sources), DrainReport())

    def fire(self, schedule: str) -> InvokeResult:
        """Fire one of the template's schedules now, as EventBridge would at its time."""
        from local.schedules import find

        found = find(self.aws.stack, schedule)
        return self.invoke(found.function, found.event(self.aws.stack))

    # ---- the HTTP API and tokens -------------------------------------------------------

    def _start_api(self, stack: ExitStack) -> None:
        from local.api_gateway import LocalHttpApi, routes_from_template

        routes, authorizers = routes_from_template(self.template, self.aws.stack.resolve)
        self.routes = routes
        self.api = stack.enter_context(
            LocalHttpApi(routes, authorizers, self._api_invoke, port=self._api_port)
        )

    def _api_invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        result = self.invoke(logical_id, event)
        if not result.ok:
            raise FunctionFailed(logical_id, result.error_type or "Unhandled")
        return result.payload

    @property
    def api_url(self) -> str:
        return self.api.root_url

    def token(self, tenant_id: UUID | str, *, expires_in_s: int = 3600) -> str:
        """A tenant token from the local issuer, as a Cognito sign-in would hand out."""
        claim = str(self.aws.stack.parameter("TenantClaim"))
        return self.issuer.mint(
            {claim: str(tenant_id)}, audience=AUDIENCE, expires_in_s=expires_in_s
        )


def _secret(name: str, value: str) -> str:
    import boto3

    client = boto3.client("secretsmanager", region_name=REGION)
    arn: str = client.create_secret(Name=f"inboxfleet/{ENVIRONMENT}/{name}", SecretString=value)[
        "ARN"
    ]
    return arn


def local_parameters(
    *,
    database_url: str,
    local_secrets: LocalSecrets,
    issuer_url: str,
    resolvers: str,
    log_level: str = "INFO",
) -> dict[str, str]:
    """The template's parameters for the local stack; each secret parameter names a secret
    created in moto with its local value (moto must be active)."""
    from local.hostwinds_sim.account import API_KEY, IMAGE, PLAN, SSH_KEY_NAME
    from local.platform_key import platform_key

    return {
        "Environment": ENVIRONMENT,
        "DatabaseUrlSecretArn": _secret("database-url", database_url),
        "HostwindsApiKeySecretArn": _secret("hostwinds-api-key", API_KEY),
        "MailuSshKeySecretArn": _secret("platform-ssh-key", platform_key().private_openssh),
        "StripeApiKeySecretArn": _secret("stripe-api-key", local_secrets.stripe_api_key),
        "StripeWebhookSecretsSecretArn": _secret(
            "stripe-webhook-secrets", json.dumps(list(local_secrets.webhook_secrets))
        ),
        "HostwindsPlanRid": str(PLAN),
        "HostwindsImage": IMAGE,
        "HostwindsSshKeyName": SSH_KEY_NAME,
        "DnsResolvers": resolvers,
        "BillingReminderSender": SENDER,
        "BillingSenderIdentity": SENDER_DOMAIN,
        "JwtIssuer": issuer_url,
        "JwtAudience": AUDIENCE,
        "PowertoolsLogLevel": log_level,
    }


def deploy_stack(
    template: dict[str, Any], parameters: Mapping[str, str], root: Path = REPO_ROOT
) -> AwsStack:
    """The template's resources in moto (active), and the SES identity billing sends from."""
    import boto3

    boto3.client("sesv2", region_name=REGION).create_email_identity(
        EmailIdentity=parameters["BillingSenderIdentity"]
    )
    stack = Stack(template, parameters, STACK_NAME, REGION, ACCOUNT_ID)
    deployed = AwsStack(stack, lambda service: boto3.client(service, region_name=REGION), root)
    deployed.deploy()
    return deployed


def function_environment(functions: Iterable[DeployedFunction]) -> dict[str, str]:
    """One environment for in-process functions: each one's template variables (they never
    disagree on a name's value: checked, since one process cannot hold both)."""
    merged: dict[str, str] = {}
    for function in functions:
        for name, value in function.environment.items():
            if merged.setdefault(name, value) != value:
                raise RuntimeError(
                    f"{name} differs between functions: one process cannot hold both"
                )
    return merged


class FunctionFailed(Exception):
    """A function invoked behind the HTTP API raised (API Gateway answers 500)."""

    def __init__(self, logical_id: str, error_type: str) -> None:
        super().__init__(f"{logical_id} failed with {error_type}")
        self.logical_id = logical_id
        self.error_type = error_type


def _plan_prices() -> list[tuple[str, bool]]:
    """Each catalogue plan's lookup_key and whether it is billed by usage."""
    from inboxfleet.billing.plans import default_catalogue

    return [(key, plan.metered) for key, plan in default_catalogue().plans.items()]
