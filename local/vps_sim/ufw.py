"""The firewall state behind the simulated `ufw` (Uncomplicated Firewall, ufw 0.36 on Debian 12).

Every rule added without an address applies to IPv4 and IPv6, so it is stored once and shown
twice, the `(v6)` twin after all IPv4 rules, as ufw lists user.rules then user6.rules. The
table layout is ufw's own: `"%-26s %-12s%s"` for To, Action and From.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PORT = re.compile(r"(\d{1,5})(?::(\d{1,5}))?(?:/(tcp|udp))?")
ACTIONS = ("allow", "deny", "reject", "limit")
POLICIES = ("allow", "deny", "reject")
DIRECTIONS = {"incoming": "incoming", "in": "incoming", "outgoing": "outgoing", "out": "outgoing"}


class UfwError(Exception):
    """A ufw usage error: `ERROR: <message>` on stderr, exit 1."""


@dataclass(frozen=True)
class Rule:
    action: str  # allow, deny, reject, limit
    port: str  # 22, 6000:6007
    proto: str | None  # tcp, udp, None (both)

    @property
    def to(self) -> str:
        return f"{self.port}/{self.proto}" if self.proto else self.port


def parse_port(spec: str) -> tuple[str, str | None]:
    match = _PORT.fullmatch(spec)
    if match is None:
        raise UfwError("Bad port")
    first, last, proto = match.groups()
    ports = [int(first)] + ([int(last)] if last else [])
    if not all(1 <= p <= 65535 for p in ports) or (last and int(last) <= int(first)):
        raise UfwError("Bad port")
    if last and proto is None:
        raise UfwError("Must specify 'tcp' or 'udp' with multiple ports")
    port = f"{first}:{last}" if last else first
    return port, proto


@dataclass
class Firewall:
    enabled: bool = False
    incoming: str = "deny"
    outgoing: str = "allow"
    routed: str = "disabled"
    rules: list[Rule] = field(default_factory=list)

    def set_default(self, policy: str, direction: str) -> str:
        if policy not in POLICIES or direction not in DIRECTIONS:
            raise UfwError("Invalid syntax")
        name = DIRECTIONS[direction]
        setattr(self, name, policy)
        return (
            f"Default {name} policy changed to '{policy}'\n"
            "(be sure to update your rules accordingly)\n"
        )

    def add(self, action: str, spec: str) -> str:
        port, proto = parse_port(spec)
        rule = Rule(action, port, proto)
        if rule in self.rules:
            return "Skipping adding existing rule\nSkipping adding existing rule (v6)\n"
        for index, existing in enumerate(self.rules):
            if (existing.port, existing.proto) == (port, proto):
                self.rules[index] = rule
                return "Rule updated\nRule updated (v6)\n"
        self.rules.append(rule)
        return "Rules updated\nRules updated (v6)\n"

    def delete(self, action: str, spec: str) -> str:
        port, proto = parse_port(spec)
        rule = Rule(action, port, proto)
        if rule not in self.rules:
            return "Could not delete non-existent rule\nCould not delete non-existent rule (v6)\n"
        self.rules.remove(rule)
        return "Rule deleted\nRule deleted (v6)\n"

    def status(self, *, verbose: bool) -> str:
        if not self.enabled:
            return "Status: inactive\n"
        lines = ["Status: active"]
        if verbose:
            lines += [
                "Logging: on (low)",
                f"Default: {self.incoming} (incoming), {self.outgoing} (outgoing), "
                f"{self.routed} (routed)",
                "New profiles: skip",
            ]
        if not self.rules:
            return "\n".join(lines) + "\n"
        lines += ["", _row("To", "Action", "From"), _row("--", "------", "----")]
        for v6 in (False, True):
            for rule in self.rules:
                action = rule.action.upper() + (" IN" if verbose else "")
                suffix = " (v6)" if v6 else ""
                lines.append(_row(rule.to + suffix, action, "Anywhere" + suffix))
        return "\n".join(lines) + "\n\n"


def _row(to: str, action: str, source: str) -> str:
    return f"{to:<26} {action:<12}{source}"
