"""Provides :class:`FolderWatcher`: what changed in the run folders since the last look.

The dashboard calls :meth:`FolderWatcher.read` from a worker thread, so reading files never
stalls the screen; the result comes back to the UI as a message and is applied there. Imports
neither torch nor textual.

    >>> from pathlib import Path
    >>> FolderWatcher(Path("no-such-folder")).read(["a-run"]).runs
    []
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitnet.runs.layout import EventReader
from digitnet.runs.listing import LogTail, RunInfo, list_runs


@dataclass
class Snapshot:
    """Every run, newest first, and the events each watched run wrote since the last read."""

    runs: list[RunInfo]
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    console: str | None = None  # the run whose output.log lines these are
    output: list[str] = field(default_factory=list)


class FolderWatcher:
    """Lists the runs under ``root`` and tails the ``events.jsonl`` of the runs being watched.

    One reader per run remembers where it stopped, so each event is returned once; a run
    watched again later (selected, left, selected again) picks up where it stopped.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.readers: dict[str, EventReader] = {}
        self.log: LogTail | None = None

    def forget(self, name: str) -> None:
        """Drop the readers of a run that was renamed or deleted."""
        self.readers.pop(name, None)
        if self.log is not None and self.log.path.parent.name == name:
            self.log = None

    def read(self, watched: list[str], console: str | None = None) -> Snapshot:
        """List the runs; return the new events of ``watched`` and the new output lines of
        ``console`` (from near the end of its ``output.log`` when it was not the last console)."""
        runs = list_runs(self.root)
        present = {run.name for run in runs}
        events = {}
        for name in watched:
            if name in present:
                reader = self.readers.setdefault(
                    name, EventReader(self.root / name / "events.jsonl")
                )
                events[name] = reader.read()
        output = []
        if console is not None:
            path = self.root / console / "output.log"
            if self.log is None or self.log.path != path:
                self.log = LogTail(path)
            output = self.log.read()
        return Snapshot(runs, events, console, output)
