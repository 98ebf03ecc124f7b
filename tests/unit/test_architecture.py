"""The package's import arrows, read from the source (every import, lazy and TYPE_CHECKING ones
included): no cycles, no service reaching up into its runtime, and each I/O library imported
only by the adapter modules that wrap it (cold start, and one place per library to look)."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from local.template import REPO_ROOT

PACKAGE_ROOT = REPO_ROOT / "layers" / "common"
FUNCTIONS = REPO_ROOT / "functions"

# Library (top-level import name) -> the modules allowed to import it. A prefix ending in "."
# admits a whole subpackage.
ADAPTERS: dict[str, tuple[str, ...]] = {
    "boto3": (
        "inboxfleet.dns.route53",
        "inboxfleet.billing.sqs_queue",
        "inboxfleet.billing.ses_mailer",
        "inboxfleet.kms",
        "inboxfleet.provisioning.step_functions",
    ),
    "httpx": (
        "inboxfleet.hostwinds.client",
        "inboxfleet.mailu.address_book",
        "inboxfleet.dns.name_server_book",
    ),
    "paramiko": ("inboxfleet.mailu.ssh",),
    "dns": ("inboxfleet.dns.verify", "inboxfleet.dns.delegation"),  # dnspython
    "stripe": ("inboxfleet.billing.stripe_api",),
    "psycopg": ("inboxfleet.db.",),
}
ADAPTERS["botocore"] = ADAPTERS["boto3"]

# One subpackage per concern. The data layer and the shared top-level modules sit below every
# concern and never import one; a concern imports another only where it truly uses it.
CONCERNS = (
    "billing",
    "dns",
    "hostwinds",
    "mailu",
    "inventory",
    "api",
    "provisioning",
    "reconcile",
    "admin",
)
# Billing (released inboxes) and the tenant API (requests, retries) hand inboxes to the workflow;
# the tenant API starts checkouts and portal sessions through billing's onboarding service, and
# tells mail clients the host and ports the mail server publishes (mailu.config, pure), and
# manages domains through the dns concern (zones, delegation, the tenant's own records).
# Reconcile compares and repairs across them: Hostwinds' listing, the workflows it (re)starts,
# billing's per-tenant work and the domains it re-verifies. An operator terminates a row-less
# instance reconcile reported through the admin commands.
CONCERN_ARROWS = {
    ("billing", "provisioning"),
    ("api", "provisioning"),
    ("api", "billing"),
    ("api", "mailu"),
    ("api", "dns"),
    ("reconcile", "hostwinds"),
    ("reconcile", "provisioning"),
    ("reconcile", "billing"),
    ("reconcile", "dns"),
    ("admin", "hostwinds"),
}

Graph = Mapping[str, set[str]]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module a source imports, anywhere in it (`from a import b` counts as a.b when
    that is a module; the caller decides by what exists)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def package_sources() -> dict[str, tuple[str, bool]]:
    sources = {
        module_name(p, PACKAGE_ROOT): (p.read_text(), p.name == "__init__.py")
        for p in (PACKAGE_ROOT / "inboxfleet").rglob("*.py")
    }
    for app in FUNCTIONS.glob("*/app.py"):
        sources[f"functions.{app.parent.name}.app"] = (app.read_text(), False)
    return sources


def import_graph(sources: Mapping[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """Edges between our own modules; names that are not modules (imported attributes) drop."""
    ours = set(sources)
    return {
        module: {m for m in imports_of(text, module, is_package) if m in ours and m != module}
        for module, (text, is_package) in sources.items()
    }


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def services_importing_runtimes(graph: Graph) -> list[str]:
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module.endswith(".service")
        for target in targets
        if target.endswith(".runtime")
    )


def misplaced_libraries(
    sources: Mapping[str, tuple[str, bool]], adapters: Mapping[str, Iterable[str]]
) -> list[str]:
    wrong = []
    for module, (text, is_package) in sources.items():
        for imported in imports_of(text, module, is_package):
            library = imported.split(".")[0]
            allowed = tuple(adapters.get(library, ()))
            if library in adapters and not _admitted(module, allowed):
                wrong.append(f"{module} imports {imported}")
    return sorted(set(wrong))


def _layer(module: str) -> str:
    """'billing', 'dns', ... for a concern's module; 'db' for the data layer; 'shared' for
    the package's top-level modules; 'functions' for handlers."""
    parts = module.split(".")
    if parts[0] == "functions":
        return "functions"
    if len(parts) > 1 and parts[1] in (*CONCERNS, "db"):
        return parts[1]
    return "shared"


def arrows_against_the_layers(graph: Graph) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        source = _layer(module)
        for target in targets:
            layer = _layer(target)
            if (
                source == layer
                or source == "functions"
                or (
                    layer in ("shared", "db")
                    and (source in CONCERNS or (source == "db" and layer == "shared"))
                )
            ):
                continue
            if (source, layer) not in CONCERN_ARROWS:
                wrong.append(f"{module} -> {target}")
    return sorted(wrong)


def _admitted(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or (a.endswith(".") and module.startswith(a)) for a in allowed)


# -- the package as it is ----------------------------------------------------------------


def test_the_package_has_no_import_cycles() -> None:
    assert cycles(import_graph(package_sources())) == []


def test_arrows_point_down_the_layers() -> None:
    assert arrows_against_the_layers(import_graph(package_sources())) == []


def test_no_service_imports_a_runtime() -> None:
    assert services_importing_runtimes(import_graph(package_sources())) == []


def test_io_libraries_are_imported_only_by_their_adapters() -> None:
    assert misplaced_libraries(package_sources(), ADAPTERS) == []


def test_every_adapter_named_exists_and_really_imports_its_library() -> None:
    sources = package_sources()
    for library, modules in ADAPTERS.items():
        for module in modules:
            if module.endswith("."):
                assert any(m.startswith(module) for m in sources), module
                continue
            text, is_package = sources[module]
            assert any(
                m.split(".")[0] == library or (library == "botocore" and m.startswith("boto3"))
                for m in imports_of(text, module, is_package)
            ), f"{module} no longer imports {library}: drop it from ADAPTERS"


# -- the checks themselves catch what they are for ----------------------------------------


def _fake(**modules: str) -> dict[str, tuple[str, bool]]:
    return {name.replace("__", "."): (text, False) for name, text in modules.items()}


def test_a_cycle_through_a_lazy_import_is_found() -> None:
    sources = _fake(
        x__dns__service="def run():\n    from x.dns.runtime import deps\n",
        x__dns__runtime="from x.dns.service import handle\n",
        x__dns__records="import x.dns.spf\n",
        x__dns__spf="",
    )
    graph = import_graph(sources)
    assert cycles(graph) == [["x.dns.runtime", "x.dns.service"]]
    assert services_importing_runtimes(graph) == ["x.dns.service -> x.dns.runtime"]


def test_a_type_checking_import_counts_as_an_arrow() -> None:
    sources = _fake(
        x__db__accounts="from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from x.billing.state import Entitlement\n",
        x__billing__state="from x.db.accounts import Accounts\n",
    )
    assert cycles(import_graph(sources)) == [["x.billing.state", "x.db.accounts"]]


def test_arrows_up_or_across_the_layers_are_found() -> None:
    graph = {
        "inboxfleet.db.repositories.accounts": {"inboxfleet.billing.state"},
        "inboxfleet.dns.verify": {"inboxfleet.mailu.dkim", "inboxfleet.dkim"},
        "inboxfleet.records": {"inboxfleet.db.sessions"},
        "inboxfleet.billing.ledger": {"inboxfleet.provisioning.ports", "inboxfleet.db.sessions"},
        "functions.dns.app": {"inboxfleet.dns.runtime"},
    }
    assert arrows_against_the_layers(graph) == [
        "inboxfleet.db.repositories.accounts -> inboxfleet.billing.state",
        "inboxfleet.dns.verify -> inboxfleet.mailu.dkim",
        "inboxfleet.records -> inboxfleet.db.sessions",
    ]


def test_local_and_bench_never_import_tests() -> None:
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for folder in ("local", "bench")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if any(m.split(".")[0] == "tests" for m in imports_of(path.read_text(), "x.y"))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "import boto3\n",
        "def f():\n    from botocore.exceptions import ClientError\n",
        "import dns.asyncresolver\n",
        "from psycopg import sql\n",
    ],
)
def test_a_library_outside_its_adapter_is_found(source: str) -> None:
    sources = _fake(inboxfleet__dns__service=source)
    assert misplaced_libraries(sources, ADAPTERS) != []
    assert (
        misplaced_libraries(_fake(inboxfleet__db__sessions="from psycopg import sql\n"), ADAPTERS)
        == []
    )


# --- Product code imports only what the layer ships -----------------------------------------


def _locked_distributions(lock: Path) -> set[str]:
    names = set()
    for line in lock.read_text().splitlines():
        if line and not line.startswith((" ", "#", "-")) and "==" in line:
            names.add(line.split("==", 1)[0].split("[", 1)[0].strip().lower().replace("_", "-"))
    return names


def shipped_library_misses(sources: Mapping[str, tuple[str, bool]], lock: Path) -> list[str]:
    """Third-party top-level imports of product code whose distribution is not in the lock the
    layer is built from (a dev-only library, e.g. PyJWT or moto, would be missing in Lambda)."""
    import importlib.metadata
    import sys

    shipped = _locked_distributions(lock)
    providers = importlib.metadata.packages_distributions()
    misses = []
    for module, (text, is_package) in sources.items():
        for name in sorted(imports_of(text, module, is_package)):
            top = name.split(".", 1)[0]
            if not top or top in sys.stdlib_module_names or top in {"inboxfleet", "functions"}:
                continue
            distributions = {d.lower().replace("_", "-") for d in providers.get(top, [])}
            if not distributions & shipped:
                misses.append(f"{module}: {top}")
    return sorted(set(misses))


RUNTIME_LOCK = PACKAGE_ROOT / "requirements.txt"


def test_product_code_imports_only_libraries_the_layer_ships() -> None:
    # The tokens are verified by API Gateway: the functions only read the claims it passes.
    assert shipped_library_misses(package_sources(), RUNTIME_LOCK) == []


def test_a_dev_only_import_in_product_code_is_found() -> None:
    sources = _fake(inboxfleet__api__identity="import jwt\nfrom moto import mock_aws\n")
    assert shipped_library_misses(sources, RUNTIME_LOCK) == [
        "inboxfleet.api.identity: jwt",
        "inboxfleet.api.identity: moto",
    ]
