"""Progress of long commands: one helper for every CLI command (import, code, evaluate --cv,
discover, report, diagnose).

The library reports progress through a plain callback ``progress(stage, done, total)``
(:data:`Progress`); :func:`progress_bar` turns it into a Rich progress bar with elapsed time and
ETA on **stderr** (stdout stays clean for ``--json`` and pipes). ``quiet=True`` (``--quiet``, or
``SIMAP_QUIET=1``) shows nothing. On a terminal the bar updates live; elsewhere (a log file, a
pipe) the final state of each stage is printed once when the command ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as long work advances."""

QUIET_ENV = "SIMAP_QUIET"
_state = {"quiet": False}


def no_progress(stage: str, done: int, total: int) -> None:
    """A progress callback that does nothing."""
    return None


def set_quiet(quiet: bool) -> None:
    """Silence (or not) every progress bar of this process (the global ``simap --quiet``)."""
    _state["quiet"] = bool(quiet)


def is_quiet(quiet: bool = False) -> bool:
    return quiet or _state["quiet"] or os.environ.get(QUIET_ENV, "") not in ("", "0", "false")


class _RichCallback:
    """Adapts ``progress(stage, done, total)`` to one Rich task per stage."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.tasks: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=max(total, 1))
        self.bar.update(self.tasks[stage], completed=done, total=max(total, 1))


@contextmanager
def progress_bar(*, quiet: bool = False, console: Any = None) -> Iterator[Progress]:
    """``with progress_bar(quiet=q) as progress: lib_call(..., progress=progress)``."""
    if is_quiet(quiet):
        yield no_progress
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import (
        Progress as RichProgress,
    )

    bar = RichProgress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )
    with bar:
        yield _RichCallback(bar)


@contextmanager
def stage(progress: Progress, name: str, total: int) -> Iterator[Callable[[int], None]]:
    """Report a stage of ``total`` steps: ``with stage(p, "score", 3) as step: ...; step(1)``.
    The stage is shown complete when the block ends without an error."""
    progress(name, 0, total)
    yield lambda done: progress(name, done, total)
    progress(name, total, total)


__all__ = ["QUIET_ENV", "Progress", "is_quiet", "no_progress", "progress_bar", "set_quiet", "stage"]
