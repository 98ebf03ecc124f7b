"""The Docker Compose v2 project on the simulated host: reading the project's files, `up -d`
(create, recreate or keep containers), and the container list `ps` prints.

Nothing is pulled or run. A container is "running" from its start; its health follows the
image's health check: Mailu images (ghcr.io/mailu/*) have one - `starting` until the host's
`healthy_after_s` has passed on the host's clock, then `healthy` (or `unhealthy` under the
NeverHealthy fault) - while other images (redis) have none and report an empty Health, as
Docker does. A service is recreated when its definition or its env files changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from local.vps_sim.sandbox import inside, parse_env_file

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)")
# Wall-clock time the fake clock's zero stands for, in CreatedAt (nothing reads it back).
_EPOCH = datetime(2024, 6, 1, tzinfo=UTC)


class ComposeError(Exception):
    """Compose refused the project: its message on stderr, exit 1."""


@dataclass(frozen=True)
class Published:
    host_ip: str  # "" = every address
    host_port: int
    target: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str
    config_hash: str
    ports: tuple[Published, ...]
    healthcheck: bool


@dataclass(frozen=True)
class Project:
    name: str
    directory: str
    services: tuple[ServiceSpec, ...]
    warnings: str = ""


@dataclass
class Container:
    project: str
    service: ServiceSpec
    started_at: float
    id: str = field(default="")

    @property
    def name(self) -> str:
        return f"{self.project}-{self.service.name}-1"

    def health(self, now: float, healthy_after_s: float, never_healthy: bool) -> str:
        if not self.service.healthcheck:
            return ""
        if now - self.started_at < healthy_after_s:
            return "starting"
        return "unhealthy" if never_healthy else "healthy"


@dataclass
class Stack:
    """Every container on the host, by name."""

    containers: dict[str, Container] = field(default_factory=dict)

    def of_project(self, project: str) -> list[Container]:
        return sorted(
            (c for c in self.containers.values() if c.project == project), key=lambda c: c.name
        )


# ---- reading a project ------------------------------------------------------------------------


def load(root: Path, directory: str, name: str | None, files: list[str]) -> Project:
    """The project as `docker compose --project-directory DIR [-p NAME] [-f FILE]` reads it."""
    paths = files or [_default_file(root, directory)]
    if len(paths) > 1:
        raise ComposeError("several -f files are not simulated")
    path = paths[0] if paths[0].startswith("/") else f"{directory.rstrip('/')}/{paths[0]}"
    local = inside(root, path)
    if not local.is_file():
        raise ComposeError(f"open {path}: no such file or directory")
    variables = parse_env_file(_text(root, f"{directory.rstrip('/')}/.env") or "")
    warnings: list[str] = []
    try:
        document = yaml.safe_load(local.read_text(errors="replace"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ComposeError(f"yaml: {where}{getattr(exc, 'problem', None) or exc}") from None
    document = _interpolate(document, variables, warnings)
    services = document.get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict) or not services:
        raise ComposeError("no service selected")
    specs = tuple(
        _service(root, directory, str(service), body) for service, body in services.items()
    )
    project = name or directory.rstrip("/").rsplit("/", 1)[-1].lower()
    return Project(project, directory, specs, "".join(warnings))


def _default_file(root: Path, directory: str) -> str:
    for candidate in COMPOSE_FILES:
        path = f"{directory.rstrip('/')}/{candidate}"
        if inside(root, path).is_file():
            return path
    raise ComposeError("no configuration file provided: not found")


def _text(root: Path, path: str) -> str | None:
    try:
        return inside(root, path).read_text(errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _interpolate(value: Any, variables: Mapping[str, str], warnings: list[str]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group(1) or match.group(3)
            if name in variables:
                return variables[name]
            if match.group(2) is not None:
                return match.group(2)
            warnings.append(
                f'WARN[0000] The "{name}" variable is not set. Defaulting to a blank string.\n'
            )
            return ""

        return _VARIABLE.sub(replace, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, variables, warnings) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, variables, warnings) for v in value]
    return value


def _service(root: Path, directory: str, name: str, body: Any) -> ServiceSpec:
    if not isinstance(body, dict) or not isinstance(body.get("image"), str):
        raise ComposeError(
            f'service "{name}" has neither an image nor a build context specified: '
            "invalid compose project"
        )
    env_contents = []
    for env_path, required in _env_files(body.get("env_file")):
        path = env_path if env_path.startswith("/") else f"{directory.rstrip('/')}/{env_path}"
        text = _text(root, path)
        if text is None and required:
            raise ComposeError(f"env file {path} not found: stat {path}: no such file or directory")
        env_contents.append(text or "")
    digest = hashlib.sha256(
        json.dumps([body, env_contents], sort_keys=True, default=str).encode()
    ).hexdigest()
    image = body["image"]
    check = body.get("healthcheck")
    if isinstance(check, dict):
        healthcheck = not check.get("disable", False)
    else:
        healthcheck = image.startswith(("ghcr.io/mailu/", "mailu/"))
    return ServiceSpec(name, image, digest, _ports(body.get("ports") or []), healthcheck)


def _env_files(value: Any) -> list[tuple[str, bool]]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    files = []
    for item in items:
        if isinstance(item, dict):
            files.append((str(item.get("path", "")), bool(item.get("required", True))))
        else:
            files.append((str(item), True))
    return files


def _ports(entries: Any) -> tuple[Published, ...]:
    if not isinstance(entries, list):
        raise ComposeError("services.ports must be a list")
    published = []
    for entry in entries:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                published.append(
                    Published(
                        str(entry.get("host_ip", "")),
                        _port_number(entry["published"], "hostPort"),
                        _port_number(entry.get("target"), "containerPort"),
                        str(entry.get("protocol", "tcp")),
                    )
                )
            continue
        spec, _, protocol = str(entry).partition("/")
        parts = spec.rsplit(":", 2)
        if len(parts) >= 2 and parts[-2]:
            host_ip = parts[0] if len(parts) == 3 else ""
            published.append(
                Published(
                    host_ip,
                    _port_number(parts[-2], "hostPort"),
                    _port_number(parts[-1], "containerPort"),
                    protocol or "tcp",
                )
            )
    return tuple(published)


def _port_number(value: Any, what: str) -> int:
    text = str(value)
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ComposeError(f"invalid {what}: {text}")
    return int(text)


# ---- up and ps --------------------------------------------------------------------------------


def up(stack: Stack, project: Project, now: float, *, remove_orphans: bool) -> str:
    """Bring the project's containers to its definition; returns compose's progress (stderr)."""
    lines = [project.warnings.rstrip("\n")] if project.warnings else []
    wanted = {spec.name for spec in project.services}
    orphans = [c for c in stack.of_project(project.name) if c.service.name not in wanted]
    if orphans and remove_orphans:
        for container in orphans:
            del stack.containers[container.name]
            lines.append(f" Container {container.name}  Removed")
    elif orphans:
        names = ", ".join(c.name for c in orphans)
        lines.append(
            f"WARN[0000] Found orphan containers ([{names}]) for this project. If you removed "
            "or renamed this service in your compose file, you can run this command with the "
            "--remove-orphans flag to clean it up."
        )
    for spec in project.services:
        container = Container(project.name, spec, now)
        current = stack.containers.get(container.name)
        if current is not None and current.service == spec:
            lines.append(f" Container {container.name}  Running")
            continue
        container.id = hashlib.sha256(f"{container.name}@{now}".encode()).hexdigest()
        stack.containers[container.name] = container
        verb = "Recreated" if current is not None else "Created"
        lines += [f" Container {container.name}  {verb}", f" Container {container.name}  Started"]
    return "".join(line + "\n" for line in lines)


def ps_json(
    containers: list[Container],
    now: float,
    healthy_after_s: float,
    never_healthy: Callable[[str], bool],
) -> str:
    """`docker compose ps --all --format json`: one JSON object per line (Compose >= 2.21)."""
    lines = []
    for container in containers:
        spec = container.service
        health = container.health(now, healthy_after_s, never_healthy(spec.name))
        uptime = _human_duration(now - container.started_at)
        status = f"Up {uptime}" + (f" (health: {health})" if health == "starting" else "")
        if health in ("healthy", "unhealthy"):
            status = f"Up {uptime} ({health})"
        created = _EPOCH + timedelta(seconds=container.started_at)
        item = {
            "Command": '"/bin/sh -c /start.py"' if spec.healthcheck else '"docker-entrypoint.s…"',
            "CreatedAt": created.strftime("%Y-%m-%d %H:%M:%S +0000 UTC"),
            "ExitCode": 0,
            "Health": health,
            "ID": container.id,
            "Image": spec.image,
            "Labels": f"com.docker.compose.project={container.project},"
            f"com.docker.compose.service={spec.name}",
            "LocalVolumes": "0",
            "Mounts": "",
            "Name": container.name,
            "Names": container.name,
            "Networks": f"{container.project}_default",
            "Ports": ", ".join(_port_text(p) for p in spec.ports),
            "Project": container.project,
            "Publishers": [
                {
                    "URL": p.host_ip or "0.0.0.0",  # noqa: S104 - a label, nothing binds it
                    "TargetPort": p.target,
                    "PublishedPort": p.host_port,
                    "Protocol": p.protocol,
                }
                for p in spec.ports
            ],
            "RunningFor": f"{uptime} ago",
            "Service": spec.name,
            "Size": "0B",
            "State": "running",
            "Status": status,
        }
        lines.append(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
    return "".join(line + "\n" for line in lines)


def ps_table(containers: list[Container], now: float) -> str:
    rows = [("NAME", "IMAGE", "SERVICE", "STATUS")]
    rows += [
        (c.name, c.service.image, c.service.name, f"Up {_human_duration(now - c.started_at)}")
        for c in containers
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in rows
    )


def _port_text(port: Published) -> str:
    return f"{port.host_ip or '0.0.0.0'}:{port.host_port}->{port.target}/{port.protocol}"  # noqa: S104


def _human_duration(seconds: float) -> str:
    """Docker's units.HumanDuration."""
    s = int(max(seconds, 0))
    minutes, hours = s // 60, round(s / 3600)
    steps = (
        (s < 1, "Less than a second"),
        (s == 1, "1 second"),
        (s < 60, f"{s} seconds"),
        (minutes == 1, "About a minute"),
        (minutes < 60, f"{minutes} minutes"),
        (hours == 1, "About an hour"),
        (hours < 48, f"{hours} hours"),
    )
    return next((text for matches, text in steps if matches), f"{hours // 24} days")
