"""Provides :class:`TrialPruning`: a sweep trial's Lightning callback that reports each epoch's
validation accuracy to its Optuna trial and stops a hopeless run early.

Optuna's own Lightning integration raises ``TrialPruned`` from inside the fit, which would end the
run as failed with no word of why; here the run stops as a cancel does, after the epoch, its
checkpoints whole, and reads ``pruned`` (:meth:`RunRecorder.end_as`), so it can still be
resumed, tested or exported like any run. The sweep raises ``TrialPruned`` itself, after the fit.
"""

from __future__ import annotations

from typing import Any

import lightning as L

from digitnet.record.recorder import RunRecorder


class TrialPruning(L.Callback):
    """Report ``monitor`` after each validation to ``trial``; stop when its pruner says so, but
    never after the last epoch: pruned means stopped early."""

    def __init__(self, trial: Any, monitor: str = "val_acc") -> None:
        self.trial, self.monitor = trial, monitor
        self.pruned_after: int | None = None  # epochs done when the pruner stopped the run

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or value is None or not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch
        self.trial.report(float(value), step=epoch)
        last = trainer.max_epochs is not None and epoch + 1 >= trainer.max_epochs
        if not last and self.trial.should_prune():  # a trial that ran every epoch is complete
            self.pruned_after = epoch + 1
            trainer.should_stop = True
            for callback in trainer.callbacks:
                if isinstance(callback, RunRecorder):
                    callback.end_as("pruned")
