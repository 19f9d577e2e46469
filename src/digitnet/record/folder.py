"""Provides :func:`run_folder`, the Trainer settings that make a run folder, for the CLI and Python
alike.

    >>> import lightning as L
    >>> trainer = L.Trainer(max_epochs=2, **run_folder("checkpoints/py-demo"))

gives a Trainer that writes ``checkpoints/py-demo/`` exactly as ``digitnet fit`` does (events and
status for the dashboard, metrics.csv, every logged metric in both, last.ckpt every epoch,
best.ckpt by val_acc), saves checkpoints atomically and loads them only with ``weights_only=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import ModelCheckpoint

from digitnet.model.checkpoint_io import SafeCheckpointIO
from digitnet.record.csvlog import RunCSVLogger
from digitnet.record.eventlog import RunEventLogger
from digitnet.record.recorder import RunRecorder
from digitnet.runs.lock import check_run_or_new
from digitnet.runs.quiet import quiet_known_noise
from digitnet.runs.system import SECONDS
from digitnet.settings import LOG_EVERY


def run_folder(
    run_dir: str | Path,
    log_every_n_steps: int = LOG_EVERY,
    callbacks: list | None = None,
    monitor: str | None = "val_acc",
    loggers: list | None = None,
    system_seconds: float = SECONDS,
) -> dict[str, Any]:
    """Keyword arguments for ``lightning.Trainer`` that record the run in ``run_dir``.

    ``run_dir`` is new, empty, or a digitnet run to continue; a folder holding anything else
    (a project's own ``metrics.csv``, say) is refused with :class:`~digitnet.errors.RunError`.
    ``monitor=None`` (for a run without a validation split) makes ``best.ckpt`` the latest epoch.
    ``callbacks`` and ``loggers`` are added beside the run folder's own (any Lightning logger, such
    as ``TensorBoardLogger``, logs the same metrics to its own place). ``system_seconds`` is the
    least time between two samples of the process's CPU and memory (0: none; see
    :mod:`digitnet.runs.system`).
    """
    quiet_known_noise()
    run_dir = Path(run_dir)
    check_run_or_new(run_dir)  # a folder of the user's own is never written into
    run_dir.mkdir(parents=True, exist_ok=True)
    # last.ckpt is the recorder's (every epoch end, and on cancel mid-epoch); best.ckpt Lightning's
    best = ModelCheckpoint(
        dirpath=run_dir, filename="best", monitor=monitor, mode="max", enable_version_counter=False
    )
    recorder = RunRecorder(
        run_dir, log_every_n_steps=log_every_n_steps, save_last=True, system_seconds=system_seconds
    )
    return {
        "callbacks": [*(callbacks or []), recorder, best],
        "logger": [RunCSVLogger(run_dir), RunEventLogger(run_dir), *(loggers or [])],
        "plugins": [SafeCheckpointIO()],
        "default_root_dir": str(run_dir),
        "log_every_n_steps": log_every_n_steps,
    }
