"""sshd's configuration as OpenSSH reads it: /etc/ssh/sshd_config, `Include` globs expanded in
lexical order where they appear, keywords case-insensitive, and the FIRST value of a keyword
wins. `Match` blocks are conditional and never change the global settings modelled here.

`sshd -t` and `systemctl reload ssh` both go through `load`; the host applies the resulting
policy only on reload (as the real daemon does).
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from local.vps_sim.sandbox import inside

MAIN_CONFIG = "/etc/ssh/sshd_config"
_LINE = re.compile(r"([^\s=]+)\s*=?\s*(.*)")

_YES_NO = frozenset(
    {
        "passwordauthentication",
        "kbdinteractiveauthentication",
        "challengeresponseauthentication",
        "pubkeyauthentication",
        "permitemptypasswords",
        "usepam",
        "x11forwarding",
        "printmotd",
        "strictmodes",
        "tcpkeepalive",
    }
)
_ROOT_LOGIN = frozenset(
    {"yes", "no", "prohibit-password", "without-password", "forced-commands-only"}
)
_KEYWORDS = (
    "AcceptEnv",
    "AddressFamily",
    "AllowAgentForwarding",
    "AllowGroups",
    "AllowStreamLocalForwarding",
    "AllowTcpForwarding",
    "AllowUsers",
    "AuthenticationMethods",
    "AuthorizedKeysCommand",
    "AuthorizedKeysCommandUser",
    "AuthorizedKeysFile",
    "AuthorizedPrincipalsCommand",
    "AuthorizedPrincipalsCommandUser",
    "AuthorizedPrincipalsFile",
    "Banner",
    "CASignatureAlgorithms",
    "ChrootDirectory",
    "Ciphers",
    "ClientAliveCountMax",
    "ClientAliveInterval",
    "Compression",
    "DenyGroups",
    "DenyUsers",
    "DisableForwarding",
    "ExposeAuthInfo",
    "FingerprintHash",
    "ForceCommand",
    "GatewayPorts",
    "GSSAPIAuthentication",
    "GSSAPICleanupCredentials",
    "HostbasedAcceptedAlgorithms",
    "HostbasedAuthentication",
    "HostCertificate",
    "HostKey",
    "HostKeyAlgorithms",
    "IgnoreRhosts",
    "IgnoreUserKnownHosts",
    "Include",
    "IPQoS",
    "KerberosAuthentication",
    "KexAlgorithms",
    "ListenAddress",
    "LoginGraceTime",
    "LogLevel",
    "LogVerbose",
    "MACs",
    "Match",
    "MaxAuthTries",
    "MaxSessions",
    "MaxStartups",
    "ModuliFile",
    "PermitListen",
    "PermitOpen",
    "PermitRootLogin",
    "PermitTTY",
    "PermitTunnel",
    "PermitUserEnvironment",
    "PermitUserRC",
    "PerSourceMaxStartups",
    "PerSourceNetBlockSize",
    "PidFile",
    "Port",
    "PrintLastLog",
    "PubkeyAcceptedAlgorithms",
    "PubkeyAuthOptions",
    "RekeyLimit",
    "RevokedKeys",
    "SecurityKeyProvider",
    "SetEnv",
    "StreamLocalBindMask",
    "StreamLocalBindUnlink",
    "Subsystem",
    "SyslogFacility",
    "TrustedUserCAKeys",
    "UseDNS",
    "VersionAddendum",
    "X11DisplayOffset",
    "X11UseLocalhost",
    "XAuthLocation",
)
_KNOWN = _YES_NO | frozenset(k.lower() for k in _KEYWORDS)


@dataclass(frozen=True)
class SshdPolicy:
    """The authentication settings that decide who may log in (OpenSSH compiled-in defaults)."""

    password_authentication: bool = True
    kbd_interactive_authentication: bool = True
    pubkey_authentication: bool = True
    permit_root_login: str = "prohibit-password"

    def allows(self, method: str, username: str) -> bool:
        """Whether `method` (publickey, password, keyboard-interactive) may log `username` in."""
        enabled = {
            "publickey": self.pubkey_authentication,
            "password": self.password_authentication,
            "keyboard-interactive": self.kbd_interactive_authentication,
        }[method]
        if not enabled:
            return False
        if username != "root":
            return True
        if self.permit_root_login == "yes":
            return True
        # prohibit-password / without-password: keys only; forced-commands-only: keys with a
        # command= option, which the simulator does not model (refused); no: nothing.
        return method == "publickey" and self.permit_root_login in (
            "prohibit-password",
            "without-password",
        )


@dataclass(frozen=True)
class ConfigResult:
    policy: SshdPolicy | None  # None when the configuration is invalid
    errors: str = ""  # what `sshd -t` prints on stderr (exit 255) when invalid


class _Reader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.values: dict[str, str] = {}
        self.errors: list[str] = []
        self.bad_options = 0

    def read(self, path: str) -> None:
        local = inside(self.root, path)
        try:
            text = local.read_text(errors="replace")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            self.errors.append(f"{path}: No such file or directory")
            return
        for number, raw in enumerate(text.splitlines(), start=1):
            words = _words(raw)
            if not words:
                continue
            keyword = words[0].lower()
            if keyword == "match":
                return  # a conditional block runs to the end of this file
            self._line(path, number, keyword, words)

    def _line(self, path: str, number: int, keyword: str, words: list[str]) -> None:
        if keyword not in _KNOWN:
            self.errors.append(f"{path}: line {number}: Bad configuration option: {words[0]}")
            self.bad_options += 1
            return
        if len(words) < 2:
            self.errors.append(f"{path} line {number}: {words[0]} missing argument.")
            return
        if keyword == "include":
            for pattern in words[1:]:
                self._include(pattern)
            return
        value = words[1]
        allowed = _ROOT_LOGIN if keyword == "permitrootlogin" else None
        if keyword in _YES_NO:
            allowed = frozenset({"yes", "no"})
        if allowed is not None and value.lower() not in allowed:
            self.errors.append(f'{path} line {number}: unsupported option "{value}".')
            return
        self.values.setdefault(keyword, value.lower() if allowed else value)

    def _include(self, pattern: str) -> None:
        absolute = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
        root = str(self.root)
        local_pattern = glob.escape(root) + str(inside(self.root, absolute))[len(root) :]
        for match in sorted(glob.glob(local_pattern)):
            self.read(match[len(root) :] or "/")


def _words(raw: str) -> list[str]:
    """`Keyword value...` or `Keyword=value`; a word starting with # ends the line."""
    match = _LINE.fullmatch(raw.strip())
    if match is None or match.group(1).startswith("#"):
        return []
    words = [match.group(1)]
    for word in match.group(2).split():
        if word.startswith("#"):
            break
        words.append(word)
    return words


def load(root: Path) -> ConfigResult:
    reader = _Reader(root)
    reader.read(MAIN_CONFIG)
    if reader.bad_options:
        reader.errors.append(
            f"{MAIN_CONFIG}: terminating, {reader.bad_options} bad configuration options"
        )
    if reader.errors:
        return ConfigResult(None, "".join(line + "\n" for line in reader.errors))
    values = reader.values
    kbd = values.get("kbdinteractiveauthentication", values.get("challengeresponseauthentication"))
    return ConfigResult(
        SshdPolicy(
            password_authentication=values.get("passwordauthentication", "yes") == "yes",
            kbd_interactive_authentication=(kbd or "yes") == "yes",
            pubkey_authentication=values.get("pubkeyauthentication", "yes") == "yes",
            permit_root_login=values.get("permitrootlogin", "prohibit-password"),
        )
    )
