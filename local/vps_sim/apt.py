"""The package world of the simulated host: Debian 12's archive (always indexed, as on the
provider's image) and Docker's apt repository (indexed by `apt-get update` once
/etc/apt/sources.list.d/*.list names it correctly and its signing key is readable by `_apt`).
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path

from local.vps_sim.sandbox import inside

CODENAME = "bookworm"
ARCHITECTURE = "amd64"
DOCKER_URI = "https://download.docker.com/linux/debian"
DOCKER_KEY_ID = "7EA0A9C3F273FCD8"
PGP_ARMOR = "-----BEGIN PGP PUBLIC KEY BLOCK-----"

# package -> (repository, version, dependencies installed with it)
CATALOGUE: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "ufw": ("debian", "0.36.2-1", ()),
    "curl": ("debian", "7.88.1-10+deb12u5", ()),
    "ca-certificates": ("debian", "20230311", ()),
    "openssh-server": ("debian", "1:9.2p1-2+deb12u3", ()),
    "docker-ce": ("docker", "5:27.0.3-1~debian.12~bookworm", ("containerd.io", "docker-ce-cli")),
    "docker-ce-cli": ("docker", "5:27.0.3-1~debian.12~bookworm", ()),
    "containerd.io": ("docker", "1.7.18-1", ()),
    "docker-compose-plugin": ("docker", "2.28.1-1~debian.12~bookworm", ()),
    "docker-buildx-plugin": ("docker", "0.15.1-1~debian.12~bookworm", ()),
}
PREINSTALLED = frozenset({"curl", "ca-certificates", "openssh-server"})
DOCKER_PACKAGES = frozenset(
    {"docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"}
)

_ONE_LINE = re.compile(
    r"deb\s+(?:\[(?P<options>[^\]]*)\]\s+)?(?P<uri>\S+)\s+(?P<suite>\S+)(?P<components>(?:\s+\S+)*)\s*"
)


class AptFailure(Exception):
    """apt printed E: lines and exits 100."""

    def __init__(self, stdout: str, stderr: str) -> None:
        super().__init__(stderr)
        self.stdout = stdout
        self.stderr = stderr


@dataclass(frozen=True)
class Update:
    stdout: str
    stderr: str
    repositories: frozenset[str]


def update(root: Path) -> Update:
    """`apt-get update`: which repositories are indexed afterwards."""
    out = [
        f"Hit:1 http://deb.debian.org/debian {CODENAME} InRelease",
        f"Hit:2 http://deb.debian.org/debian {CODENAME}-updates InRelease",
    ]
    warnings: list[str] = []
    repositories = {"debian"}
    for local in sorted(
        glob.glob(glob.escape(str(inside(root, "/etc/apt/sources.list.d"))) + "/*.list")
    ):
        shown = "/etc/apt/sources.list.d/" + os.path.basename(local)
        text = Path(local).read_text(errors="replace")
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            match = _ONE_LINE.fullmatch(line)
            if match is None or not match.group("components").split():
                raise AptFailure(
                    "\n".join(out) + "\n",
                    f"E: Malformed entry {number} in list file {shown} (Component)\n"
                    "E: The list of sources could not be read.\n",
                )
            if match.group("uri").rstrip("/") == DOCKER_URI:
                _check_docker_entry(root, match, out, warnings)
                repositories.add("docker")
            else:
                warnings.append(f"W: Failed to fetch {match.group('uri')}  Could not resolve host")
    out.append("Reading package lists...")
    return Update(
        "\n".join(out) + "\n", "".join(w + "\n" for w in warnings), frozenset(repositories)
    )


def _check_docker_entry(
    root: Path, match: re.Match[str], out: list[str], warnings: list[str]
) -> None:
    options = dict(
        item.split("=", 1) for item in (match.group("options") or "").split() if "=" in item
    )
    suite = match.group("suite")
    release = f"{DOCKER_URI} {suite}"
    if suite != CODENAME or "stable" not in match.group("components").split():
        raise AptFailure(
            "\n".join(out) + "\n",
            f"E: The repository '{release} Release' does not have a Release file.\n",
        )
    if options.get("arch", ARCHITECTURE) != ARCHITECTURE:
        warnings.append(
            f"N: Skipping acquire of configured file 'stable/binary-{ARCHITECTURE}/Packages' as "
            f"repository '{release} InRelease' doesn't support architecture "
            f"'{ARCHITECTURE}'"
        )
    keyring = options.get("signed-by", "")
    local = inside(root, keyring) if keyring.startswith("/") else None
    readable = local is not None and local.is_file() and os.stat(local).st_mode & 0o004
    signed = (
        readable and local is not None and local.read_text(errors="replace").startswith(PGP_ARMOR)
    )
    if not signed:
        raise AptFailure(
            "\n".join(out) + "\n",
            f"W: GPG error: {release} InRelease: The following signatures couldn't be verified "
            f"because the public key is not available: NO_PUBKEY {DOCKER_KEY_ID}\n"
            f"E: The repository '{release} InRelease' is not signed.\n",
        )
    out.append(f"Get:3 {release} InRelease [43.3 kB]")


def plan_install(
    wanted: list[str], installed: set[str], repositories: frozenset[str]
) -> tuple[list[str], list[str]]:
    """(new packages in install order, notes for ones already installed); raises AptFailure."""
    errors: list[str] = []
    new: list[str] = []
    notes: list[str] = []
    for name in wanted:
        entry = CATALOGUE.get(name)
        if entry is None or entry[0] not in repositories:
            errors += (
                [
                    f"E: Couldn't find any package by glob '{name}'",
                    f"E: Couldn't find any package by regex '{name}'",
                ]
                if "." in name
                else [f"E: Unable to locate package {name}"]
            )
            continue
        if name in installed:
            notes.append(f"{name} is already the newest version ({entry[1]}).")
            continue
        for package in (*entry[2], name):
            if package not in installed and package not in new:
                new.append(package)
    if errors:
        raise AptFailure(_READING, "".join(e + "\n" for e in errors))
    return new, notes


_READING = "Reading package lists...\nBuilding dependency tree...\nReading state information...\n"


def install_report(new: list[str], notes: list[str]) -> str:
    lines = [_READING.rstrip("\n"), *notes]
    if new:
        lines += ["The following NEW packages will be installed:", "  " + " ".join(new)]
    lines.append(f"0 upgraded, {len(new)} newly installed, 0 to remove and 0 not upgraded.")
    lines += [f"Setting up {name} ({CATALOGUE[name][1]}) ..." for name in new]
    return "\n".join(lines) + "\n"


def confirmation_abort(new: list[str]) -> str:
    """What apt-get prints without -y when stdin is not a terminal."""
    return (
        _READING
        + "The following NEW packages will be installed:\n  "
        + " ".join(new)
        + f"\n0 upgraded, {len(new)} newly installed, 0 to remove and 0 not upgraded.\n"
        + "Do you want to continue? [Y/n] Abort.\n"
    )
