"""Provides :class:`RunControl`: what the dashboard does to runs, apart from how it asks.

The main screen asks (a key, a form, a yes/no question) and tells (a notification); this class
does: start a run (in the warm spare the New-run form keeps, :class:`~digitnet.runs.process.Spare`)
or a sweep, resume, cancel, rename, delete, keep a note, and say how a sweep started here ended.
Each method raises :class:`~digitnet.errors.DigitnetError` or ``OSError`` with one sentence, which
the screen shows. Each touches files or starts a process: the screen calls them from worker threads,
never its own, so a lock keeps the spare and the list of processes whole between them. Imports
neither torch nor Textual.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from digitnet.runs import process
from digitnet.runs import study as studies
from digitnet.runs.layout import split_note, write_notes
from digitnet.runs.listing import RunInfo, last_error_line
from digitnet.runs.manage import delete_run, rename_run
from digitnet.runs.spec import LaunchSpec


class RunControl:
    """The runs under ``root`` that this dashboard starts and changes; ``processes`` is the app's
    list of the processes it started (reaped as they end, see :meth:`reap`)."""

    def __init__(self, root: Path, processes: list[subprocess.Popen]) -> None:
        self.root, self.processes = Path(root), processes
        self.spare = process.Spare()  # a run's start-up done ahead, while the form is open
        self.sweeps: list[tuple[subprocess.Popen, str]] = []  # sweeps started here, and studies
        self.lock = threading.Lock()  # the spare and the lists, between the screen's workers

    def prepare(self) -> None:
        """The New-run form opened: have a spare ready for its Start."""
        with self.lock:
            self.spare.prepare()

    def close(self) -> None:
        """The dashboard closes: a spare that no run took exits."""
        with self.lock:
            self.spare.close()

    def start(self, spec: LaunchSpec) -> tuple[str, bool]:
        """Start ``spec``: a run, or a sweep where a field holds a range or choices; its name,
        and whether it is a sweep."""
        sweep = spec.is_sweep()
        with self.lock:
            if sweep:
                name, started = process.launch_sweep(spec, self.root)
                self.sweeps.append((started, name))
            else:
                name, started = process.launch(spec, self.root, self.spare)
            self.processes.append(started)
        return name, sweep

    def resume(self, info: RunInfo, max_epochs: int | None) -> None:
        with self.lock:
            self.processes.append(process.resume(info.path, max_epochs, self.spare))

    def cancel(self, info: RunInfo) -> None:
        process.cancel(info.path)

    def rename(self, info: RunInfo, new: str) -> None:
        rename_run(self.root, info.name, new)

    def delete(self, name: str) -> None:
        delete_run(self.root, name)

    def keep_note(self, info: RunInfo, text: str) -> None:
        """``text``'s note and #tags, kept in the run's notes.json."""
        note, tags = split_note(text)
        write_notes(info.path, note, tags)

    def reap(self) -> None:
        with self.lock:
            process.reap(self.processes)

    def ended_sweeps(self) -> list[tuple[str, int]]:
        """The sweeps started here that have ended since the last call, with their exit status."""
        with self.lock:
            ended = [(p, name) for p, name in self.sweeps if p.poll() is not None]
            for entry in ended:
                self.sweeps.remove(entry)
        return [(name, p.returncode) for p, name in ended]

    def sweep_end(self, name: str, returncode: int) -> tuple[str, str]:
        """How sweep ``name`` ended, as a sentence and a severity: done (how many trials
        finished, the best, what mattered) or why it stopped (from ``<study>.sweep.log``)."""
        if returncode == 0:
            summary = studies.line(studies.read(self.root, name))
            return f"sweep done: {summary or name}", "information"
        log = f"{name}.sweep.log"
        line = last_error_line(self.root, log=log) or f"see {log}"
        return f"sweep {name} stopped: {line}", "error"
