"""Provides :class:`RunRecorder`, the Lightning callback that makes a run folder: its status and
events, from three parts with one job each.

Add it to any ``Trainer`` to make a run show up live in the dashboard::

    trainer = L.Trainer(callbacks=[RunRecorder("checkpoints/my-run")])

- the recorder itself keeps ``status.json`` current and appends the run's events (start,
  progress, system figures, validation, epoch, end, test) to ``events.jsonl``, in the format
  :mod:`digitnet.runs` documents, and claims the run folder for its process
  (:mod:`digitnet.runs.lock`);
- :class:`~digitnet.record.stopping.StopControl` (``recorder.stop``) carries out the ways a run is
  asked to end early (a ``cancel`` file, SIGTERM / SIGINT, a step or time limit, a loss that is
  not finite) and saves ``last.ckpt``: with ``save_last=True`` (as
  :func:`digitnet.record.folder.run_folder` sets it) at every epoch's end too;
- :class:`~digitnet.record.snapshots.Snapshots` writes what the dashboard shows of the network:
  ``weights.npy`` and sample predictions.

Lightning calls one callback's hooks, so the recorder calls its parts' in the order the run
folder needs (an epoch's ``last.ckpt`` before the status that says the epoch is done).
"""

from __future__ import annotations

import math
import os
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import lightning as L

from digitnet import untrusted, updates
from digitnet.atomic import remove_stale_temporaries
from digitnet.checks import describe_model
from digitnet.errors import DigitnetError, RunError
from digitnet.record.csvlog import RunCSVLogger
from digitnet.record.snapshots import Snapshots
from digitnet.record.stopping import EPOCHS_DONE, StopControl
from digitnet.record.writer import RunWriter
from digitnet.runs import layout, listing
from digitnet.runs import lock as runlock
from digitnet.runs.files import RunFolder
from digitnet.runs.layout import flat_settings
from digitnet.runs.system import SECONDS, SystemSampler
from digitnet.settings import LOG_EVERY

__all__ = ["EPOCHS_DONE", "RunRecorder"]


class RunRecorder(L.Callback):
    """Append events to ``run_dir/events.jsonl`` and keep ``run_dir/status.json`` current (rank 0
    only)."""

    def __init__(
        self,
        run_dir: str | Path,
        log_every_n_steps: int = LOG_EVERY,
        handle_signals: bool = True,
        save_last: bool = False,
        system_seconds: float = SECONDS,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.writer = RunWriter(self.run_dir)
        self.stop = StopControl(self.run_dir, save_last, handle_signals)
        self.snapshots = Snapshots(self.writer)
        self.system_seconds = system_seconds  # 0: no system figures
        self._system: SystemSampler | None = None
        self.every = max(1, log_every_n_steps)
        self.best_val_acc: float | None = None
        self.train_seconds = 0.0  # seconds in training epochs, over every launch of the run
        self._claimed = False
        self._before: dict = {}  # status.json as this launch found it
        self._training = False  # on_train_start has run in this launch
        self._window_start = time.perf_counter()
        self._window_samples = 0
        self._epoch_start = time.perf_counter()
        self._epoch_losses: list[float] = []
        self._epoch_first_step = self._logged_at = 0

    def end_as(self, status: str) -> None:
        """See :meth:`StopControl.end_as` (a sweep's pruner: ``pruned``)."""
        self.stop.end_as(status)

    # -- fit ---------------------------------------------------------------------------------
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Claim the run folder for this process (see :mod:`digitnet.runs.lock`) before anything is
        written."""
        if stage == "fit" and trainer.is_global_zero:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._claimed = runlock.claim(self.run_dir)
            layout.check_run_files(self.run_dir)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # a claim the CLI made first lasts its whole call (prepare.run_lightning releases it)
        if stage == "fit" and self._claimed:
            runlock.release(self.run_dir)
            self._claimed = False

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if trainer.is_global_zero:
            remove_stale_temporaries(self.run_dir)
        self.stop.fit_start(trainer)
        previous = layout.read_json(RunFolder(self.run_dir).status)
        self._before, self._training = previous, False
        seconds = previous.get("train_seconds")
        self.train_seconds = float(seconds) if isinstance(seconds, (int, float)) else 0.0
        self.best_val_acc = listing.read_run(self.run_dir).best_val_acc if previous else None
        self.writer.launch = layout.count_launches(self.run_dir) + 1
        hp, data_hp = _settings(trainer, pl_module)
        dataset = data_hp.get("dataset", hp.get("dataset", "?"))
        self.writer.status(
            trainer,
            status="running",
            pid=os.getpid(),
            host=socket.gethostname(),
            error="",
            started=previous.get("started", time.time()),
            dataset=dataset,
            summary=describe_model(hp),
            settings=flat_settings(hp, data_hp),
            max_epochs=trainer.max_epochs,
            epoch=trainer.current_epoch,
        )

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """After a checkpoint is restored, so the epoch is the one training resumes at."""
        self._training = True
        datamodule = trainer.datamodule
        hp, data_hp = _settings(trainer, pl_module)
        self.stop.train_start(trainer)
        self.writer.status(trainer, epoch=trainer.current_epoch)
        if trainer.is_global_zero and self.system_seconds > 0:
            self._system = SystemSampler(pl_module.device, self.system_seconds)
        # a resumed run: forget what a stopped launch logged past its checkpoint
        for logger in trainer.loggers:
            if isinstance(logger, RunCSVLogger):
                logger.drop_after(_updates(trainer, pl_module), trainer.current_epoch)
        self.writer.event(
            trainer,
            "start",
            config={"model": hp, "data": data_hp},
            max_epochs=trainer.max_epochs,
            steps_per_epoch=updates.epoch_updates(trainer, datamodule),
            batch_size=data_hp.get("batch_size"),
            resumed=trainer.ckpt_path is not None,
            epoch=trainer.current_epoch,
            step=_updates(trainer, pl_module),
            pid=os.getpid(),
        )

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start = self._window_start = time.perf_counter()
        self._epoch_first_step = self._logged_at = _updates(trainer, pl_module)
        self._window_samples = 0
        self._epoch_losses = []

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._window_samples += batch[1].numel()  # one mini-batch [B] or k of them [k, B]
        step = _updates(trainer, pl_module)
        if getattr(pl_module, "diverged_at", None) is not None:  # a DigitClassifier's own check
            self.stop.diverged(pl_module.diverged_at)
        epoch_ends = batch_idx + 1 == trainer.num_training_batches
        if updates.logged_updates(self._logged_at, step, self.every, epoch_ends):
            self._logged_at = step
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs
            value = float(loss)
            if not math.isfinite(value):  # any other LightningModule: its step's loss
                self.stop.diverged(step)
            else:
                now = time.perf_counter()
                self._epoch_losses.append(value)
                self.writer.event(  # progress; the losses themselves are the loggers' metrics
                    trainer,
                    "step",
                    epoch=trainer.current_epoch,
                    step=step,
                    batch=step - self._epoch_first_step - 1,
                    samples_per_s=round(
                        self._window_samples / max(now - self._window_start, 1e-9), 1
                    ),
                )
                self._window_start, self._window_samples = now, 0
        if self._system is not None and self._system.due():
            self.writer.event(trainer, "system", step=step, **self._system.sample())
        self.stop.step_end(trainer, batch_idx)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        self.stop.stamp(checkpoint)
        self.snapshots.weights(
            trainer, pl_module, _updates(trainer, pl_module), self.stop.epochs_done
        )

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        metrics = _metrics(trainer, ("val_loss", "val_acc"))
        confusion = getattr(pl_module, "val_confusion", None)
        matrix = (
            confusion.compute().cpu().tolist()
            if confusion is not None and confusion.update_count
            else None
        )
        self.writer.event(
            trainer,
            "val",
            epoch=trainer.current_epoch,
            step=_updates(trainer, pl_module),
            **metrics,
            confusion=matrix,
        )
        diverged = self.stop.diverged_at is not None or (
            getattr(pl_module, "diverged_at", None) is not None
        )  # a pass after the loss became NaN scores weights that are no longer the run's
        if (
            "val_acc" in metrics
            and not diverged
            and (self.best_val_acc is None or metrics["val_acc"] > self.best_val_acc)
        ):
            self.best_val_acc = metrics["val_acc"]
        self.snapshots.samples(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.stop.epoch_end(trainer):  # saves last.ckpt first: status never runs ahead
            return
        metrics = _metrics(trainer, ("val_loss", "val_acc"))
        mean_loss = (
            sum(self._epoch_losses) / len(self._epoch_losses) if self._epoch_losses else None
        )
        self.writer.event(
            trainer,
            "epoch",
            epoch=trainer.current_epoch,
            step=_updates(trainer, pl_module),
            train_loss=mean_loss,
            seconds=round(time.perf_counter() - self._epoch_start, 3),
            **metrics,
        )
        self.train_seconds += time.perf_counter() - self._epoch_start
        self.writer.status(
            trainer,
            epoch=trainer.current_epoch + 1,
            best_val_acc=self.best_val_acc,
            train_seconds=round(self.train_seconds, 2),
        )

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        status, error = self.stop.outcome()
        self.writer.status(trainer, status=status, error=error, best_val_acc=self.best_val_acc)
        diverged_at = self.stop.diverged_at
        at = {"step": diverged_at} if status == "diverged" and diverged_at else {}
        self.writer.event(trainer, "end", status=status, error=error, **at)
        self.stop.restore_signals()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """The status says what is on disk: ``cancelled`` only with a ``last.ckpt`` to resume from.
        An interrupted test after fit leaves the finished run as it is. The sentences on stderr
        may meet a closed pipe themselves: they are written where they can be."""
        self.stop.restore_signals()
        interrupted = isinstance(exception, KeyboardInterrupt)
        if trainer.state.fn != "fit":
            if interrupted and trainer.is_global_zero:
                print(
                    f"digitnet: the test of run {self.run_dir.name} was interrupted; the run and "
                    "its checkpoints are intact: "
                    f"'digitnet test --ckpt_path {self.run_dir.name}' tests it.",
                    file=sys.stderr,
                )
            return
        if isinstance(exception, DigitnetError) and not self._training and self._before:
            # a resume refused while its checkpoint was restored: the run is as it was
            try:
                self.writer.status(trainer, **self._before)
            except RunError:
                pass
            return
        # a stop already honoured stays one, whatever ends the process after it: a second
        # Ctrl-C, or a closed pipe (`digitnet fit | tee log`, the tee interrupted too)
        honoured = self.stop.honoured()
        broken_pipe = isinstance(exception, BrokenPipeError) or "Broken pipe" in str(exception)
        if (interrupted or honoured or broken_pipe) and untrusted.is_regular(
            RunFolder(self.run_dir).last_ckpt
        ):
            status, error = self.stop.final_status if honoured else "cancelled", ""
        elif interrupted:
            status, error = "failed", "interrupted before its first checkpoint; start it again"
        else:
            status, error = (
                "failed",
                "".join(traceback.format_exception_only(type(exception), exception)).strip(),
            )
        try:
            self.writer.status(trainer, status=status, error=error[-2000:])
            self.writer.event(trainer, "end", status=status, error=error[-2000:])
        except RunError:  # a full disk: readers see the process gone and report the run failed
            pass

    # -- test --------------------------------------------------------------------------------
    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.stop.test_start()

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.stop.restore_signals()
        if untrusted.is_regular(RunFolder(self.run_dir).status):
            metrics = _metrics(trainer, ("test_loss", "test_acc", "test_images"))
            self.writer.event(trainer, "test", **metrics)
            self.writer.status(trainer, **metrics)  # the runs table's test column


def _settings(trainer: L.Trainer, pl_module: L.LightningModule) -> tuple[dict, dict]:
    """The model's and the data module's saved hyper-parameters, without Lightning's private
    keys."""
    datamodule = trainer.datamodule
    data_hp = dict(datamodule.hparams) if datamodule is not None else {}
    return dict(pl_module.hparams), {k: v for k, v in data_hp.items() if not k.startswith("_")}


def _metrics(trainer: L.Trainer, names: tuple[str, ...]) -> dict[str, float]:
    found = {}
    for name in names:
        value = trainer.callback_metrics.get(name)
        if value is not None:
            found[name] = round(float(value), 6)
    return found


def _updates(trainer: L.Trainer, pl_module: L.LightningModule) -> int:
    """Updates so far: a DigitClassifier counts them (k per training step); other modules,
    Lightning's steps."""
    updates = getattr(pl_module, "updates", None)
    return updates if isinstance(updates, int) else trainer.global_step


def _as_int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
