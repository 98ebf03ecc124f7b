"""template.yaml: every function loads, the runtime is what we build for, IAM stays narrow and no
secret value is written into the template. Also the short-tag loader and the handler importer."""

from __future__ import annotations

import json
import re
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.template import (
    REPO_ROOT,
    CloudFormationLoader,
    FunctionSpec,
    TemplateError,
    functions,
    load_handler,
    load_template,
)

FUNCTIONS_DIR = REPO_ROOT / "functions"
TEMPLATE = load_template()
SPECS = functions(TEMPLATE)
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
GLOBAL_FUNCTION: dict[str, Any] = TEMPLATE["Globals"]["Function"]

# Managed policies a function may name directly (SAM adds X-Ray's itself for Tracing: Active).
# AWSLambdaENIManagementAccess: a VPC-attached function's network interfaces (EC2 offers no
# resource-level scoping for them).
ALLOWED_MANAGED_POLICIES = {"AWSXrayWriteOnlyAccess", "AWSLambdaENIManagementAccess"}


def _props(logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = RESOURCES[logical_id].get("Properties") or {}
    return props


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_names(value: Any) -> list[str]:
    """Managed policy ARNs, through Fn::If branches and Fn::Sub strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [name for item in value for name in _policy_names(item)]
    if isinstance(value, dict):
        if "Fn::If" in value:
            return [name for branch in value["Fn::If"][1:] for name in _policy_names(branch)]
        if "Fn::Sub" in value:
            return _policy_names(value["Fn::Sub"])
    return []


NO_VALUE = {"Ref": "AWS::NoValue"}


def _unwrap_if(item: Any) -> list[Any]:
    """A statement list item, or both branches of an `Fn::If` standing in for one."""
    if isinstance(item, dict) and set(item) == {"Fn::If"}:
        return [leaf for branch in item["Fn::If"][1:] for leaf in _unwrap_if(branch)]
    return [item]


def _statements(node: Any) -> list[dict[str, Any]]:
    """Every IAM statement under `node`, however deeply SAM policy shapes nest them (including
    statements behind an `Fn::If`)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "Statement" in node:
            items = [leaf for s in _as_list(node["Statement"]) for leaf in _unwrap_if(s)]
            found.extend(s for s in items if isinstance(s, dict) and s != NO_VALUE)
        for key, value in node.items():
            if key != "Statement":
                found.extend(_statements(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_statements(item))
    return found


# Actions AWS offers no resource-level scoping for: "*" is the only possible Resource.
UNSCOPABLE_ACTIONS = {
    "xray:puttracesegments",
    "xray:puttelemetryrecords",
    "route53:createhostedzone",
    "route53:listhostedzonesbyname",
}


def wildcard_grants(policies: Any) -> list[str]:
    """What in a function's Policies grants `*` actions or `Resource: "*"` (except for actions
    that cannot be scoped)."""
    problems: list[str] = []
    for policy in _as_list(policies):
        if isinstance(policy, str) and policy.rsplit("/", 1)[-1] not in ALLOWED_MANAGED_POLICIES:
            problems.append(f"managed policy {policy!r} (use a scoped SAM policy template)")
    for statement in _statements(policies):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        unscopable = bool(actions) and all(a.lower() in UNSCOPABLE_ACTIONS for a in actions)
        if any(a == "*" or a.endswith(":*") for a in actions):
            problems.append(f"wildcard action in {statement}")
        if "*" in _as_list(statement.get("Resource", [])) and not unscopable:
            problems.append(f"Resource '*' in {statement}")
    return problems


SECRET_LOOKING = re.compile(
    r"://|(?:sk|rk|pk)_(?:live|test)_|whsec_|AKIA[0-9A-Z]{16}|-----BEGIN|password|passwd",
    re.IGNORECASE,
)
PLAIN_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_.-]{0,39}|[0-9]{1,9})$")  # or a number
ALLOWED_INTRINSICS = {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::ImportValue", "Fn::If"}


def suspicious_env_values(variables: dict[str, Any]) -> list[str]:
    """Environment values that are neither a reference nor a short plain name or number."""
    problems: list[str] = []
    for name, value in variables.items():
        if isinstance(value, dict):
            if set(value) - ALLOWED_INTRINSICS or SECRET_LOOKING.search(str(value)):
                problems.append(f"{name}: {value!r}")
        elif not isinstance(value, str) or not PLAIN_NAME.match(value):
            problems.append(f"{name}: {value!r} is not a Ref or a plain name")
        elif SECRET_LOOKING.search(value) or name.endswith(("_SECRET", "_KEY", "_TOKEN")):
            problems.append(f"{name}: a literal where only a reference to a secret belongs")
    return problems


def test_the_template_declares_functions() -> None:
    assert SPECS, "template.yaml has no AWS::Serverless::Function"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.logical_id)
def test_every_handler_resolves_to_a_callable(spec: FunctionSpec) -> None:
    assert callable(load_handler(spec))


def test_function_folders_and_template_functions_match() -> None:
    folders = {
        p.name for p in FUNCTIONS_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
    }
    in_template = {spec.code_uri.name for spec in SPECS}
    assert all(spec.code_uri.parent == FUNCTIONS_DIR for spec in SPECS), SPECS
    assert folders - in_template == set(), "function folders missing from template.yaml"
    assert in_template - folders == set(), "template functions without a folder"


def test_globals_pin_runtime_architecture_and_tracing() -> None:
    assert GLOBAL_FUNCTION["Runtime"] == "python3.13"
    assert GLOBAL_FUNCTION["Architectures"] == ["arm64"]
    assert GLOBAL_FUNCTION["Tracing"] == "Active"
    for spec in SPECS:
        props = _props(spec.logical_id)
        assert props.get("Runtime", "python3.13") == "python3.13", spec.logical_id
        assert props.get("Architectures", ["arm64"]) == ["arm64"], spec.logical_id


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.logical_id)
def test_every_function_has_its_own_narrow_role(spec: FunctionSpec) -> None:
    # SAM's generated role always carries AWSLambdaBasicExecutionRole (logs on "*"), so each
    # function names an explicit role of its own; SAM ignores Policies when Role is set.
    props = _props(spec.logical_id)
    assert "Policies" not in props, "Policies are ignored next to an explicit Role"
    role_ref = props.get("Role")
    assert isinstance(role_ref, dict), f"{spec.logical_id} uses SAM's generated role"
    assert "Fn::GetAtt" in role_ref, role_ref
    role_id, attribute = role_ref["Fn::GetAtt"]
    assert attribute == "Arn"
    role = RESOURCES[role_id]
    assert role["Type"] == "AWS::IAM::Role"
    shared_by = [s.logical_id for s in SPECS if _props(s.logical_id).get("Role") == role_ref]
    assert shared_by == [spec.logical_id], "roles are per function"
    role_props = role["Properties"]
    assert wildcard_grants(_policy_names(role_props.get("ManagedPolicyArns", []))) == []
    assert wildcard_grants(role_props.get("Policies", [])) == []


def test_the_wildcard_check_catches_broad_grants() -> None:
    policies = [
        "AmazonS3FullAccess",
        {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}]},
        {"Version": "2012-10-17", "Statement": {"Action": ["sqs:SendMessage"], "Resource": "*"}},
        {"Statement": [{"Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*"}]},
        {
            "Statement": {
                "Action": ["route53:CreateHostedZone", "route53:DeleteHostedZone"],
                "Resource": "*",
            }
        },
    ]
    assert len(wildcard_grants(policies)) == 4


def test_environment_holds_no_secret_values() -> None:
    blocks = {"Globals": GLOBAL_FUNCTION} | {s.logical_id: _props(s.logical_id) for s in SPECS}
    problems = {
        where: suspicious_env_values((props.get("Environment") or {}).get("Variables") or {})
        for where, props in blocks.items()
    }
    assert GLOBAL_FUNCTION["Environment"]["Variables"]["DATABASE_URL_SECRET"] == {
        "Ref": "DatabaseUrlSecretArn"
    }
    assert {where: p for where, p in problems.items() if p} == {}


def test_the_secret_check_catches_literals() -> None:
    variables = {
        "DATABASE_URL": "postgres://app:hunter2@db.example.com/inboxfleet",
        "STRIPE_KEY": "sk_live_abc",
        "DATABASE_URL_SECRET": "inboxfleet-dev-database-url",
        "SERVICE": "inboxfleet",
        "DATABASE_STATEMENT_TIMEOUT_MS": "4000",
        "STAGE": {"Ref": "Environment"},
    }
    assert [p.split(":")[0] for p in suspicious_env_values(variables)] == [
        "DATABASE_URL",
        "STRIPE_KEY",
        "DATABASE_URL_SECRET",
    ]


def test_every_layer_ships_its_requirements() -> None:
    layers = {
        logical_id: REPO_ROOT / resource["Properties"]["ContentUri"]
        for logical_id, resource in RESOURCES.items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    }
    assert layers, "template.yaml has no AWS::Serverless::LayerVersion"
    for logical_id, folder in layers.items():
        assert (folder / "requirements.txt").is_file(), logical_id
        assert RESOURCES[logical_id]["Metadata"]["BuildMethod"] == "python3.13", logical_id


def _load(text: str) -> Any:
    return yaml.load(text, Loader=CloudFormationLoader)


def test_short_tags_become_long_form() -> None:
    assert _load("!GetAtt A.B") == {"Fn::GetAtt": ["A", "B"]}
    assert _load('!Sub "x"') == {"Fn::Sub": "x"}
    assert _load("!GetAtt Db.Endpoint.Address") == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert _load("v: !If [IsProd, !Ref A, !Join ['-', [a, b]]]") == {
        "v": {"Fn::If": ["IsProd", {"Ref": "A"}, {"Fn::Join": ["-", ["a", "b"]]}]}
    }
    assert _load("!Condition IsProd") == {"Condition": "IsProd"}


def test_short_tags_do_not_leak_into_the_plain_safe_loader() -> None:
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load("!Ref A")


def _write_function(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(body, encoding="utf-8")
    return folder


def test_load_handler_rejects_a_missing_attribute(tmp_path: Path) -> None:
    folder = _write_function(tmp_path / "nohandler", "def other(event, context):\n    return 1\n")
    spec = FunctionSpec("NoHandlerFunction", folder, "app.lambda_handler")
    with pytest.raises(TemplateError, match="lambda_handler"):
        load_handler(spec)


def test_load_handler_rejects_a_missing_file_and_a_non_callable(tmp_path: Path) -> None:
    folder = _write_function(tmp_path / "notcallable", "lambda_handler = 42\n")
    with pytest.raises(TemplateError, match="not callable"):
        load_handler(FunctionSpec("NotCallable", folder, "app.lambda_handler"))
    with pytest.raises(TemplateError, match="does not exist"):
        load_handler(FunctionSpec("NoFile", folder, "missing.lambda_handler"))


def test_two_app_modules_load_side_by_side(tmp_path: Path) -> None:
    body = "NAME = {name!r}\n\ndef lambda_handler(event, context):\n    return NAME\n"
    alpha_dir = _write_function(tmp_path / "alpha", body.format(name="a"))
    beta_dir = _write_function(tmp_path / "beta", body.format(name="b"))
    alpha = FunctionSpec("Alpha", alpha_dir, "app.lambda_handler")
    beta = FunctionSpec("Beta", beta_dir, "app.lambda_handler")

    handle_alpha, handle_beta = load_handler(alpha), load_handler(beta)

    assert (handle_alpha({}, None), handle_beta({}, None)) == ("a", "b")
    assert handle_alpha.__module__ != handle_beta.__module__
    assert "app" not in {handle_alpha.__module__, handle_beta.__module__}
    assert sys.modules[handle_alpha.__module__].NAME == "a"
    assert load_handler(alpha) is handle_alpha  # cached per spec


# --- Logs and secrets, for every function --------------------------------------------------


def _role_props(function_id: str) -> dict[str, Any]:
    role_id = _props(function_id)["Role"]["Fn::GetAtt"][0]
    return _props(role_id)


def _role_statements(function_id: str) -> list[dict[str, Any]]:
    return [
        s
        for s in _statements(_role_props(function_id).get("Policies", []))
        if s.get("Effect", "Allow") == "Allow"
    ]


def _actions(statement: dict[str, Any]) -> set[str]:
    return {str(a).lower() for a in _as_list(statement.get("Action", []))}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.logical_id)
def test_every_function_logs_to_its_own_group_named_after_the_stack(spec: FunctionSpec) -> None:
    fn = spec.logical_id
    assert _props(fn)["LoggingConfig"]["LogGroup"] == {"Ref": f"{fn}LogGroup"}
    group = RESOURCES[f"{fn}LogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["LogGroupName"] == {
        "Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{fn}"
    }
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    log_grants = [
        s for s in _role_statements(fn) if any(a.startswith("logs:") for a in _actions(s))
    ]
    assert [s["Resource"] for s in log_grants] == [{"Fn::GetAtt": [f"{fn}LogGroup", "Arn"]}]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.logical_id)
def test_every_secret_a_function_names_is_readable_by_its_role(spec: FunctionSpec) -> None:
    variables = (_props(spec.logical_id).get("Environment") or {}).get("Variables") or {}
    named = {
        leaf["Ref"]
        for name, value in variables.items()
        if name.endswith("_SECRET")
        for leaf in _unwrap_if(value)
        if isinstance(leaf, dict) and leaf != NO_VALUE and "Ref" in leaf
    }
    readable = {
        resource["Ref"]
        for s in _role_statements(spec.logical_id)
        if "secretsmanager:getsecretvalue" in _actions(s)
        for resource in _as_list(s["Resource"])
        if isinstance(resource, dict) and "Ref" in resource
    }
    assert named <= readable, f"{spec.logical_id} cannot read {named - readable}"


# --- Billing: webhook route, FIFO queue, worker, alarms --------------------------------------

WEBHOOK = "StripeWebhookFunction"
WORKER = "BillingEventsFunction"
RECONCILE = "ReconcileFunction"
QUEUE = "BillingEventsQueue"
DLQ = "BillingEventsDeadLetterQueue"


def _events(function_id: str, event_type: str) -> list[dict[str, Any]]:
    events = _props(function_id).get("Events") or {}
    return [e["Properties"] for e in events.values() if e["Type"] == event_type]


def _timeout(function_id: str) -> int:
    return int(_props(function_id).get("Timeout", GLOBAL_FUNCTION["Timeout"]))


def _alarms() -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in RESOURCES.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_the_stripe_webhook_is_post_on_the_http_api_with_payload_2() -> None:
    assert RESOURCES["HttpApi"]["Type"] == "AWS::Serverless::HttpApi"
    routes = _events(WEBHOOK, "HttpApi")
    assert routes == [
        {
            "ApiId": {"Ref": "HttpApi"},
            "Path": "/webhooks/stripe",
            "Method": "POST",
            "PayloadFormatVersion": "2.0",
            "Auth": {"Authorizer": "NONE"},
        }
    ]
    url = TEMPLATE["Outputs"]["StripeWebhookUrl"]["Value"]["Fn::Sub"]
    assert url.startswith("https://${HttpApi}.execute-api.")
    assert url.endswith(routes[0]["Path"])


def test_the_billing_queue_is_fifo_deduplicated_by_event_id() -> None:
    queue = _props(QUEUE)
    assert RESOURCES[QUEUE]["Type"] == "AWS::SQS::Queue"
    assert queue["FifoQueue"] is True
    assert queue["QueueName"]["Fn::Sub"].endswith(".fifo")
    # The webhook deduplicates by Stripe event id; a body hash would be a second, weaker key.
    assert queue["ContentBasedDeduplication"] is False
    assert queue["SqsManagedSseEnabled"] is True
    # Stripe retries for 3 days: the queue keeps events longer than that.
    assert queue["MessageRetentionPeriod"] > 3 * 24 * 3600


def test_the_billing_queue_redrives_to_a_fifo_dead_letter_queue() -> None:
    redrive = _props(QUEUE)["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [DLQ, "Arn"]}
    assert int(redrive["maxReceiveCount"]) > 1, "one transient failure must not dead-letter"
    dlq = _props(DLQ)
    assert dlq["FifoQueue"] is True
    assert dlq["QueueName"]["Fn::Sub"].endswith(".fifo")
    assert dlq["SqsManagedSseEnabled"] is True
    assert dlq["MessageRetentionPeriod"] >= _props(QUEUE)["MessageRetentionPeriod"]


def test_the_dead_letter_queue_accepts_only_the_billing_queue() -> None:
    allow = _props(DLQ)["RedriveAllowPolicy"]
    assert allow["redrivePermission"] == "byQueue"
    # Spelled out from the source queue's name (a GetAtt would be a circular dependency): the
    # spelled-out name must be the queue's real one.
    (source_arn,) = allow["sourceQueueArns"]
    prefix = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
    assert source_arn == {"Fn::Sub": prefix + _props(QUEUE)["QueueName"]["Fn::Sub"]}


def test_the_queue_visibility_timeout_outlasts_the_worker() -> None:
    # AWS's guidance for Lambda event sources: at least 6 x the function timeout.
    assert _props(QUEUE)["VisibilityTimeout"] >= 6 * _timeout(WORKER)


def test_the_worker_consumes_the_fifo_queue_reporting_batch_item_failures() -> None:
    (source,) = _events(WORKER, "SQS")
    assert source["Queue"] == {"Fn::GetAtt": [QUEUE, "Arn"]}
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= source["BatchSize"] <= 10, "FIFO event sources take at most 10 per batch"
    assert "MaximumBatchingWindowInSeconds" not in source, "not supported for FIFO queues"


def _schedule_dead_letter_queues() -> set[str]:
    """The queues function schedules (ScheduleV2) send what they could not deliver to."""
    return {
        event["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        for spec in SPECS
        for event in _events(spec.logical_id, "ScheduleV2")
        if "DeadLetterConfig" in event
    }


def test_every_dead_letter_queue_has_an_alarm() -> None:
    dead_letter_queues = {
        resource["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for resource in RESOURCES.values()
        if resource["Type"] == "AWS::SQS::Queue"
        and "RedrivePolicy" in (resource.get("Properties") or {})
    } | _schedule_dead_letter_queues()
    assert {DLQ, "ReconcileScheduleDeadLetterQueue"} <= dead_letter_queues
    watched = {
        alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in _alarms().values()
        if alarm.get("Namespace") == "AWS/SQS"
        # Messages moved to a DLQ by a redrive are not counted as sent: only visible ones tell.
        and alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        and alarm["Threshold"] <= 1
    }
    assert dead_letter_queues <= watched


def test_the_webhook_errors_and_the_backlog_have_alarms() -> None:
    alarms = _alarms()
    webhook = alarms["StripeWebhookErrorsAlarm"]
    assert (webhook["Namespace"], webhook["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert webhook["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    backlog = alarms["BillingEventsBacklogAlarm"]
    assert backlog["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert backlog["Dimensions"][0]["Value"] == {"Fn::GetAtt": [QUEUE, "QueueName"]}


def test_alarms_notify_the_topic_only_when_one_is_given() -> None:
    assert TEMPLATE["Parameters"]["AlarmTopicArn"]["Default"] == ""
    assert TEMPLATE["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }
    expected = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], NO_VALUE]}
    alarms = _alarms()
    assert alarms
    for logical_id, alarm in alarms.items():
        assert alarm["AlarmActions"] == expected, logical_id
        assert alarm["OKActions"] == expected, logical_id
        assert alarm["TreatMissingData"] == "notBreaching", logical_id


def _sqs_grants(function_id: str) -> list[dict[str, Any]]:
    return [
        s for s in _role_statements(function_id) if any(a.startswith("sqs:") for a in _actions(s))
    ]


def test_only_the_webhook_sends_to_the_billing_queue_and_only_the_worker_parks() -> None:
    queue_arn = {"Fn::GetAtt": [QUEUE, "Arn"]}
    dlq_arn = {"Fn::GetAtt": [DLQ, "Arn"]}
    assert [(_actions(s), s["Resource"]) for s in _sqs_grants(WEBHOOK)] == [
        ({"sqs:sendmessage"}, queue_arn)
    ]
    sends = {
        spec.logical_id: [
            s["Resource"]
            for s in _sqs_grants(spec.logical_id)
            if _actions(s) & {"sqs:sendmessage", "sqs:sendmessagebatch"}
        ]
        for spec in SPECS
    }
    assert {fn: arns for fn, arns in sends.items() if arns} == {
        WEBHOOK: [queue_arn],
        WORKER: [dlq_arn],
    }
    variables = _props(WORKER)["Environment"]["Variables"]
    assert variables["BILLING_DEAD_LETTER_QUEUE_URL"] == {"Ref": DLQ}


def test_the_worker_role_consumes_the_billing_queue_only() -> None:
    consume = [s for s in _sqs_grants(WORKER) if "sqs:sendmessage" not in _actions(s)]
    (grant,) = consume
    assert grant["Resource"] == {"Fn::GetAtt": [QUEUE, "Arn"]}
    assert _actions(grant) == {
        "sqs:receivemessage",
        "sqs:deletemessage",
        "sqs:getqueueattributes",
        "sqs:changemessagevisibility",
    }


def test_the_worker_runs_at_bounded_concurrency() -> None:
    (source,) = _events(WORKER, "SQS")
    assert 2 <= source["ScalingConfig"]["MaximumConcurrency"] <= 50


def test_reminders_are_sent_only_through_the_identity_and_from_the_sender() -> None:
    identity_arn = {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/"
        "${BillingSenderIdentity}"
    }
    ses = {
        spec.logical_id: [
            s
            for s in _role_statements(spec.logical_id)
            if any(a.startswith("ses:") for a in _actions(s))
        ]
        for spec in SPECS
    }
    # Reconcile sends the reminders of billing's own schedule, exactly as the worker does.
    assert {fn for fn, grants in ses.items() if grants} == {WORKER, RECONCILE}
    for fn in (WORKER, RECONCILE):
        (grant,) = ses[fn]
        assert _actions(grant) == {"ses:sendemail"}, fn
        assert grant["Resource"] == identity_arn, fn
        assert grant["Condition"] == {
            "StringEquals": {"ses:FromAddress": {"Ref": "BillingReminderSender"}}
        }, fn
        variables = _props(fn)["Environment"]["Variables"]
        assert variables["BILLING_REMINDER_SENDER"] == {"Ref": "BillingReminderSender"}, fn


# --- samconfig.toml ----------------------------------------------------------------------------


def _deploy_overrides() -> dict[str, dict[str, str]]:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    found: dict[str, dict[str, str]] = {}
    for env, commands in config.items():
        if not isinstance(commands, dict):
            continue
        overrides = commands.get("deploy", {}).get("parameters", {}).get("parameter_overrides")
        if overrides is not None:
            found[env] = dict(item.split("=", 1) for item in shlex.split(overrides))
    return found


PARAMETERS: dict[str, dict[str, Any]] = TEMPLATE["Parameters"]


@pytest.mark.parametrize("env", sorted(_deploy_overrides()))
def test_samconfig_sets_every_required_parameter_validly(env: str) -> None:
    overrides = _deploy_overrides()[env]
    assert set(overrides) <= set(PARAMETERS), "overrides of parameters the template lacks"
    required = {name for name, p in PARAMETERS.items() if "Default" not in p}
    assert required - set(overrides) == set(), f"{env} misses required parameters"
    for name, value in overrides.items():
        parameter = PARAMETERS[name]
        if "AllowedPattern" in parameter:
            assert re.fullmatch(parameter["AllowedPattern"], value), f"{env}: {name}={value}"
        if "AllowedValues" in parameter:
            assert value in [str(v) for v in parameter["AllowedValues"]], f"{env}: {name}"
        if parameter["Type"] == "Number":
            number = float(value)
            assert parameter.get("MinValue", number) <= number <= parameter.get("MaxValue", number)
    sender_domain = overrides["BillingReminderSender"].rpartition("@")[2]
    identity = overrides["BillingSenderIdentity"]
    assert sender_domain == identity or sender_domain.endswith("." + identity), env


def test_the_billing_parameter_patterns() -> None:
    sender = PARAMETERS["BillingReminderSender"]["AllowedPattern"]
    identity = PARAMETERS["BillingSenderIdentity"]["AllowedPattern"]
    secret = PARAMETERS["StripeWebhookSecretsSecretArn"]["AllowedPattern"]
    assert re.fullmatch(sender, "billing+reminders@mail.inboxfleet.example")
    assert not re.fullmatch(sender, "billing")
    assert not re.fullmatch(sender, "Billing <billing@inboxfleet.example>")
    assert re.fullmatch(identity, "mail.inboxfleet.example")
    assert not re.fullmatch(identity, "billing@inboxfleet.example")
    assert not re.fullmatch(identity, "inboxfleet")
    # Only complete ARNs: a partial one would never match the IAM resource.
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:inboxfleet/dev/stripe-whsec"
    assert re.fullmatch(secret, arn + "-AbCdEf")
    assert not re.fullmatch(secret, arn)
    assert PARAMETERS["StripeApiKeySecretArn"]["AllowedPattern"] == secret
    assert PARAMETERS["DatabaseUrlSecretArn"]["AllowedPattern"] == secret


def _inbox_secret_grants() -> list[tuple[str, dict[str, Any]]]:
    """Every role statement granting a use of the inbox secrets key, with its function."""
    return [
        (spec.logical_id, statement)
        for spec in SPECS
        for statement in _role_statements(spec.logical_id)
        if _actions(statement) & {"kms:decrypt", "kms:encrypt", "kms:generatedatakey", "kms:*"}
    ]


def test_inbox_secrets_are_used_only_bound_to_a_tenant_and_an_inbox() -> None:
    """ForAllValues alone is also met by a context with one of the keys, or none: each key must
    be present (Null false) for a ciphertext to be made or read."""
    grants = _inbox_secret_grants()
    assert grants, "no function uses the inbox secrets key"
    for function_id, statement in grants:
        condition = statement.get("Condition", {})
        assert condition.get("ForAllValues:StringEquals", {}).get("kms:EncryptionContextKeys") == [
            "tenant_id",
            "inbox_id",
        ], function_id
        assert condition.get("Null", {}) == {
            "kms:EncryptionContextKeys": "false",
            "kms:EncryptionContext:tenant_id": "false",
            "kms:EncryptionContext:inbox_id": "false",
        }, function_id


# --- the state machines ----------------------------------------------------------------------

MACHINE = "ProvisionInboxStateMachine"
MACHINES = (
    "ProvisionInboxStateMachine",
    "DeprovisionInboxStateMachine",
    "ConvergeMailboxStateMachine",
)
# Which of them each starter may start, and the setting that names it.
STARTS = {
    "TenantApiFunction": {
        "ProvisionInboxStateMachine": "PROVISIONING_STATE_MACHINE_ARN",
        "DeprovisionInboxStateMachine": "DEPROVISIONING_STATE_MACHINE_ARN",
        "ConvergeMailboxStateMachine": "MAILBOX_STATE_MACHINE_ARN",
    },
    "BillingEventsFunction": {
        "ProvisionInboxStateMachine": "PROVISIONING_STATE_MACHINE_ARN",
        "ConvergeMailboxStateMachine": "MAILBOX_STATE_MACHINE_ARN",
    },
    "ReconcileFunction": {
        "ProvisionInboxStateMachine": "PROVISIONING_STATE_MACHINE_ARN",
        "DeprovisionInboxStateMachine": "DEPROVISIONING_STATE_MACHINE_ARN",
        "ConvergeMailboxStateMachine": "MAILBOX_STATE_MACHINE_ARN",
    },
}
# Which functions may read (and stop) which machines' executions: the actions, and the machine
# names (as in the state machines' Name) whose executions they apply to.
EXECUTIONS_PREFIX = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
RUN_GRANTS = {
    # Only the teardown's runs: whether the last one is still under way.
    "TenantApiFunction": [({"states:describeexecution"}, ["deprovision-inbox"])],
    # Runs that went quiet: whether they are under way; only a provisioning run stuck far past
    # its time is stopped (before it is undone).
    "ReconcileFunction": [
        ({"states:describeexecution"}, ["provision-inbox", "deprovision-inbox"]),
        ({"states:stopexecution"}, ["provision-inbox"]),
    ],
}
ASL_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def _machine_statements(machine: str = MACHINE) -> list[dict[str, Any]]:
    role_id = _props(machine)["Role"]["Fn::GetAtt"][0]
    return [s for s in _statements(_props(role_id)["Policies"]) if s.get("Effect") == "Allow"]


@pytest.mark.parametrize("machine", MACHINES)
def test_each_state_machine_is_standard_and_logs_no_execution_data(machine: str) -> None:
    props = _props(machine)
    assert props["Type"] == "STANDARD"
    assert props["Logging"]["IncludeExecutionData"] is False
    assert props["Tracing"]["Enabled"] is True


@pytest.mark.parametrize(
    ("machine", "functions"),
    [
        (
            MACHINE,
            {"InventoryFunction", "HostwindsFunction", "MailuInstallerFunction", "DnsFunction"},
        ),
        (
            "DeprovisionInboxStateMachine",
            {"InventoryFunction", "HostwindsFunction", "MailuInstallerFunction", "DnsFunction"},
        ),
        ("ConvergeMailboxStateMachine", {"InventoryFunction", "MailuInstallerFunction"}),
    ],
)
def test_every_placeholder_of_a_definition_is_substituted_with_a_step_function(
    machine: str, functions: set[str]
) -> None:
    props = _props(machine)
    text = (REPO_ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")
    used = set(ASL_PLACEHOLDER.findall(text))
    substitutions = props["DefinitionSubstitutions"]
    assert used == set(substitutions)
    assert {v["Fn::GetAtt"][0] for v in substitutions.values()} == functions


@pytest.mark.parametrize("machine", MACHINES)
def test_each_state_machine_invokes_only_its_own_functions(machine: str) -> None:
    invoking = [s for s in _machine_statements(machine) if "lambda:invokefunction" in _actions(s)]
    (statement,) = invoking
    assert _actions(statement) == {"lambda:invokefunction"}
    targets = {r["Fn::GetAtt"][0] for r in _as_list(statement["Resource"])}
    assert targets == {
        v["Fn::GetAtt"][0] for v in _props(machine)["DefinitionSubstitutions"].values()
    }
    others = [s for s in _machine_statements(machine) if s is not statement]
    assert all(not any(a.startswith("lambda:") for a in _actions(s)) for s in others)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.logical_id)
def test_only_the_starters_may_start_the_state_machines_and_nothing_else(
    spec: FunctionSpec,
) -> None:
    starting = [
        s for s in _role_statements(spec.logical_id) if "states:startexecution" in _actions(s)
    ]
    allowed = STARTS.get(spec.logical_id)
    if allowed:
        (statement,) = starting
        assert _actions(statement) == {"states:startexecution"}
        assert _as_list(statement["Resource"]) == [{"Ref": m} for m in allowed]
        variables = _props(spec.logical_id)["Environment"]["Variables"]
        for machine, setting in allowed.items():
            assert variables[setting] == {"Ref": machine}
    else:
        assert starting == []
    run_actions = {"states:describeexecution", "states:stopexecution"}
    reading = [s for s in _role_statements(spec.logical_id) if _actions(s) & run_actions]
    if spec.logical_id in RUN_GRANTS:
        grants = RUN_GRANTS[spec.logical_id]
        assert len(reading) == len(grants)
        for statement, (actions, machines) in zip(reading, grants, strict=True):
            assert _actions(statement) == actions
            assert _as_list(statement["Resource"]) == [
                {"Fn::Sub": f"{EXECUTIONS_PREFIX}inboxfleet-${{Environment}}-{machine}:*"}
                for machine in machines
            ]
    else:
        assert reading == []
    assert not any(
        a.startswith("states:") and a not in {"states:startexecution", *run_actions}
        for s in _role_statements(spec.logical_id)
        for a in _actions(s)
    )


def test_the_run_grants_name_the_state_machines_real_names() -> None:
    names = {_props(m)["Name"]["Fn::Sub"] for m in MACHINES}
    for grants in RUN_GRANTS.values():
        for actions, machines in grants:
            assert actions
            assert {f"inboxfleet-${{Environment}}-{machine}" for machine in machines} <= names


def test_failed_executions_of_every_machine_go_to_an_alarmed_queue_only_the_rule_may_fill() -> None:
    rule = _props("FailedExecutionsRule")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert set(pattern["detail"]["status"]) == {"FAILED", "TIMED_OUT", "ABORTED"}
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": m} for m in MACHINES]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["FailedExecutionsQueue", "Arn"]}
    (statement,) = _props("FailedExecutionsQueuePolicy")["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["FailedExecutionsRule", "Arn"]}}
    }
    alarm = _props("FailedExecutionsAlarm")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedExecutionsQueue", "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


# --- reconcile: schedule, role, alarms --------------------------------------------------------

RECONCILE_DLQ = "ReconcileScheduleDeadLetterQueue"


def _reconcile_schedule() -> dict[str, Any]:
    events = _props(RECONCILE)["Events"]
    assert list(events) == ["ReconcileSchedule"]
    assert events["ReconcileSchedule"]["Type"] == "ScheduleV2"
    props: dict[str, Any] = events["ReconcileSchedule"]["Properties"]
    return props


def test_reconcile_runs_on_a_schedule_at_the_configured_rate() -> None:
    schedule = _reconcile_schedule()
    assert schedule["Name"] == {"Fn::Sub": "inboxfleet-${Environment}-reconcile"}
    assert schedule["ScheduleExpression"] == {"Fn::Sub": "rate(${ReconcileRateMinutes} minutes)"}
    rate = PARAMETERS["ReconcileRateMinutes"]
    assert (rate["Type"], rate["Default"], rate["MinValue"], rate["MaxValue"]) == (
        "Number",
        15,
        5,
        60,
    )
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}


def test_the_schedule_runs_a_real_pass_with_a_json_input() -> None:
    raw = _reconcile_schedule()["Input"]
    assert isinstance(raw, str), "Scheduler's Input is a JSON string"
    assert json.loads(raw) == {"dry_run": False}


def test_a_scheduled_pass_is_never_retried() -> None:
    # The next pass is the retry (a lease keeps two from overlapping): neither Scheduler nor
    # Lambda's asynchronous invocation retries a pass.
    assert _reconcile_schedule()["RetryPolicy"]["MaximumRetryAttempts"] == 0
    assert _props(RECONCILE)["EventInvokeConfig"]["MaximumRetryAttempts"] == 0


def test_undelivered_passes_go_to_an_alarmed_queue_only_the_schedule_may_fill() -> None:
    assert _reconcile_schedule()["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": [RECONCILE_DLQ, "Arn"]}
    }
    queue = _props(RECONCILE_DLQ)
    assert RESOURCES[RECONCILE_DLQ]["Type"] == "AWS::SQS::Queue"
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 1209600
    policies = [
        props
        for resource in RESOURCES.values()
        if resource["Type"] == "AWS::SQS::QueuePolicy"
        for props in [resource["Properties"]]
        if {"Ref": RECONCILE_DLQ} in props["Queues"]
    ]
    (policy,) = policies
    assert policy["Queues"] == [{"Ref": RECONCILE_DLQ}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": [RECONCILE_DLQ, "Arn"]}
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    source_arn = statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    schedule_name = _reconcile_schedule()["Name"]["Fn::Sub"]
    assert source_arn.endswith(f":schedule/default/{schedule_name}")
    (alarm,) = [
        alarm
        for alarm in _alarms().values()
        if alarm.get("Dimensions")
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [RECONCILE_DLQ, "QueueName"]}}]
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_reconcile_is_the_only_scheduled_function() -> None:
    scheduled = {spec.logical_id for spec in SPECS if _events(spec.logical_id, "ScheduleV2")}
    assert scheduled == {RECONCILE}
    assert _schedule_dead_letter_queues() == {RECONCILE_DLQ}


def test_reconcile_is_configured_from_the_template_parameters() -> None:
    props = _props(RECONCILE)
    assert (props["Timeout"], props["MemorySize"]) == (900, 1024)
    variables = props["Environment"]["Variables"]
    expected = {
        "RECONCILE_TERMINATE_CAP": "ReconcileTerminateCap",
        "HOSTWINDS_API_KEY_EXPIRES_ON": "HostwindsApiKeyExpiresOn",
        "HOSTWINDS_KEY_EXPIRY_WARNING_DAYS": "HostwindsKeyExpiryWarningDays",
        "HOSTWINDS_API_KEY_SECRET": "HostwindsApiKeySecretArn",
        "STRIPE_API_KEY_SECRET": "StripeApiKeySecretArn",
        "BILLING_REMINDER_SENDER": "BillingReminderSender",
        "BILLING_RETENTION_DAYS": "BillingRetentionDays",
    }
    assert {name: variables[name] for name in expected} == {
        name: {"Ref": parameter} for name, parameter in expected.items()
    }
    # Billing's worker settings except its queues: reconcile neither consumes nor parks.
    worker = _props(WORKER)["Environment"]["Variables"]
    assert {n for n in worker if "QUEUE" not in n} <= set(variables)
    assert not any("QUEUE" in name for name in variables)
    # Where the hostwinds function runs (a NAT on the key's allow-list), reconcile runs too.
    assert props["VpcConfig"] == _props("HostwindsFunction")["VpcConfig"]
    assert (
        _role_props(RECONCILE)["ManagedPolicyArns"]
        == _role_props("HostwindsFunction")["ManagedPolicyArns"]
    )
    assert TEMPLATE["Outputs"]["ReconcileFunctionArn"]["Value"] == {
        "Fn::GetAtt": [RECONCILE, "Arn"]
    }


def test_the_reconcile_parameters() -> None:
    cap = PARAMETERS["ReconcileTerminateCap"]
    assert (cap["Type"], cap["Default"], cap["MinValue"], cap["MaxValue"]) == (
        "Number",
        10,
        0,
        200,
    )
    warning = PARAMETERS["HostwindsKeyExpiryWarningDays"]
    assert (warning["Type"], warning["Default"], warning["MinValue"], warning["MaxValue"]) == (
        "Number",
        14,
        1,
        90,
    )
    expires = PARAMETERS["HostwindsApiKeyExpiresOn"]
    assert (expires["Type"], expires["Default"]) == ("String", "")
    pattern = expires["AllowedPattern"]
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, "2026-03-31")
    assert not re.fullmatch(pattern, "31/03/2026")
    assert not re.fullmatch(pattern, "2026-03-31T00:00:00Z")


def test_the_reconcile_role_reads_only_its_secrets() -> None:
    readable = [
        s["Resource"]
        for s in _role_statements(RECONCILE)
        if "secretsmanager:getsecretvalue" in _actions(s)
    ]
    assert readable == [
        {"Ref": "DatabaseUrlSecretArn"},
        {"Ref": "HostwindsApiKeySecretArn"},
        {"Ref": "StripeApiKeySecretArn"},
        # Only when a DQS key is configured (the re-verification asks Spamhaus with it).
        {"Ref": "SpamhausDqsKeySecretArn"},
    ]
    actions = {a for s in _role_statements(RECONCILE) for a in _actions(s)}
    assert not {a for a in actions if a.startswith(("cloudwatch:", "kms:", "sqs:", "lambda:"))}


# Alarm, namespace, metric, statistic, threshold, periods (length, evaluated, to alarm).
RECONCILE_ALARMS = [
    ("ReconcileRowlessInstancesAlarm", "InboxFleet", "RowlessInstances", "Maximum", 1, 900, 1, 1),
    ("ReconcileTerminationCapAlarm", "InboxFleet", "TerminationCapReached", "Sum", 1, 900, 1, 1),
    ("ReconcileServersLostAlarm", "InboxFleet", "ServersLost", "Sum", 1, 900, 1, 1),
    ("ReconcileLostServersHeldAlarm", "InboxFleet", "LostServersHeld", "Sum", 1, 900, 1, 1),
    # Each of two consecutive 15-minute periods had an incomplete pass.
    ("ReconcileIncompleteAlarm", "InboxFleet", "ReconcileIncomplete", "Sum", 1, 900, 2, 2),
    (
        "HostwindsKeyExpiringAlarm",
        "InboxFleet",
        "HostwindsApiKeyExpiringSoon",
        "Maximum",
        1,
        3600,
        1,
        1,
    ),
    ("ReconcileErrorsAlarm", "AWS/Lambda", "Errors", "Sum", 1, 900, 1, 1),
]


@pytest.mark.parametrize(
    ("alarm_id", "namespace", "metric", "statistic", "threshold", "period", "evaluated", "needed"),
    RECONCILE_ALARMS,
    ids=[row[0] for row in RECONCILE_ALARMS],
)
def test_each_reconcile_alarm_watches_its_metric(
    alarm_id: str,
    namespace: str,
    metric: str,
    statistic: str,
    threshold: int,
    period: int,
    evaluated: int,
    needed: int,
) -> None:
    assert RESOURCES[alarm_id]["Type"] == "AWS::CloudWatch::Alarm"
    alarm = _props(alarm_id)
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        namespace,
        metric,
        statistic,
    )
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        threshold,
    )
    assert (alarm["Period"], alarm["EvaluationPeriods"]) == (period, evaluated)
    assert alarm.get("DatapointsToAlarm", evaluated) == needed
    if namespace == "InboxFleet":
        # Powertools publishes every metric with the service dimension, from the same setting.
        service = GLOBAL_FUNCTION["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        assert alarm["Dimensions"] == [{"Name": "service", "Value": service}]
        assert GLOBAL_FUNCTION["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == (
            namespace
        )
    else:
        assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": RECONCILE}}]
