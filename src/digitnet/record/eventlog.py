"""Provides :class:`RunEventLogger`: every metric Lightning logs, as a ``metrics`` line of the run's
``events.jsonl``.

It sits beside :class:`~digitnet.record.csvlog.RunCSVLogger` in every run folder's Trainer, so a
value reaches ``metrics.csv`` and the dashboard through one path: the dashboard's points are
``metrics.csv``'s rows, at the same update counts, with the same values::

    metrics.csv     step,epoch,lr,train_loss          events.jsonl
                    50,0,0.04999,0.4123         ->    {"event": "metrics", "step": 50, "epoch": 0,
                                                       "lr": 0.04999, "train_loss": 0.4123, ...}

A value that is not finite (a diverged run's loss) is written as ``null``: JSON has no NaN, and
the reader sees that the value was logged but had no number.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lightning.pytorch.utilities import rank_zero_only

from digitnet.atomic import write_failed
from digitnet.record.csvlog import RunFolderLogger
from digitnet.runs import layout


class RunEventLogger(RunFolderLogger):
    """Append each ``log_metrics`` call to ``<run_dir>/events.jsonl`` (rank 0 only)."""

    def __init__(self, run_dir: str | Path) -> None:
        super().__init__(run_dir)
        self.launch: int | None = None  # this process's launch number, read at its first line

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """The settings are in the ``start`` event and ``hparams.yaml`` already."""

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        if not metrics:  # Lightning's row of a logged "step" alone: it carries nothing
            return
        if self.launch is None:  # the recorder wrote this launch's start event before any metric
            self.launch = max(1, layout.count_launches(self.run_dir))
        fields = {name: _number(name, value) for name, value in metrics.items()}
        if step is not None:
            fields["step"] = int(step)
        try:
            layout.append_event(self.run_dir, "metrics", launch=self.launch, **fields)
        except OSError as error:
            raise write_failed(self.run_dir, error) from None


def _number(name: str, value: Any) -> float | int | None:
    """A logged value as JSON: ``epoch`` and ``step`` as whole numbers, others as floats, and a
    value that is not finite as None."""
    value = value.item() if hasattr(value, "item") else value
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    return int(value) if name in ("epoch", "step") and value.is_integer() else value
