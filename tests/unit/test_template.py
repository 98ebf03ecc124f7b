"""template.yaml: every function loads, the runtime is what we build for, IAM stays narrow and no
secret value is written into the template. Also the short-tag loader and the handler importer."""

from __future__ import annotations

import re
import sys
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


def _statements(node: Any) -> list[dict[str, Any]]:
    """Every IAM statement under `node`, however deeply SAM policy shapes nest them."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "Statement" in node:
            found.extend(s for s in _as_list(node["Statement"]) if isinstance(s, dict))
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
PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,39}$")
ALLOWED_INTRINSICS = {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::ImportValue", "Fn::If"}


def suspicious_env_values(variables: dict[str, Any]) -> list[str]:
    """Environment values that are neither a reference nor a short plain name."""
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
