"""How the simulated host reads an exec request's command line (`bash -c LINE` on a real host).

Supported: words with POSIX quoting (single quotes, double quotes, backslashes), and the `&&`
list operator. Anything else a shell would interpret - pipes, `;`, redirections, `$` expansions,
backticks, globs, braces, `~`, comments, a lone `&` - makes the whole line a refusal: nothing in
it runs, and it answers exit 127 with `bash: <metacharacter>: command not found`. The installer
builds every line with `shlex.join`, which quotes all of these, so a real line never hits this.
"""

from __future__ import annotations

# Characters bash gives a meaning when unquoted (`#` and `~` only at a word's start).
METACHARACTERS = frozenset("|;&<>()$`*?[]{}!\n\r")


class Refused(Exception):
    """The line is not run at all: the status and stderr a caller gets instead."""

    def __init__(self, exit_status: int, stderr: str) -> None:
        super().__init__(exit_status, stderr)
        self.exit_status = exit_status
        self.stderr = stderr


def _unexpected_eof(quote: str) -> Refused:
    return Refused(2, f"bash: -c: line 1: unexpected EOF while looking for matching `{quote}'\n")


class _Lexer:
    def __init__(self, line: str) -> None:
        self.line = line
        self.pos = 0
        self.segments: list[list[str]] = [[]]
        self.word: list[str] = []
        self.in_word = False  # '' is a word even though it adds no character

    def run(self) -> list[list[str]]:
        while self.pos < len(self.line):
            self._step(self.line[self.pos])
        self._flush()
        return self._checked()

    def _step(self, char: str) -> None:
        line, pos = self.line, self.pos
        if char in " \t":
            self._flush()
            self.pos += 1
        elif char == "'":
            end = line.find("'", pos + 1)
            if end < 0:
                raise _unexpected_eof("'")
            self._take(line[pos + 1 : end], end + 1)
        elif char == '"':
            self._double_quoted()
        elif char == "\\":
            self._take(line[pos + 1 : pos + 2] or "\\", pos + 2)
        elif line.startswith("&&", pos):
            self._flush()
            self.segments.append([])
            self.pos += 2
        elif char in METACHARACTERS or (char in "#~" and not self.in_word):
            token = "$(" if line.startswith("$(", pos) else char
            raise Refused(127, f"bash: {token}: command not found\n")
        else:
            self._take(char, pos + 1)

    def _double_quoted(self) -> None:
        line = self.line
        pos = self.pos + 1
        text: list[str] = []
        while pos < len(line) and line[pos] != '"':
            char = line[pos]
            if char in "$`":
                raise Refused(127, f"bash: {char}: command not found\n")
            if char == "\\" and pos + 1 < len(line) and line[pos + 1] in '$`"\\\n':
                text.append(line[pos + 1])
                pos += 2
                continue
            text.append(char)
            pos += 1
        if pos >= len(line):
            raise _unexpected_eof('"')
        self._take("".join(text), pos + 1)

    def _take(self, text: str, next_pos: int) -> None:
        self.word.append(text)
        self.in_word = True
        self.pos = next_pos

    def _flush(self) -> None:
        if self.in_word:
            self.segments[-1].append("".join(self.word))
        self.word = []
        self.in_word = False

    def _checked(self) -> list[list[str]]:
        if len(self.segments) == 1 and not self.segments[0]:
            return []  # an empty line does nothing
        if any(not argv for argv in self.segments):
            raise Refused(2, "bash: -c: line 1: syntax error near unexpected token `&&'\n")
        return self.segments


def parse(line: str) -> list[list[str]]:
    """The argv of each `&&`-joined command, in order; raises Refused for anything else."""
    return _Lexer(line).run()
