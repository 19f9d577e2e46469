"""Provides :class:`FolderWatcher`: what changed in the run folders since the last look.

The dashboard calls :meth:`FolderWatcher.read` from a worker thread, so reading files never
stalls the screen; the result comes back to the UI as a message and is applied there. Every file
the dashboard shows is read here: the run list, the watched runs' events, the selected run's
output (the error box, the Details and Console tabs) and its first-layer weights (the Weights
tab). Imports neither torch nor textual.

A look costs what changed, not how many runs there are: a run folder is read again only when
its modification time changed (``status.json`` and ``launcher.json`` are replaced by a rename,
which changes it) or while it runs (its process may have died), and the list of folders only
when the checkpoints folder's own time changed. With 2,000 runs a look is 2,000 ``lstat`` calls.

    >>> from pathlib import Path
    >>> FolderWatcher(Path("no-such-folder")).read(["a-run"]).runs
    []
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitnet.runs import study as studies
from digitnet.runs.files import NAMES, RunFolder
from digitnet.runs.layout import EventReader, read_weights
from digitnet.runs.listing import LogTail, RunInfo, is_run, output_tail, read_run
from digitnet.untrusted import is_real_dir

TAIL_LINES = 15  # of output.log, for the Details tab (the error box shows the last 5)


@dataclass
class Snapshot:
    """Every run, newest first, and what the screen shows of the watched ones."""

    runs: list[RunInfo]
    runs_changed: bool = True  # False: the same runs in the same states as the last look
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    console: str | None = None  # the run whose output.log lines these are
    output: list[str] = field(default_factory=list)
    has_log: bool = False  # the console run has an output.log
    tail: tuple[str, list[str], list[str]] | None = None  # (run, last lines, of its last launch)
    weights: tuple[str, Any] | None = None  # (run, its weights.npy array or None if unreadable)
    study: str = ""  # the line of the study the filter names (digitnet.runs.study), or ""
    trials: list = field(default_factory=list)  # that study's trials (digitnet.runs.study.Trial)
    importance: tuple[dict, str] = ({}, "")  # its importance and what it rests on


class FolderWatcher:
    """Lists the runs under ``root`` and tails the ``events.jsonl`` of the runs being watched.

    One reader per run remembers where it stopped, so each event is returned once; a run
    watched again later (selected, left, selected again) picks up where it stopped.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.readers: dict[str, EventReader] = {}
        self.log: LogTail | None = None
        self.folders: list[str] = []  # the checkpoints folder's entries at root_time
        self.root_time: int | None = None
        self.known: dict[str, tuple[int, RunInfo | None]] = {}  # folder -> (its time, its run)
        self.runs: list[RunInfo] = []  # what the last look listed, newest first
        self.files: dict[tuple[str, str], tuple[int, int, Any]] = {}  # (run, file) -> read
        self.busy = threading.Lock()  # one look at a time: the first may run ahead, see below
        self.unshown = False  # a change the first listing found, not yet in a snapshot
        self.first: threading.Thread | None = None

    def start(self) -> None:
        """Begin the first listing now, in a thread of its own, while the dashboard is still
        starting (imports, Textual's first paint): over 2,000 runs it is most of the wait for
        the list. The first :meth:`read` waits for it and then finds every folder read."""

        def first() -> None:
            with self.busy:
                self.unshown = self.list_runs()[1]  # the next read reports the change

        self.first = threading.Thread(target=first, name="first-look", daemon=True)
        self.first.start()

    def wait(self, seconds: float) -> None:
        """Give the first listing up to ``seconds`` to finish, undisturbed: 2,000 runs take a
        quarter of a second alone, and four times as long beside Textual's start."""
        if self.first is not None:
            self.first.join(seconds)

    def forget(self, name: str) -> None:
        """Drop the readers of a run that was renamed or deleted."""
        self.readers.pop(name, None)
        self.known.pop(name, None)
        self.root_time = None  # list the folder again at the next look
        self.files = {key: value for key, value in self.files.items() if key[0] != name}
        if self.log is not None and self.log.path.parent.name == name:
            self.log = None

    def read(
        self,
        watched: list[str],
        console: str | None = None,
        weights: str | None = None,
        study: str | None = None,
    ) -> Snapshot:
        """List the runs; return the new events of ``watched``, the output of the first of them
        (the selected run), the new output lines of ``console`` (from near the end of its
        ``output.log`` when it was not the last console), the weights of ``weights`` and the
        summary line of sweep ``study``."""
        with self.busy:
            return self._read(watched, console, weights, study)

    def _read(
        self, watched: list[str], console: str | None, weights: str | None, study: str | None
    ) -> Snapshot:
        if self.unshown and self.root_time == _mtime(self.root):
            # the first listing, just taken and no folder added or removed since: shown as it
            # is (each of 2,000 lstats would now wait for Textual's thread to let go)
            runs, changed = self.runs, True
        else:
            runs, changed = self.list_runs()
            changed = changed or self.unshown
        self.unshown = False
        by_name = {run.name: run for run in runs}
        events = {}
        for name in watched:
            if name in by_name:
                reader = self.readers.setdefault(
                    name, EventReader(RunFolder(self.root / name).events)
                )
                events[name] = reader.read()
        snapshot = Snapshot(runs, changed, events)
        if watched and watched[0] in by_name:
            info = by_name[watched[0]]
            snapshot.tail = (
                info.name,
                *self.once(info.name, NAMES["output"], lambda: _tails(info)),
            )
        if console is not None:
            path = RunFolder(self.root / console).output
            if self.log is None or self.log.path != path:
                self.log = LogTail(path)
            snapshot.console, snapshot.output = console, self.log.read()
            snapshot.has_log = path.is_file()
        if weights is not None and weights in by_name:
            array = self.once(weights, NAMES["weights"], lambda: read_weights(self.root / weights))
            snapshot.weights = (weights, array)
        if study is not None:
            summary = studies.read(self.root, study)
            snapshot.study, snapshot.trials = studies.line(summary), studies.trials(summary)
            snapshot.importance = studies.importance_of(summary)
        return snapshot

    def once(self, run: str, name: str, read: Any) -> Any:
        """``read()`` of file ``name`` of ``run``, or what it gave when the file had the same
        size and time as now."""
        try:
            stat = os.lstat(self.root / run / name)
            key = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            key = (-1, -1)
        known = self.files.get((run, name))
        if known is not None and known[:2] == key:
            return known[2]
        value = read()
        self.files[(run, name)] = (*key, value)
        return value

    def list_runs(self) -> tuple[list[RunInfo], bool]:
        """Every run, newest first, and whether anything changed since the last look, reading
        only the folders that changed (see the module docstring)."""
        root_time = _mtime(self.root)
        if root_time is None:
            changed = bool(self.runs)
            self.folders, self.root_time, self.known, self.runs = [], None, {}, []
            return [], changed
        changed = root_time != self.root_time
        if changed:
            try:
                self.folders = sorted(os.listdir(self.root))
            except OSError:
                self.folders = []
            self.root_time = root_time
            self.known = {name: self.known[name] for name in self.folders if name in self.known}
        prefix = os.path.join(self.root, "")  # strings, not Path objects: 2,000 of them a second
        for name in self.folders:
            try:
                time = os.lstat(prefix + name).st_mtime_ns
            except OSError:
                continue
            known = self.known.get(name)
            running = known is not None and known[1] is not None and known[1].status == "running"
            if known is not None and known[0] == time and not running:
                continue  # unchanged; a running run is read again: its process may have died
            folder = self.root / name
            info = read_run(folder) if is_real_dir(folder) and is_run(folder) else None
            self.known[name] = (time, info)
            old = known[1] if known is not None else None
            changed = changed or info != old
        if changed:
            found = [info for _, info in self.known.values() if info is not None]
            self.runs = sorted(found, key=lambda r: r.updated, reverse=True)
        return self.runs, changed


def _mtime(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _tails(info: RunInfo) -> tuple[list[str], list[str]]:
    """The last lines of a run's output.log, and the last five of its latest launch's part."""
    return output_tail(info.path, TAIL_LINES), output_tail(info.path, 5, info.log_offset)
