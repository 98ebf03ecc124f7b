"""The simulated host's command table: one entry per real tool the installer runs.

A command line is read like `bash -c` would (see shell.py): `&&`-joined commands run in order and
the first non-zero exit stops the chain. Each command's argv[0] is looked up here; a tool that is
not installed (ufw, docker before apt-get installs them) or not in the table answers
`bash: <name>: command not found`, exit 127, as bash does. A tool in the table that is called in
a way the simulator does not model answers `<tool>: invocation not simulated: <args>`, exit 2,
so a new installer command fails loudly instead of passing by accident.

Nothing here executes anything on the real machine: every entry changes the host's model
(state.Machine) and files inside its sandbox folder only.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from local.vps_sim import apt, compose, shell, sshd_config
from local.vps_sim.sandbox import inside
from local.vps_sim.state import Machine, Unit
from local.vps_sim.ufw import ACTIONS, Firewall, UfwError

DEFAULT_ENV = {
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "LOGNAME": "root",
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "PWD": "/root",
    "SHELL": "/bin/bash",
    "USER": "root",
}
CWD = "/root"
DOCKER_GPG_URL = "https://download.docker.com/linux/debian/gpg"
SIMULATED_DOCKER_KEY = (
    f"{apt.PGP_ARMOR}\n\n"
    "c2ltdWxhdGVkIERvY2tlciByZWxlYXNlIGtleSAoaW5ib3hmbGVldCBsb2NhbCBob3N0KQ==\n"
    "=sim0\n-----END PGP PUBLIC KEY BLOCK-----\n"
)
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
_UNIT = re.compile(r"[A-Za-z0-9:_.\\@-]+")
_SYMBOLIC = re.compile(r"([ugoa]*)([-+=])([rwxXst]*)")


@dataclass(frozen=True)
class Result:
    exit_status: int
    stdout: str = ""
    stderr: str = ""
    signal: str | None = None  # killed by it: reported as exit-signal, without an exit status


Entry = Callable[[Machine, list[str], dict[str, str]], Result]


@dataclass(frozen=True)
class Tool:
    name: str
    path: str  # where Debian 12 installs it (what `command -v` prints)
    run: Entry
    package: str | None = None  # present only once this package is installed
    builtin: bool = False  # a bash builtin: not an executable `env` or systemd could start


def run_line(machine: Machine, line: str) -> Result:
    """Answer one exec request's command line."""
    try:
        segments = shell.parse(line)
    except shell.Refused as refused:
        return Result(refused.exit_status, "", refused.stderr)
    stdout: list[str] = []
    stderr: list[str] = []
    status = 0
    with machine.lock:
        for i, argv in enumerate(segments):
            machine.tick()
            result = run_argv(machine, argv, dict(DEFAULT_ENV))
            stdout.append(result.stdout)
            stderr.append(result.stderr)
            status = result.exit_status
            if result.signal is not None:
                if i == len(segments) - 1:
                    # bash execs the last command of a line (a lone one too): its death by
                    # the signal is how the whole line ends.
                    return Result(status, "".join(stdout), "".join(stderr), signal=result.signal)
                killed = signal.Signals[f"SIG{result.signal}"]
                stderr.append(f"bash: line 1: {killed.name.removeprefix('SIG')}: {argv[0]}\n")
                status = 128 + killed.value
            if status != 0:
                break
    return Result(status, "".join(stdout), "".join(stderr))


def run_argv(machine: Machine, argv: list[str], env: dict[str, str]) -> Result:
    """One simple command (after bash's own `NAME=value` prefixes)."""
    while argv and _ASSIGNMENT.fullmatch(argv[0]):
        name, _, value = argv[0].partition("=")
        env[name] = value
        argv = argv[1:]
    if not argv:
        return Result(0)
    tool = lookup(machine, argv[0])
    if tool is None:
        message = "No such file or directory" if "/" in argv[0] else "command not found"
        return Result(127, "", f"bash: {argv[0]}: {message}\n")
    fault = machine.faults.take_failure(tool.name)
    if fault is not None:
        return Result(fault.exit_status, "", fault.stderr, signal=fault.signal)
    return tool.run(machine, argv[1:], env)


def lookup(machine: Machine, name: str) -> Tool | None:
    """The tool `name` starts on this host now (an absolute path must be the tool's own)."""
    tool = TABLE.get(os.path.basename(name))
    if tool is None or ("/" in name and name != tool.path):
        return None
    if tool.package is not None and tool.package not in machine.packages:
        return None
    return tool


def _unsupported(tool: str, args: list[str]) -> Result:
    return Result(2, "", f"{tool}: invocation not simulated: {shlex.join(args)[:200]}\n")


# ---- shell builtins and coreutils ---------------------------------------------------------


def command_builtin(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """bash builtin `command -v NAME...` (print each NAME's path; exit 1, silent, if one is
    missing) and `command NAME [ARG]...` (run NAME)."""
    if args[:1] != ["-v"]:
        return run_argv(machine, args, env) if args else Result(0)
    found = [lookup(machine, name) for name in args[1:]]
    stdout = "".join(
        (tool.name if tool.builtin else tool.path) + "\n" for tool in found if tool is not None
    )
    return Result(0 if found and None not in found else 1, stdout)


def env_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """coreutils `env [-i] [-u NAME]... [NAME=VALUE]... [COMMAND [ARG]...]`: run COMMAND (an
    executable, not a shell builtin) with the changed environment, or print the environment."""
    index = 0
    while index < len(args) and args[index] in ("-i", "-u"):
        if args[index] == "-i":
            env.clear()
            index += 1
        else:
            env.pop(args[index + 1] if index + 1 < len(args) else "", None)
            index += 2
    while index < len(args) and _ASSIGNMENT.fullmatch(args[index]):
        name, _, value = args[index].partition("=")
        env[name] = value
        index += 1
    rest = args[index:]
    if not rest:
        return Result(0, "".join(f"{k}={v}\n" for k, v in env.items()))
    tool = lookup(machine, rest[0])
    if tool is None or tool.builtin:
        return Result(127, "", f"env: '{rest[0]}': No such file or directory\n")
    return run_argv(machine, rest, env)


def install_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """coreutils `install [-m MODE] -d DIRECTORY...`: create the directories (and missing
    parents, 0755) and give the last component MODE (default 0755)."""
    mode_text, directories, make_dirs = "0755", [], False
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-m", "--mode") and index + 1 < len(args):
            mode_text, index = args[index + 1], index + 2
            continue
        if arg.startswith("--mode="):
            mode_text = arg.partition("=")[2]
        elif arg in ("-d", "--directory"):
            make_dirs = True
        elif arg.startswith("-"):
            return _unsupported("install", args)
        else:
            directories.append(arg)
        index += 1
    mode = _mode(mode_text, 0o755)
    if not make_dirs or not directories:
        return _unsupported("install", args)
    if mode is None:
        return Result(1, "", f"install: invalid mode '{mode_text}'\n")
    for directory in directories:
        local = inside(machine.root, directory, CWD)
        if local.exists() and not local.is_dir():
            return Result(1, "", f"install: cannot create directory '{directory}': File exists\n")
        _make_parents(local.parent)
        local.mkdir(exist_ok=True)
        os.chmod(local, mode)
    return Result(0)


def _make_parents(local: os.PathLike[str] | str) -> None:
    path = os.fspath(local)
    if not os.path.isdir(path):
        _make_parents(os.path.dirname(path))
        os.mkdir(path)
        os.chmod(path, 0o755)  # noqa: S103 - install -d's parents, inside the sandbox


def chmod_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """coreutils `chmod MODE FILE...`: octal (0644) or symbolic (a+r, u=rw,go=) modes."""
    if len(args) < 2 or (args[0].startswith("-") and not _SYMBOLIC.fullmatch(args[0])):
        return _unsupported("chmod", args)
    spec, files = args[0], args[1:]
    errors = []
    for name in files:
        local = inside(machine.root, name, CWD)
        if not local.exists():
            errors.append(f"chmod: cannot access '{name}': No such file or directory\n")
            continue
        mode = _mode(spec, os.stat(local).st_mode & 0o7777)
        if mode is None:
            return Result(
                1, "", f"chmod: invalid mode: '{spec}'\nTry 'chmod --help' for more information.\n"
            )
        os.chmod(local, mode)
    return Result(1 if errors else 0, "", "".join(errors))


def _mode(spec: str, current: int) -> int | None:
    """An octal mode, or a symbolic one applied to `current` (None when malformed)."""
    if re.fullmatch(r"[0-7]{1,4}", spec):
        return int(spec, 8)
    mode = current
    for clause in spec.split(","):
        match = _SYMBOLIC.fullmatch(clause)
        if match is None:
            return None
        who, op, perms = match.groups()
        mask = _who_mask(who or "a")
        bits = _perm_bits(perms, mask, mode)
        if op == "+":
            mode |= bits
        elif op == "-":
            mode &= ~bits
        else:
            mode = (mode & ~mask) | bits
    return mode


def _who_mask(who: str) -> int:
    mask = 0
    for char in who:
        mask |= {"u": 0o4700, "g": 0o2070, "o": 0o1007, "a": 0o7777}[char]
    return mask


def _perm_bits(perms: str, mask: int, mode: int) -> int:
    bits = 0
    for letter in perms:
        effective = ("x" if mode & 0o111 else "") if letter == "X" else letter
        bits |= {"r": 0o444, "w": 0o222, "x": 0o111, "s": 0o6000, "t": 0o1000, "": 0}[effective]
    return bits & mask


# ---- OpenSSH and systemd -------------------------------------------------------------------


def sshd_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """OpenSSH `sshd -t`: test mode - read /etc/ssh/sshd_config and its Includes, print what
    is wrong on stderr and exit 255, or exit 0 silently. `sshd -T`: extended test mode - print
    the effective configuration, one lower-case `keyword value` per line (here: the
    authentication settings). Both change nothing."""
    if args not in (["-t"], ["-T"]):
        return _unsupported("sshd", args)
    checked = sshd_config.load(machine.root)
    if checked.policy is None:
        return Result(255, "", checked.errors)
    if args == ["-t"]:
        return Result(0)
    policy = checked.policy
    yes_no = {True: "yes", False: "no"}
    return Result(
        0,
        f"permitrootlogin {policy.permit_root_login}\n"
        f"pubkeyauthentication {yes_no[policy.pubkey_authentication]}\n"
        f"passwordauthentication {yes_no[policy.password_authentication]}\n"
        f"kbdinteractiveauthentication {yes_no[policy.kbd_interactive_authentication]}\n",
    )


def systemctl_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """systemd `systemctl is-active UNIT...` (prints each state; exit 0 if one is active, else
    3) and `systemctl reload|restart UNIT` (ssh: re-read sshd's configuration; docker)."""
    if len(args) >= 2 and args[0] == "is-active":
        states = [_unit_state(machine, _unit_name(name)) for name in args[1:]]
        stdout = "".join(state + "\n" for state in states)
        return Result(0 if "active" in states else 3, stdout)
    if len(args) == 2 and args[0] in ("reload", "restart"):
        return _reload(machine, args[0], _unit_name(args[1]))
    return _unsupported("systemctl", args)


def _unit_name(name: str) -> str:
    return name if "." in name else f"{name}.service"


def _unit_state(machine: Machine, unit: str) -> str:
    if unit in ("ssh.service", "sshd.service"):
        return "active"
    if unit in ("docker.service", "containerd.service"):
        return "active" if "docker-ce" in machine.packages else "inactive"
    if unit == "ufw.service":
        return "active" if "ufw" in machine.packages else "inactive"
    found = machine.units.get(unit)
    return found.state if found is not None else "inactive"


def _reload(machine: Machine, verb: str, unit: str) -> Result:
    if unit in ("ssh.service", "sshd.service"):
        # Debian's ssh.service runs `sshd -t` before reloading or restarting.
        checked = sshd_config.load(machine.root)
        if checked.policy is None:
            machine.log(checked.errors.rstrip("\n"))
            return Result(
                1,
                "",
                "Job for ssh.service failed because the control process exited with error "
                'code.\nSee "systemctl status ssh.service" and "journalctl -xeu ssh.service" '
                "for details.\n",
            )
        machine.sshd = checked.policy
        machine.log(f"ssh.service: {verb}ed OpenBSD Secure Shell server.")
        return Result(0)
    if _unit_state(machine, unit) == "active" and unit != "ufw.service":
        return Result(0)
    return Result(5, "", f"Failed to {verb} {unit}: Unit {unit} not found.\n")


def systemd_run_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """systemd `systemd-run --unit=NAME [--collect] [--quiet] COMMAND [ARG]...`: start COMMAND
    as a transient service and return at once ("Running as unit: NAME.service" on stderr).
    `docker compose ... up -d` runs in the background: the unit is active for the host's
    `pull_s` (pulling images), then creates the containers and exits (inactive once collected).
    Any other command runs to completion at once; its output goes to the journal."""
    unit, collect, quiet, index = "", False, False, 0
    while index < len(args) and args[index].startswith("-"):
        arg = args[index]
        if arg.startswith("--unit="):
            unit = arg.partition("=")[2]
        elif arg in ("--unit", "-u") and index + 1 < len(args):
            unit, index = args[index + 1], index + 1
        elif arg in ("--collect", "-G"):
            collect = True
        elif arg in ("--quiet", "-q"):
            quiet = True
        else:
            return _unsupported("systemd-run", args)
        index += 1
    command = args[index:]
    if not command:
        return Result(1, "", "Command line to execute required.\n")
    name = _unit_name(unit or f"run-u{len(machine.journal) + 1}")
    if not _UNIT.fullmatch(name):
        return Result(1, "", f"Invalid unit name: {unit}\n")
    if name in machine.units:
        return Result(
            1,
            "",
            f"Failed to start transient service unit: Unit {name} was already loaded or has a "
            "fragment file.\n",
        )
    tool = lookup(machine, command[0])
    if tool is None or tool.builtin:
        return Result(1, "", f"Failed to find executable {command[0]}: No such file or directory\n")
    machine.log(f"Started {name} - {shlex.join(command)[:200]}.")
    machine.units[name] = _start_unit(machine, name, command, collect)
    machine.tick()
    return Result(0, "", "" if quiet else f"Running as unit: {name}\n")


def _start_unit(machine: Machine, name: str, command: list[str], collect: bool) -> Unit:
    now = machine.clock()
    fault = machine.faults.take_failure(os.path.basename(command[0]))
    if fault is not None:
        machine.log(fault.stderr.rstrip("\n"))
        return Unit(name, now, collect, lambda _end: fault.exit_status)
    background = _compose_up_in_background(machine, command)
    if background is not None:
        duration, finish = background
        return Unit(name, now + duration, collect, finish)
    result = run_argv(machine, command, dict(DEFAULT_ENV))
    machine.log((result.stdout + result.stderr).rstrip("\n"))
    return Unit(name, now, collect, lambda _end: result.exit_status)


def _compose_up_in_background(
    machine: Machine, command: list[str]
) -> tuple[float, Callable[[float], int]] | None:
    """How long the unit runs and its work, for `docker compose ... up -d` (files read at unit
    start; a refusal ends the unit at once); None for any other command."""
    if command[:2] != ["docker", "compose"] and command[:2] != ["/usr/bin/docker", "compose"]:
        return None
    try:
        options, verb, rest = _compose_options(command[2:])
        if verb != "up" or ("-d" not in rest and "--detach" not in rest):
            return None
        _docker_ready(machine)
        project = _project(machine, options)
    except compose.ComposeError as exc:
        message = str(exc)
        machine.log(message)
        return 0.0, lambda _end: 1
    remove_orphans = "--remove-orphans" in rest

    def finish(end: float) -> int:
        machine.log(compose.up(machine.stack, project, end, remove_orphans=remove_orphans))
        return 0

    return machine.pull_s, finish


# ---- ufw, apt, dpkg ------------------------------------------------------------------------


def ufw_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """ufw (Uncomplicated Firewall 0.36): `ufw status [verbose]`, `ufw default
    allow|deny|reject [incoming|outgoing|routed]`, `ufw allow|deny|reject|limit PORT[/PROTO]`,
    `ufw delete ACTION PORT[/PROTO]`, `ufw [--force] enable`, `ufw disable`,
    `ufw --force reset` (back to the installed defaults: inactive, no rules)."""
    firewall = machine.firewall
    try:
        match args:
            case ["status"] | ["status", "verbose"]:
                result = Result(0, firewall.status(verbose=len(args) == 2))
            case ["default", policy] | ["default", policy, _]:
                direction = args[2] if len(args) == 3 else "incoming"
                result = Result(0, firewall.set_default(policy, direction))
            case [action, spec] if action in ACTIONS:
                result = Result(0, firewall.add(action, spec))
            case ["delete", action, spec] if action in ACTIONS:
                result = Result(0, firewall.delete(action, spec))
            case ["--force", "reset"]:
                machine.firewall = Firewall()
                result = Result(0, "Resetting all rules to installed defaults.\n")
            case ["--force", "enable"] | ["enable", "--force"]:
                firewall.enabled = True
                result = Result(0, "Firewall is active and enabled on system startup\n")
            case ["enable"]:
                # No terminal to answer the question: ufw reads EOF and gives up.
                result = Result(1, UFW_ENABLE_PROMPT + "Aborted\n")
            case ["disable"]:
                firewall.enabled = False
                result = Result(0, "Firewall stopped and disabled on system startup\n")
            case _:
                raise UfwError("Invalid syntax")
    except UfwError as exc:
        result = Result(1, "", f"ERROR: {exc}\n")
    return result


UFW_ENABLE_PROMPT = "Command may disrupt existing ssh connections. Proceed with operation (y|n)? "


def apt_get_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """APT `apt-get [-y] update` and `apt-get [-y] install PACKAGE...` (Debian 12's archive;
    Docker's repository once sources.list.d and its key are in place and `update` ran)."""
    flags = {a for a in args if a.startswith("-")}
    words = [a for a in args if not a.startswith("-")]
    if flags - {"-y", "--yes", "--assume-yes", "-q", "-qq", "--no-install-recommends"}:
        return _unsupported("apt-get", args)
    try:
        if words == ["update"]:
            updated = apt.update(machine.root)
            machine.repositories = updated.repositories
            return Result(0, updated.stdout, updated.stderr)
        if words[:1] == ["install"]:
            return _apt_install(
                machine, words[1:], bool(flags & {"-y", "--yes", "--assume-yes"}), env
            )
    except apt.AptFailure as failure:
        return Result(100, failure.stdout, failure.stderr)
    return _unsupported("apt-get", args)


def _apt_install(machine: Machine, wanted: list[str], yes: bool, env: dict[str, str]) -> Result:
    new, notes = apt.plan_install(wanted, machine.packages, machine.repositories)
    if new and not yes:
        return Result(1, apt.confirmation_abort(new))
    machine.packages.update(new)
    stderr = ""
    if new and env.get("DEBIAN_FRONTEND") != "noninteractive":
        stderr = (
            "debconf: unable to initialize frontend: Dialog\n"
            "debconf: (TERM is not set, so the dialog frontend is not usable.)\n"
            "debconf: falling back to frontend: Readline\n"
        )
    return Result(0, apt.install_report(new, notes), stderr)


def dpkg_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """dpkg `dpkg --print-architecture`: the host's architecture (amd64)."""
    if args == ["--print-architecture"]:
        return Result(0, apt.ARCHITECTURE + "\n")
    return _unsupported("dpkg", args)


# ---- curl --------------------------------------------------------------------------------


def curl_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """curl `curl [-f] [-s] [-S] [-L] URL [-o FILE]`: the simulated network knows one file,
    Docker's apt signing key (a stand-in armored block); other download.docker.com paths
    answer 404, other hosts do not resolve. -o writes into the host's files (mode 0644)."""
    flags: set[str] = set()
    urls: list[str] = []
    output: str | None = None
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-o", "--output") and index + 1 < len(args):
            output, index = args[index + 1], index + 2
            continue
        if arg.startswith("--"):
            flags.add(
                {"--fail": "f", "--silent": "s", "--show-error": "S", "--location": "L"}.get(
                    arg, arg
                )
            )
        elif arg.startswith("-"):
            flags.update(arg[1:])
        else:
            urls.append(arg)
        index += 1
    if flags - set("fsSL") or len(urls) != 1:
        return _unsupported("curl", args)
    show_errors = "s" not in flags or "S" in flags
    return _download(machine, urls[0], output, fail="f" in flags, show_errors=show_errors)


def _download(
    machine: Machine, url: str, output: str | None, *, fail: bool, show_errors: bool
) -> Result:
    def error(code: int, message: str) -> Result:
        return Result(code, "", f"curl: ({code}) {message}\n" if show_errors else "")

    host = urlsplit(url).hostname or ""
    if host != "download.docker.com":
        return error(6, f"Could not resolve host: {host or url}")
    body = SIMULATED_DOCKER_KEY if url == DOCKER_GPG_URL else "<html>404 Not Found</html>\n"
    if body != SIMULATED_DOCKER_KEY and fail:
        return error(22, "The requested URL returned error: 404")
    if output is None:
        return Result(0, body)
    local = inside(machine.root, output, CWD)
    if not local.parent.is_dir():
        return error(23, "Failure writing output to destination")
    existed = local.exists()
    local.write_text(body)
    if not existed:
        os.chmod(local, 0o644)
    return Result(0)


# ---- docker ------------------------------------------------------------------------------


def docker_tool(machine: Machine, args: list[str], env: dict[str, str]) -> Result:
    """Docker CLI with the Compose v2 plugin: `docker compose [--project-directory DIR]
    [-p|--project-name NAME] [-f FILE] ps [--all] [--format json|table]` and
    `docker compose ... up -d [--remove-orphans]` (runs to the end: containers start now)."""
    if args == ["--version"]:
        return Result(0, "Docker version 27.0.3, build 7d4bcd8\n")
    if args[:1] != ["compose"]:
        return _unsupported("docker", args)
    try:
        options, verb, rest = _compose_options(args[1:])
        _docker_ready(machine)
        if verb == "ps":
            return _compose_ps(machine, options, rest)
        if (
            verb == "up"
            and set(rest) <= {"-d", "--detach", "--remove-orphans"}
            and ("-d" in rest or "--detach" in rest)
        ):
            project = _project(machine, options)
            now = machine.clock()
            remove = "--remove-orphans" in rest
            return Result(0, "", compose.up(machine.stack, project, now, remove_orphans=remove))
    except compose.ComposeError as exc:
        return Result(1, "", f"{exc}\n")
    return _unsupported("docker", args)


_COMPOSE_VALUE_OPTIONS = {
    "--project-directory": "directory",
    "-p": "name",
    "--project-name": "name",
    "-f": "file",
    "--file": "file",
}


def _compose_options(args: list[str]) -> tuple[dict[str, str], str, list[str]]:
    options: dict[str, str] = {}
    index = 0
    while index < len(args) and args[index].startswith("-"):
        flag, has_value, value = args[index].partition("=")
        key = _COMPOSE_VALUE_OPTIONS.get(flag)
        if key is None:
            raise compose.ComposeError(f"unknown flag: {flag}")
        if not has_value:
            if index + 1 >= len(args):
                raise compose.ComposeError(f"flag needs an argument: {flag}")
            index += 1
            value = args[index]
        options[key] = value
        index += 1
    if index >= len(args):
        raise compose.ComposeError("docker compose: a command is required")
    return options, args[index], args[index + 1 :]


def _docker_ready(machine: Machine) -> None:
    if "docker-compose-plugin" not in machine.packages:
        raise compose.ComposeError(
            "docker: 'compose' is not a docker command.\nSee 'docker --help'"
        )
    if "docker-ce" not in machine.packages:
        raise compose.ComposeError(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
            "Is the docker daemon running?"
        )


def _project(machine: Machine, options: dict[str, str]) -> compose.Project:
    directory = options.get("directory", CWD)
    if not directory.startswith("/"):
        directory = f"{CWD}/{directory}"
    files = [options["file"]] if "file" in options else []
    return compose.load(machine.root, directory, options.get("name"), files)


def _compose_ps(machine: Machine, options: dict[str, str], rest: list[str]) -> Result:
    fmt, index, show_all = "table", 0, False
    while index < len(rest):
        arg = rest[index]
        if arg in ("-a", "--all"):
            show_all = True
        elif arg == "--format" and index + 1 < len(rest):
            fmt, index = rest[index + 1], index + 1
        elif arg.startswith("--format="):
            fmt = arg.partition("=")[2]
        else:
            return _unsupported("docker", ["compose", "ps", *rest])
        index += 1
    del show_all  # every simulated container is running: --all shows the same list
    # With an explicit project name Compose lists its containers without reading any file.
    name = options.get("name") or _project(machine, options).name
    containers = machine.stack.of_project(name)
    now = machine.clock()
    if fmt == "json":
        return Result(
            0,
            compose.ps_json(containers, now, machine.healthy_after_s, machine.faults.never_healthy),
        )
    if fmt == "table":
        return Result(0, compose.ps_table(containers, now))
    return _unsupported("docker", ["compose", "ps", *rest])


# ---- the table ---------------------------------------------------------------------------

TABLE: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool("command", "command", command_builtin, builtin=True),
        Tool("env", "/usr/bin/env", env_tool),
        Tool("install", "/usr/bin/install", install_tool),
        Tool("chmod", "/usr/bin/chmod", chmod_tool),
        Tool("sshd", "/usr/sbin/sshd", sshd_tool),
        Tool("systemctl", "/usr/bin/systemctl", systemctl_tool),
        Tool("systemd-run", "/usr/bin/systemd-run", systemd_run_tool),
        Tool("ufw", "/usr/sbin/ufw", ufw_tool, package="ufw"),
        Tool("apt-get", "/usr/bin/apt-get", apt_get_tool),
        Tool("dpkg", "/usr/bin/dpkg", dpkg_tool),
        Tool("curl", "/usr/bin/curl", curl_tool, package="curl"),
        Tool("docker", "/usr/bin/docker", docker_tool, package="docker-ce-cli"),
    )
}
