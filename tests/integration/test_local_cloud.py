"""The local cloud read from template.yaml: its resources in moto, the functions' environment,
Lambda through moto's Invoke API, a state machine from the template running the real ASL, the
SQS event source with partial failures and redrive, schedules fired by hand, and the HTTP API
with its JWT authorizer over real HTTP.

One cloud serves the module. Its template is template.yaml plus a few test resources (an echo
function on a JWT route, a schedule, a state machine, a queue with a failing consumer), added the
way a later issue adds real ones, so the same code paths read them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import BillingAccounts, TenantDirectory
from local.cloud import AUDIENCE, LocalCloud, LocalSecrets
from local.echo_stack import with_echo, write
from local.polling import poll
from local.samples import SAMPLE_INBOX_ID, SAMPLE_TENANT_ID, seed_sample
from local.stripe_samples import signature_header
from local.template import REPO_ROOT
from tests.leakcheck import register_secret

WEBHOOK_SECRET = "whsec_local_cloud_test_0123456789abcdef"
STRIPE_KEY = "sk_test_local_cloud_0123456789"
for _secret in (WEBHOOK_SECRET, STRIPE_KEY):
    register_secret(_secret)


def cloud_template(tmp_path: Path) -> Path:
    """template.yaml with the echo stack, plus a schedule, a scheduler resource, a waiting
    machine and a FIFO queue with a failing consumer."""
    template = with_echo()
    resources = template["Resources"]
    resources["EchoFunction"]["Properties"]["Events"]["EchoSchedule"] = {
        "Type": "ScheduleV2",
        "Properties": {"ScheduleExpression": "rate(15 minutes)", "Input": '{"fired": true}'},
    }
    resources["FlakyFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "tests/fixtures/flaky_consumer/",
            "Handler": "app.lambda_handler",
            "Timeout": 10,
            "Events": {
                "Flaky": {
                    "Type": "SQS",
                    "Properties": {
                        "Queue": {"Fn::GetAtt": ["FlakyQueue", "Arn"]},
                        "BatchSize": 10,
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    },
                }
            },
        },
    }
    resources["FlakyQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": {"Fn::Sub": "inboxfleet-${Environment}-flaky.fifo"},
            "FifoQueue": True,
            "ContentBasedDeduplication": True,
            # Scaled like every local pause: 60 s x 0.001 -> a failed message is back at once.
            "VisibilityTimeout": 60,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["FlakyDeadLetterQueue", "Arn"]},
                "maxReceiveCount": 2,
            },
        },
    }
    resources["FlakyDeadLetterQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "QueueName": {"Fn::Sub": "inboxfleet-${Environment}-flaky-dlq.fifo"},
            "FifoQueue": True,
        },
    }
    resources["NightlySchedule"] = {
        "Type": "AWS::Scheduler::Schedule",
        "Properties": {
            "Name": "nightly",
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": {"Fn::GetAtt": ["EchoFunction", "Arn"]},
                "RoleArn": "arn:aws:iam::123456789012:role/scheduler",
                "Input": '{"nightly": true}',
            },
        },
    }
    resources["WaitMachine"] = {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "Definition": {
                "StartAt": "Wait",
                "States": {
                    "Wait": {"Type": "Wait", "Seconds": 86400, "Next": "Echo"},
                    "Echo": {"Type": "Task", "Resource": "${EchoArn}", "End": True},
                },
            },
            "DefinitionSubstitutions": {"EchoArn": {"Fn::GetAtt": ["EchoFunction", "Arn"]}},
        },
    }
    return write(template, tmp_path)


@pytest.fixture(scope="module")
def cloud(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    path = cloud_template(tmp_path_factory.mktemp("cloud"))
    secrets = LocalSecrets(stripe_api_key=STRIPE_KEY, webhook_secrets=(WEBHOOK_SECRET,))
    with LocalCloud(
        template_path=path, postgres_url=pg_server, time_scale=0.001, local_secrets=secrets
    ) as running:
        seed_sample()
        yield running


# ---- resources and environment ----------------------------------------------------------


def test_the_templates_queues_are_deployed_with_their_redrive(cloud: LocalCloud) -> None:
    sqs = boto3.client("sqs")
    queue = cloud.aws.stack.resources["BillingEventsQueue"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue.ref, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["VisibilityTimeout"] == "720"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": cloud.aws.stack.resources["BillingEventsDeadLetterQueue"].attributes[
            "Arn"
        ],
        "maxReceiveCount": 5,
    }
    assert queue.attributes["QueueName"] == "inboxfleet-local-billing-events.fifo"


def test_functions_see_the_templates_environment_pointing_at_local_values(
    cloud: LocalCloud,
) -> None:
    webhook = cloud.function("StripeWebhookFunction")
    assert webhook.timeout_s == 10
    assert (
        webhook.environment["BILLING_EVENTS_QUEUE_URL"]
        == cloud.aws.stack.resources["BillingEventsQueue"].ref
    )
    secret_arn = webhook.environment["DATABASE_URL_SECRET"]
    assert secret_arn.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:")
    stored = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    assert stored == cloud.database_url
    assert cloud.function("DnsFunction").environment["DNS_RESOLVERS"] == "{}:{}".format(
        *cloud.dns.resolver.address
    )
    assert cloud.env["HOSTWINDS_API_URL"] == cloud.hostwinds.url
    assert cloud.env["ENVIRONMENT"] == "local"


def test_a_function_runs_through_lambdas_invoke_api_against_the_clouds_database(
    cloud: LocalCloud,
) -> None:
    event = json.loads((REPO_ROOT / "events/InventoryFunction/describe_inbox.json").read_text())
    answer = cloud.invoke("InventoryFunction", event)
    assert answer.ok, answer.payload
    assert answer.payload["inbox"]["id"] == str(SAMPLE_INBOX_ID)


def test_a_function_error_comes_back_as_lambda_reports_it(cloud: LocalCloud) -> None:
    answer = cloud.invoke("InventoryFunction", {"action": "describe_inbox", "tenant_id": "x"})
    assert not answer.ok
    assert answer.error_type == "InvalidCommand"
    assert answer.payload["errorType"] == "InvalidCommand"
    assert "tenant_id" in answer.payload["errorMessage"]


# ---- Step Functions ------------------------------------------------------------------------


def test_a_state_machine_from_the_template_runs_its_asl_with_substituted_arns(
    cloud: LocalCloud,
) -> None:
    sfn = boto3.client("stepfunctions")
    arn = cloud.aws.state_machines["EchoMachine"]
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
    assert definition["States"]["Echo"]["Resource"] == cloud.function("EchoFunction").arn
    execution = sfn.start_execution(stateMachineArn=arn, name="echo-1", input='{"n": 1}')
    done = poll(
        lambda: (
            d
            if (d := sfn.describe_execution(executionArn=execution["executionArn"]))["status"]
            != "RUNNING"
            else None
        ),
        "the execution",
    )
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["echoed"]["n"] == 1


def test_running_executions_are_stopped_before_the_functions_go(cloud: LocalCloud) -> None:
    sfn = boto3.client("stepfunctions")
    arn = cloud.aws.state_machines["WaitMachine"]
    started = sfn.start_execution(stateMachineArn=arn, name="long-wait", input="{}")
    echo = cloud.function("EchoFunction").name
    calls = len(cloud.lambdas.invocations_of(echo))

    assert cloud.stop_executions() == [started["executionArn"]]

    def status() -> str | None:
        found = sfn.describe_execution(executionArn=started["executionArn"])["status"]
        return None if found == "RUNNING" else str(found)

    assert poll(status, "the execution to stop") == "ABORTED"
    assert cloud.stop_executions() == []
    assert len(cloud.lambdas.invocations_of(echo)) == calls


# ---- event sources and schedules ---------------------------------------------------------


def test_the_fifo_source_holds_a_group_behind_a_failure_and_redrives_them_together(
    cloud: LocalCloud,
) -> None:
    """The consumer fails "poison" and, as a FIFO consumer must, every record after it: SQS
    keeps "ok-2" behind it in its group, and both reach the DLQ after maxReceiveCount (2)
    receives, in order. The group then flows again."""
    sqs = boto3.client("sqs")
    queue_url = cloud.aws.stack.resources["FlakyQueue"].ref
    dlq_url = cloud.aws.stack.resources["FlakyDeadLetterQueue"].ref
    sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": str(n), "MessageBody": body, "MessageGroupId": "tenant-a"}
            for n, body in enumerate(("ok-1", "poison", "ok-2"))
        ],
    )

    def dead_lettered() -> list[str] | None:
        found = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        bodies = [m["Body"] for m in found.get("Messages", [])]
        return bodies if "poison" in bodies else None

    # Received together, ok-2 shares every receive of poison and goes with it; had a poll split
    # them (the batch is not atomic in moto), ok-2 would trail one receive behind and succeed.
    # Either way it is never delivered ahead of poison, and poison goes first.
    assert poll(dead_lettered, "poison in the DLQ") in (["poison", "ok-2"], ["poison"])
    sqs.send_message(QueueUrl=queue_url, MessageBody="ok-3", MessageGroupId="tenant-a")

    def drained() -> bool:
        counts = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
        attributes: dict[str, str] = counts["Attributes"]
        waiting = attributes["ApproximateNumberOfMessages"]
        return (waiting, attributes["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")

    assert poll(drained, "ok-3 to be consumed")
    consumed = [
        i
        for i in cloud.lambdas.invocations_of(cloud.function("FlakyFunction").name)
        if i.error_type is None
    ]
    assert consumed, "the consumer ran"


def test_a_schedule_is_fired_by_hand_with_its_input(cloud: LocalCloud) -> None:
    answer = cloud.fire("EchoSchedule")
    assert answer.ok
    assert answer.payload == {"echoed": {"fired": True}}


def test_a_scheduler_resource_targeting_a_function_is_fired_by_its_name(
    cloud: LocalCloud,
) -> None:
    answer = cloud.fire("nightly")
    assert answer.ok
    assert answer.payload == {"echoed": {"nightly": True}}


def test_firing_an_unknown_schedule_names_the_known_ones(cloud: LocalCloud) -> None:
    with pytest.raises(
        LookupError, match="have: EchoSchedule, inboxfleet-local-reconcile, nightly"
    ):
        cloud.fire("Nope")


# ---- the HTTP API ----------------------------------------------------------------------------


def test_a_signed_stripe_event_posted_over_http_is_queued_delivered_and_applied(
    cloud: LocalCloud,
) -> None:
    with system_session("test.cloud") as s:
        tenant_id = TenantDirectory(s).create("Webhook Over Http", "billing@woh.example").id
    customer = cloud.stripe.add_customer(metadata={"tenant_id": str(tenant_id)})
    subscription = cloud.stripe.add_subscription(customer["id"], "growth_monthly")
    body = json.dumps(cloud.stripe.event("customer.subscription.created", subscription))
    headers = {
        "content-type": "application/json",
        "stripe-signature": signature_header(body, WEBHOOK_SECRET, int(time.time())),
    }
    answer = httpx.post(f"{cloud.api_url}/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "queued"

    def entitled() -> str | None:
        with tenant_session(tenant_id) as s:
            account = BillingAccounts(s).get()
        return account.plan if account and account.subscription_status == "active" else None

    assert poll(entitled, "billing_events to apply the subscription") == "growth_monthly"


def test_a_forged_stripe_delivery_is_refused_over_http(cloud: LocalCloud) -> None:
    body = '{"id": "evt_forged"}'
    headers = {"stripe-signature": signature_header(body, "whsec_not_ours", int(time.time()))}
    answer = httpx.post(f"{cloud.api_url}/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 400


def _get_echo(cloud: LocalCloud, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    return httpx.get(f"{cloud.api_url}/v1/echo/abc?x=1", headers=headers)


def test_a_jwt_route_passes_the_verified_claims_to_the_function(cloud: LocalCloud) -> None:
    answer = _get_echo(cloud, cloud.token(SAMPLE_TENANT_ID))
    assert answer.status_code == 200, answer.text
    event = answer.json()["event"]
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["custom:tenant_id"] == str(SAMPLE_TENANT_ID)
    assert claims["iss"] == cloud.issuer.root_url
    assert event["pathParameters"] == {"id": "abc"}
    assert event["routeKey"] == "GET /v1/echo/{id}"


@pytest.mark.parametrize(
    "case", ["missing", "garbage", "expired", "other audience", "other issuer", "forged"]
)
def test_a_jwt_route_answers_401_for_a_bad_token(cloud: LocalCloud, case: str) -> None:
    from local.jwt_issuer import LocalIssuer

    claims = {"custom:tenant_id": str(SAMPLE_TENANT_ID)}
    token: str | None
    if case == "missing":
        token = None
    elif case == "garbage":
        token = "not.a.token"
    elif case == "expired":
        token = cloud.issuer.mint(claims, audience=AUDIENCE, expires_in_s=-60)
    elif case == "other audience":
        token = cloud.issuer.mint(claims, audience="someone-else")
    else:
        with LocalIssuer() as other:
            token = other.mint(claims, audience=AUDIENCE)
            if case == "forged":  # the right issuer's name and key id, another key
                token = other.forge_as(cloud.issuer, claims, audience=AUDIENCE)
    echo = cloud.function("EchoFunction").name
    calls = len(cloud.lambdas.invocations_of(echo))
    answer = _get_echo(cloud, token)
    assert answer.status_code == 401
    assert answer.json() == {"message": "Unauthorized"}
    assert len(cloud.lambdas.invocations_of(echo)) == calls  # the function never ran


def test_the_local_token_endpoint_mints_for_loopback_callers_only(cloud: LocalCloud) -> None:
    url = f"{cloud.issuer.root_url}/local/token"
    minted = httpx.get(url, params={"tenant": str(SAMPLE_TENANT_ID), "expires_in": 60})
    assert minted.status_code == 200
    assert _get_echo(cloud, minted.text).status_code == 200
    rebound = httpx.get(
        url, params={"tenant": str(SAMPLE_TENANT_ID)}, headers={"Host": "evil.example:80"}
    )
    assert rebound.status_code == 403
    for bad in ({}, {"tenant": "t", "expires_in": "0"}, {"tenant": "t", "expires_in": "x"}):
        assert httpx.get(url, params=bad).status_code == 400
