"""Provides :class:`RunFolder`: the one place a run folder's file names are spelled.

Every other module asks it for a path, so a file is renamed or added here alone::

    >>> from pathlib import Path
    >>> run = RunFolder(Path("checkpoints/mnist-mlp-20261205-101500"))
    >>> run.status.name, run.last_ckpt.name, run.output.name
    ('status.json', 'last.ckpt', 'output.log')
    >>> run.name
    'mnist-mlp-20261205-101500'

What each file holds is documented in :mod:`digitnet.runs.layout`; how a file of a folder
digitnet does not trust is read and written, in :mod:`digitnet.untrusted` and
:mod:`digitnet.atomic`. Imports neither torch nor textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NAMES = {
    "config": "config.yaml",  # LightningCLI's settings of the run
    "hparams": "hparams.yaml",
    "metrics": "metrics.csv",
    "events": "events.jsonl",
    "status": "status.json",
    "launcher": "launcher.json",  # a run the dashboard started, before it trains
    "last_ckpt": "last.ckpt",
    "best_ckpt": "best.ckpt",
    "output": "output.log",
    "weights": "weights.npy",
    "notes": "notes.json",
    "cancel": "cancel",  # the dashboard's request to stop
    "lock": ".lock",  # held by the one process that writes the run
}
RUN_FILES = tuple(NAMES[key] for key in NAMES if key not in ("cancel", "lock"))


@dataclass(frozen=True)
class RunFolder:
    """The paths of one run folder's files (names in :data:`NAMES`)."""

    path: Path

    @property
    def name(self) -> str:
        return Path(self.path).name

    def file(self, key: str) -> Path:
        return Path(self.path) / NAMES[key]

    config = property(lambda self: self.file("config"))
    hparams = property(lambda self: self.file("hparams"))
    metrics = property(lambda self: self.file("metrics"))
    events = property(lambda self: self.file("events"))
    status = property(lambda self: self.file("status"))
    launcher = property(lambda self: self.file("launcher"))
    last_ckpt = property(lambda self: self.file("last_ckpt"))
    best_ckpt = property(lambda self: self.file("best_ckpt"))
    output = property(lambda self: self.file("output"))
    weights = property(lambda self: self.file("weights"))
    notes = property(lambda self: self.file("notes"))
    cancel = property(lambda self: self.file("cancel"))
    lock = property(lambda self: self.file("lock"))
