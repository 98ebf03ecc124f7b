"""The simulated host's filesystem: a real folder playing `/`, seeded like a fresh Debian 12
cloud image at Hostwinds (root password logins on, the platform key in root's authorized_keys).

Every path a command or SFTP names is mapped inside the folder; nothing outside it is touched.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from pathlib import Path

OS_RELEASE = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""

# Debian 12's /etc/ssh/sshd_config (comments trimmed). The provider image adds
# `PermitRootLogin yes` below the Include, so a drop-in can still override it.
SSHD_CONFIG = """\
# This is the sshd server system-wide configuration file.  See
# sshd_config(5) for more information.

Include /etc/ssh/sshd_config.d/*.conf

PermitRootLogin yes
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem\tsftp\t/usr/lib/openssh/sftp-server
"""

CLOUD_INIT_SSHD = "PasswordAuthentication yes\n"

DEBIAN_SOURCES = """\
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""

AUTHORIZED_KEYS = "/root/.ssh/authorized_keys"

# path, mode, content (None: a directory)
_SEED: tuple[tuple[str, int, str | None], ...] = (
    ("/etc", 0o755, None),
    ("/etc/os-release", 0o644, OS_RELEASE),
    ("/etc/ssh", 0o755, None),
    ("/etc/ssh/sshd_config", 0o644, SSHD_CONFIG),
    ("/etc/ssh/sshd_config.d", 0o755, None),
    ("/etc/ssh/sshd_config.d/50-cloud-init.conf", 0o644, CLOUD_INIT_SSHD),
    ("/etc/apt", 0o755, None),
    ("/etc/apt/sources.list.d", 0o755, None),
    ("/etc/apt/sources.list.d/debian.sources", 0o644, DEBIAN_SOURCES),
    ("/root", 0o700, None),
    ("/root/.ssh", 0o700, None),
    ("/tmp", 0o1777, None),  # noqa: S108 - a folder inside the sandbox, not the real /tmp
)


def seed(root: Path, authorized_keys: Sequence[str]) -> None:
    """Create what a fresh server has; existing files are left alone (a reused sandbox keeps
    its state, like a disk across a reboot)."""
    os.chmod(root, 0o755)  # noqa: S103 - `/` of the simulated host, inside the sandbox
    for path, mode, content in _SEED:
        local = inside(root, path)
        if local.exists():
            continue
        if content is None:
            local.mkdir(mode=mode)
        else:
            local.write_text(content)
        os.chmod(local, mode)
    keys = inside(root, AUTHORIZED_KEYS)
    if not keys.exists():
        keys.write_text("".join(key.strip() + "\n" for key in authorized_keys if key.strip()))
        os.chmod(keys, 0o600)


def inside(root: Path, path: str, cwd: str = "/root") -> Path:
    """The local path for `path` as seen on the host (relative paths start at `cwd`).

    `..` cannot climb above the host's `/`: like a chroot, `/../etc` is `/etc`.
    """
    absolute = posixpath.normpath(posixpath.join("/", cwd, path))
    return root.joinpath(absolute.lstrip("/")) if absolute != "/" else root


def read_text(root: Path, path: str) -> str | None:
    local = inside(root, path)
    try:
        return local.read_text(errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def parse_env_file(text: str) -> dict[str, str]:
    """A docker-compose `env_file`: KEY=VALUE lines, `#` comments, one pair of surrounding
    quotes removed (Compose v2 does that too); later lines win."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values
