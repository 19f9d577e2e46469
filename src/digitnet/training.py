"""Provides :func:`run_folder`, the Trainer settings that make a run folder, for the CLI and Python alike.

    >>> import lightning as L
    >>> trainer = L.Trainer(max_epochs=2, **run_folder("checkpoints/py-demo"))

gives a Trainer that writes ``checkpoints/py-demo/`` exactly as ``digitnet fit`` does (events and
status for the dashboard, metrics.csv, last.ckpt every epoch, best.ckpt by val_acc), saves
checkpoints atomically and loads them only with ``weights_only=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint

from digitnet.checkpoints import SafeCheckpointIO
from digitnet.csvlog import AppendingCSVLogger
from digitnet.recorder import RunRecorder


def run_folder(run_dir: str | Path, log_every_n_steps: int = 50, callbacks: list | None = None,
               monitor: str | None = "val_acc") -> dict[str, Any]:
    """Keyword arguments for ``lightning.Trainer`` that record the run in ``run_dir``.

    ``monitor=None`` (for a run without a validation split) makes ``best.ckpt`` the latest epoch.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # Two callbacks: Lightning's save_last only writes last.ckpt when the best one improves.
    best = ModelCheckpoint(dirpath=run_dir, filename="best", monitor=monitor, mode="max", enable_version_counter=False)
    last = ModelCheckpoint(dirpath=run_dir, filename="last", monitor=None, save_top_k=1, enable_version_counter=False)
    return {
        "callbacks": [*(callbacks or []), RunRecorder(run_dir, log_every_n_steps=log_every_n_steps), best, last],
        "logger": AppendingCSVLogger(save_dir=str(run_dir.parent), name=run_dir.name, version=""),
        "plugins": [SafeCheckpointIO()],
        "default_root_dir": str(run_dir),
        "log_every_n_steps": log_every_n_steps,
    }
