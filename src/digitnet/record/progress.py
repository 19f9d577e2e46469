"""Provides :class:`UpdatesProgressBar`: Lightning's progress bar counting mini-batches, with a
line for each epoch.

A training step may make k updates (:mod:`digitnet.updates`); Lightning's own bar counts steps,
so an epoch of 782 mini-batches would read ``49/49``. This one reads ``782/782`` for every k,
as a plain Lightning loop's bar does. After each epoch it prints what the textbook's
``network.py`` prints: ``epoch 3/10: validation accuracy 97.61%, loss 0.0812``.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar

from digitnet import updates


class UpdatesProgressBar(TQDMProgressBar):
    """The training bar's total and position in mini-batches (updates); the rest is Lightning's."""

    per_epoch: int | None = None  # updates of this epoch, found once at its start

    def on_train_epoch_start(self, trainer: L.Trainer, *args: Any) -> None:
        self.per_epoch = updates.epoch_updates(trainer, trainer.datamodule)
        super().on_train_epoch_start(trainer, *args)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        found = trainer.callback_metrics
        if "val_acc" in found and not trainer.sanity_checking:
            epochs = (
                f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
            )
            line = f"epoch {trainer.current_epoch + 1}{epochs}: validation accuracy "
            line += f"{100 * float(found['val_acc']):.2f}%"
            if "val_loss" in found:
                line += f", loss {float(found['val_loss']):.4f}"
            self.print(line)

    @property
    def total_train_batches(self) -> int | float:
        return self.per_epoch or super().total_train_batches

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        made, per_epoch = getattr(pl_module, "updates", None), self.per_epoch
        if not isinstance(made, int) or not per_epoch:
            return super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        bar = self.train_progress_bar
        done = min(max(made - trainer.current_epoch * per_epoch, 0), per_epoch)
        if bar.disable or done == bar.n:
            return None
        rate = max(1, self.refresh_rate)
        if done // rate > bar.n // rate or done == per_epoch:
            bar.n = done
            bar.set_postfix(self.get_metrics(trainer, pl_module))  # refreshes the bar
        return None
