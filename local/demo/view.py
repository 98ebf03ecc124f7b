"""How the demo shows what happens: on a terminal a live table of the runs (rich) redrawn in
place; anywhere else (CI, a pipe, a file) one plain line per change, since a live display written
to a file keeps only its last frame. Both show the same facts and the same final tables."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import IO, TYPE_CHECKING, Protocol

from local.demo.steps import label
from local.demo.watch import RunState

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Row = Sequence[str]
RunsSeen = Callable[[Sequence[RunState]], None]
_INDENT = "  "
REFRESH_PER_S = 8


class View(Protocol):
    def heading(self, text: str) -> None:
        """A new part of the story."""

    def say(self, text: str) -> None:
        """One fact, under the current heading."""

    def watching(self, since: datetime) -> AbstractContextManager[RunsSeen]:
        """For as long as runs are watched: a callable taking each fresh reading (times are
        shown from `since`, when the inboxes were asked for)."""

    def table(self, title: str, columns: Row, rows: Sequence[Row]) -> None: ...


def _status_word(run: RunState) -> str:
    return {
        "PENDING": "starting",
        "RUNNING": "running",
        "SUCCEEDED": "done",
        "FAILED": "failed",
        "ABORTED": "stopped",
        "TIMED_OUT": "timed out",
    }.get(run.status, run.status.lower())


class PlainView:
    """One line per step entered or retried, in time order; a poll loop is one line."""

    def __init__(self, out: IO[str] | None = None) -> None:
        self._out = out or sys.stdout
        self._printed: dict[str, int] = {}  # execution -> steps printed
        self._last: dict[str, tuple[str, ...]] = {}  # execution -> the last two labels printed
        self._ended: set[str] = set()

    def _print(self, line: str = "") -> None:
        print(line, file=self._out, flush=True)

    def heading(self, text: str) -> None:
        self._print()
        self._print(text)

    def say(self, text: str) -> None:
        self._print(f"{_INDENT}{text}")

    @contextmanager
    def watching(self, since: datetime) -> Iterator[RunsSeen]:
        yield lambda runs: self._runs(runs, since)

    def _runs(self, runs: Sequence[RunState], since: datetime) -> None:
        fresh: list[tuple[datetime, str, str]] = []
        for run in runs:
            for step in run.steps[self._printed.get(run.execution, 0) :]:
                if step.retry_of:
                    text = f"{step.state:<18} tried again after {step.retry_of}"
                elif label(step.state) in self._last.get(run.execution, ()):
                    continue  # a poll or wait loop going round: one line is enough
                else:
                    self._last[run.execution] = (
                        *self._last.get(run.execution, ())[-1:],
                        label(step.state),
                    )
                    text = f"{step.state:<18} {label(step.state)}"
                fresh.append((step.at, run.address, text))
            self._printed[run.execution] = len(run.steps)
            if not run.running and run.execution not in self._ended:
                self._ended.add(run.execution)
                end = run.ended_at or (run.steps[-1].at if run.steps else since)
                ended = f"run {_status_word(run)} ({run.status}) after {run.elapsed_s:.1f}s"
                fresh.append((end, run.address, ended))
        # Stable: a run's end sorts after its last step even at the same instant.
        for at, address, text in sorted(fresh, key=lambda f: f[0]):
            seconds = max(0.0, (at - since).total_seconds())
            self.say(f"{seconds:6.1f}s  {address:<34} {text}")

    def table(self, title: str, columns: Row, rows: Sequence[Row]) -> None:
        self._print()
        self._print(title)
        widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]

        def line(cells: Row) -> str:
            return _INDENT + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))

        self._print(line(columns).rstrip())
        self._print(_INDENT + "-" * (sum(widths) + 2 * (len(widths) - 1)))
        for row in rows:
            self._print(line(row).rstrip())


class LiveView:
    """The same story on a terminal: while runs are watched, a table redrawn in place."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console

        self._console = console or Console(highlight=False)

    def heading(self, text: str) -> None:
        self._console.print()
        self._console.print(f"[bold]{text}[/bold]")

    def say(self, text: str) -> None:
        self._console.print(f"{_INDENT}{text}", markup=False)

    @contextmanager
    def watching(self, since: datetime) -> Iterator[RunsSeen]:
        from rich.live import Live

        with Live(
            self._runs_table([]), console=self._console, refresh_per_second=REFRESH_PER_S
        ) as live:
            yield lambda runs: live.update(self._runs_table(runs))

    def _runs_table(self, runs: Sequence[RunState]) -> Table:
        from rich.table import Table

        table = Table(title="provisioning runs (Step Functions)", title_justify="left")
        for column, justify in (
            ("inbox", "left"),
            ("step", "left"),
            ("what it does", "left"),
            ("elapsed", "right"),
            ("retries", "right"),
            ("run", "left"),
        ):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for run in runs:
            colour = {"done": "green", "failed": "red", "running": "cyan"}.get(
                _status_word(run), "yellow"
            )
            table.add_row(
                run.address,
                run.state or "-",
                run.label,
                f"{run.elapsed_s:.1f}s",
                str(run.retries),
                f"[{colour}]{_status_word(run)}[/{colour}]",
            )
        return table

    def table(self, title: str, columns: Row, rows: Sequence[Row]) -> None:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # values, not markup
        self._console.print()
        self._console.print(table)


def choose_view(live: bool | None = None) -> View:
    """The live display on a terminal, plain lines elsewhere (or as `live` says)."""
    if live is None:
        live = sys.stdout.isatty()
    return LiveView() if live else PlainView()
