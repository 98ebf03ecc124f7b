"""template.yaml for the local cloud and the tests: load it, list its functions, import handlers.

The handlers are found exactly as SAM finds them (CodeUri + Handler). Every function folder
holds an `app.py`, so each is imported under a module name of its own: one process can hold all
of them side by side, as the local cloud does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

Handler = Callable[[dict[str, Any], Any], Any]


class TemplateError(Exception):
    """template.yaml does not say what we need, or a handler it names cannot be loaded."""


# Short tags whose long form is `Fn::<Name>`; !Ref and !Condition are the two exceptions.
_FN_TAGS = (
    "Sub",
    "GetAtt",
    "If",
    "Join",
    "Select",
    "Split",
    "Equals",
    "Not",
    "And",
    "Or",
    "FindInMap",
    "ImportValue",
    "GetAZs",
    "Base64",
    "Cidr",
)


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags into their long (JSON) form."""


def _construct_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(
        None, None, f"unexpected YAML node {type(node).__name__}", node.start_mark
    )


def _long_form(key: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value = _construct_value(loader, node)
        if key == "Fn::GetAtt" and isinstance(value, str):
            # `!GetAtt Db.Endpoint.Address` names resource Db, attribute Endpoint.Address.
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
        return {key: value}

    return construct


CloudFormationLoader.add_constructor("!Ref", _long_form("Ref"))
CloudFormationLoader.add_constructor("!Condition", _long_form("Condition"))
for _name in _FN_TAGS:
    CloudFormationLoader.add_constructor(f"!{_name}", _long_form(f"Fn::{_name}"))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data, short tags in long form (`{"Ref": ...}`, `{"Fn::Sub": ...}`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"no template at {path}") from None
    data = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no top-level mapping)")
    return data


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str


def functions(template: dict[str, Any], root: Path = REPO_ROOT) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function, in template order, CodeUri resolved against `root`."""
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    specs = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        code_uri = props.get("CodeUri", globals_.get("CodeUri"))
        handler = props.get("Handler", globals_.get("Handler"))
        if not isinstance(code_uri, str) or not code_uri:
            raise TemplateError(f"{logical_id}: CodeUri must be a local folder, got {code_uri!r}")
        if not isinstance(handler, str) or not handler:
            raise TemplateError(f"{logical_id}: Handler must be 'module.function', got {handler!r}")
        specs.append(FunctionSpec(logical_id, (root / code_uri).resolve(), handler))
    return specs


_handlers: dict[FunctionSpec, Handler] = {}
_lock = threading.Lock()


def load_handler(spec: FunctionSpec) -> Handler:
    """The callable `spec.handler` names, imported from `spec.code_uri` (once per spec).

    The function folder is not put on sys.path: handlers are thin and import only the shared
    `inboxfleet` package, so several `app` modules never shadow one another.
    """
    with _lock:
        cached = _handlers.get(spec)
        if cached is None:
            cached = _handlers[spec] = _load_handler(spec)
        return cached


def _load_handler(spec: FunctionSpec) -> Handler:
    module_path, _, attr = spec.handler.rpartition(".")
    if not module_path or not attr:
        raise TemplateError(f"{spec.logical_id}: Handler {spec.handler!r} is not 'module.function'")
    module = _import_file(spec, spec.code_uri / (module_path.replace(".", "/") + ".py"))
    handler = getattr(module, attr, None)
    if handler is None:
        raise TemplateError(f"{spec.logical_id}: {module.__file__} has no attribute {attr!r}")
    if not callable(handler):
        raise TemplateError(f"{spec.logical_id}: {module.__file__}:{attr} is not callable")
    return handler  # type: ignore[no-any-return]


def _module_name(file: Path) -> str:
    """`inboxfleet_fn_<folder>_<module>_<hash>`: readable, and unique per file even when two
    folders share a name."""
    stem = re.sub(r"\W", "_", f"{file.parent.name}_{file.stem}")
    digest = hashlib.sha256(str(file).encode()).hexdigest()[:8]
    return f"inboxfleet_fn_{stem}_{digest}"


def _import_file(spec: FunctionSpec, file: Path) -> ModuleType:
    file = file.resolve()
    if not file.is_file():
        raise TemplateError(f"{spec.logical_id}: handler file {file} does not exist")
    name = _module_name(file)
    existing = sys.modules.get(name)
    if existing is not None:  # another function with the same file and a different handler
        return existing
    import_spec = importlib.util.spec_from_file_location(name, file)
    if import_spec is None or import_spec.loader is None:
        raise TemplateError(f"{spec.logical_id}: cannot import {file}")
    module = importlib.util.module_from_spec(import_spec)
    # Registered before running it, as `import` does: pydantic and dataclasses look it up there.
    sys.modules[name] = module
    try:
        import_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
