"""Provides :class:`RunWriter`: the writes the recorder's parts make into a run folder.

Only the first process writes (under DDP every rank runs the callbacks), each event carries the
launch it belongs to (1 for a new run, 2 after its first resume, ...), and a full or failing disk
ends the run with one sentence naming the folder instead of a traceback::

    writer = RunWriter("checkpoints/my-run")
    writer.event(trainer, "epoch", epoch=0, step=782)   # a line of events.jsonl
    writer.status(trainer, epoch=1)                     # merged into status.json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L

from digitnet.atomic import write_failed
from digitnet.runs import layout


class RunWriter:
    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.launch = 1

    def event(self, trainer: L.Trainer, name: str, **fields: Any) -> None:
        if trainer.is_global_zero:
            self.write(layout.append_event, name, launch=self.launch, **fields)

    def status(self, trainer: L.Trainer, **fields: Any) -> None:
        if trainer.is_global_zero:
            self.write(layout.write_status, **fields)

    def write(self, write: Any, *args: Any, **fields: Any) -> None:
        """``write(run_dir, *args, **fields)``; an ``OSError`` becomes one sentence."""
        try:
            write(self.run_dir, *args, **fields)
        except OSError as error:
            raise write_failed(self.run_dir, error) from None
