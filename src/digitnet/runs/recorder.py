"""Provides :class:`RunRecorder`, the Lightning callback that writes a run folder's events and
status.

Add it to any ``Trainer`` to make a run show up live in the dashboard::

    trainer = L.Trainer(callbacks=[RunRecorder("checkpoints/my-run")])

The format it writes is documented in :mod:`digitnet.runs`. It also carries out the two ways a
run is asked to stop early: a ``cancel`` file in the run folder, or SIGTERM / SIGINT. Either saves
``last.ckpt`` after the current step and ends the run as ``cancelled``. A non-finite training loss
ends it as ``diverged`` without saving the bad weights. With ``save_last=True`` (as
:func:`digitnet.runs.folder.run_folder` sets it) it also saves ``last.ckpt`` at every epoch's end.

Every checkpoint saved while it records carries ``digitnet_epochs_done``, the training epochs
finished when it was taken (an epoch-end save counts its epoch; a cancel in the middle does not),
so a resume can tell that nothing is left to do.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Timer

from digitnet import untrusted
from digitnet.atomic import remove_stale_temporaries, write_failed
from digitnet.checks import describe_model
from digitnet.errors import RunError
from digitnet.model.networks import first_layer_images
from digitnet.runs import layout, listing
from digitnet.runs import lock as runlock
from digitnet.runs.csvlog import RunCSVLogger
from digitnet.runs.layout import flat_settings
from digitnet.runs.system import SECONDS, SystemSampler

SAMPLE_COUNT = 24
EPOCHS_DONE = "digitnet_epochs_done"


class RunRecorder(L.Callback):
    """Append events to ``run_dir/events.jsonl`` and keep ``run_dir/status.json`` current (rank 0
    only)."""

    def __init__(
        self,
        run_dir: str | Path,
        log_every_n_steps: int = 50,
        handle_signals: bool = True,
        save_last: bool = False,
        system_seconds: float = SECONDS,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.system_seconds = system_seconds  # 0: no system figures
        self._system: SystemSampler | None = None
        self._weights_at: int | None = None  # the update count weights.npy was written at
        self.save_last = save_last
        self.epochs_done = 0
        self.launch = 1
        self.every = max(1, log_every_n_steps)
        self.handle_signals = handle_signals
        self.stop_reason: str | None = None
        self.diverged_at: int | None = None  # the update count where the loss stopped being finite
        self.final_status: str | None = None
        self.best_val_acc: float | None = None
        self.train_seconds = 0.0  # seconds in training epochs, over every launch of the run
        self._window_start = time.perf_counter()
        self._window_samples = 0
        self._epoch_start = time.perf_counter()
        self._epoch_losses: list[float] = []
        self._epoch_first_step = self._logged_at = 0
        self._old_handlers: dict[int, Any] = {}

    # -- helpers -----------------------------------------------------------------------------
    def _event(self, trainer: L.Trainer, name: str, **fields: Any) -> None:
        if trainer.is_global_zero:
            self._writing(layout.append_event, name, launch=self.launch, **fields)

    def _status(self, trainer: L.Trainer, **fields: Any) -> None:
        if trainer.is_global_zero:
            self._writing(layout.write_status, **fields)

    def _writing(self, write: Any, *args: Any, **fields: Any) -> None:
        """A run-folder write; a full or failing disk ends the run with one sentence, not a
        traceback."""
        try:
            write(self.run_dir, *args, **fields)
        except OSError as error:
            raise write_failed(self.run_dir, error) from None

    def _request_stop(self, signum: int, frame: Any) -> None:
        if self.stop_reason is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C does not wait for the step to finish
        self.stop_reason = "cancelled"

    # -- fit ---------------------------------------------------------------------------------
    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Claim the run folder for this process (see :mod:`digitnet.runs.lock`) before anything is
        written."""
        if stage == "fit" and trainer.is_global_zero:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._claimed = runlock.claim(self.run_dir)
            layout.check_run_files(self.run_dir)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # the CLI's own claim lasts its whole call (run_lightning releases it)
        if stage == "fit" and getattr(self, "_claimed", False):
            runlock.release(self.run_dir)
            self._claimed = False

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if trainer.is_global_zero:
            remove_stale_temporaries(self.run_dir)
            _remove_cancel(self.run_dir)
        previous = layout.read_json(self.run_dir / "status.json")
        seconds = previous.get("train_seconds")
        self.train_seconds = float(seconds) if isinstance(seconds, (int, float)) else 0.0
        self.best_val_acc = listing.read_run(self.run_dir).best_val_acc if previous else None
        self.launch = layout.count_launches(self.run_dir) + 1
        hp, data_hp = _settings(trainer, pl_module)
        dataset = data_hp.get("dataset", hp.get("dataset", "?"))
        summary = describe_model(hp)
        self._status(
            trainer,
            status="running",
            pid=os.getpid(),
            host=socket.gethostname(),
            error="",
            started=previous.get("started", time.time()),
            dataset=dataset,
            summary=summary,
            settings=flat_settings(hp, data_hp),
            max_epochs=trainer.max_epochs,
            epoch=trainer.current_epoch,
        )

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """After a checkpoint is restored, so the epoch is the one training resumes at."""
        datamodule = trainer.datamodule
        hp, data_hp = _settings(trainer, pl_module)
        self.epochs_done = trainer.current_epoch
        self._status(trainer, epoch=trainer.current_epoch)
        if trainer.is_global_zero and self.system_seconds > 0:
            self._system = SystemSampler(pl_module.device, self.system_seconds)
        # a resumed run: forget what a stopped launch logged past its checkpoint
        for logger in trainer.loggers:
            if isinstance(logger, RunCSVLogger):
                logger.drop_after(_updates(trainer, pl_module), trainer.current_epoch)
        # Installed here, after Lightning's own SIGTERM handler (which would end the run with
        # SystemExit and no checkpoint): ours lets the current step finish and saves last.ckpt.
        if self.handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                try:
                    self._old_handlers[signum] = signal.signal(signum, self._request_stop)
                except ValueError:  # not the main thread
                    pass
        self._event(
            trainer,
            "start",
            config={"model": hp, "data": data_hp},
            max_epochs=trainer.max_epochs,
            steps_per_epoch=getattr(datamodule, "updates_per_epoch", None)
            or _as_int(trainer.num_training_batches),
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
            self.stop_reason, self.diverged_at = "diverged", pl_module.diverged_at
        if (
            step // self.every > self._logged_at // self.every
            or batch_idx + 1 == trainer.num_training_batches
        ):
            self._logged_at = step
            loss = outputs["loss"] if isinstance(outputs, dict) else outputs
            value = float(loss)
            if not math.isfinite(value):  # any other LightningModule: its step's loss
                self.stop_reason = "diverged"
                self.diverged_at = self.diverged_at or step
            else:
                now = time.perf_counter()
                self._epoch_losses.append(value)
                self._event(  # progress; the losses themselves are the loggers' metrics lines
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
            self._event(trainer, "system", step=step, **self._system.sample())
        last_of_epoch = batch_idx + 1 >= trainer.num_training_batches
        if self.stop_reason is None and not last_of_epoch and _limit_reached(trainer):
            self.stop_reason = "stopped"  # inside the epoch: saved as a cancel is, resumed exactly
        if self.stop_reason is None and untrusted.is_regular(self.run_dir / "cancel"):
            self.stop_reason = "cancelled"
        if self.stop_reason is not None and self.final_status is None:
            self._stop(trainer)

    def _stop(self, trainer: L.Trainer) -> None:
        trainer.should_stop = True
        self.final_status = self.stop_reason
        if self.stop_reason in ("cancelled", "stopped"):  # mid-epoch: the epoch-end save is skipped
            # the whole training state
            trainer.save_checkpoint(self.run_dir / "last.ckpt", weights_only=False)
            if trainer.is_global_zero:
                _remove_cancel(self.run_dir)  # honoured

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        checkpoint[EPOCHS_DONE] = self.epochs_done
        network, step = getattr(pl_module, "network", None), _updates(trainer, pl_module)
        if trainer.is_global_zero and network is not None and step != self._weights_at:
            self._weights_at = step  # best.ckpt and last.ckpt of one epoch: written once
            self._writing(layout.write_weights, first_layer_images(network).numpy())
            self._event(trainer, "weights", epoch=self.epochs_done, step=step)

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
        self._event(
            trainer,
            "val",
            epoch=trainer.current_epoch,
            step=_updates(trainer, pl_module),
            **metrics,
            confusion=matrix,
        )
        if "val_acc" in metrics and (
            self.best_val_acc is None or metrics["val_acc"] > self.best_val_acc
        ):
            self.best_val_acc = metrics["val_acc"]
        self._samples(trainer, pl_module)

    def _samples(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        datamodule = trainer.datamodule
        split = getattr(datamodule, "val_set", None)
        if not trainer.is_global_zero or split is None or len(split[1]) == 0:
            return
        images, labels = split[0][:SAMPLE_COUNT], split[1][:SAMPLE_COUNT]
        with torch.no_grad():
            predicted = pl_module(pl_module.scale(images.unsqueeze(1))).argmax(dim=1)
        classes = list(getattr(getattr(datamodule, "info", None), "classes", range(10)))
        self._event(
            trainer,
            "samples",
            epoch=trainer.current_epoch,
            images=images.reshape(len(labels), -1).tolist(),
            labels=labels.tolist(),
            predicted=predicted.tolist(),
            classes=[str(c) for c in classes],
        )

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.final_status is not None:
            return
        self.epochs_done = trainer.current_epoch + 1
        if self.save_last:  # before the status says the epoch is done, so the two never disagree
            # the whole training state
            trainer.save_checkpoint(self.run_dir / "last.ckpt", weights_only=False)
        metrics = _metrics(trainer, ("val_loss", "val_acc"))
        mean_loss = (
            sum(self._epoch_losses) / len(self._epoch_losses) if self._epoch_losses else None
        )
        self._event(
            trainer,
            "epoch",
            epoch=trainer.current_epoch,
            step=_updates(trainer, pl_module),
            train_loss=mean_loss,
            seconds=round(time.perf_counter() - self._epoch_start, 3),
            **metrics,
        )
        self.train_seconds += time.perf_counter() - self._epoch_start
        self._status(
            trainer,
            epoch=trainer.current_epoch + 1,
            best_val_acc=self.best_val_acc,
            train_seconds=round(self.train_seconds, 2),
        )

    def end_as(self, status: str) -> None:
        """Have the run read ``status`` when it ends normally: ``pruned``, when a sweep's pruner
        stopped it after an epoch (its checkpoints are whole; a resume goes on from them)."""
        self.ended_as = status

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        status = self.final_status or getattr(self, "ended_as", None) or "finished"
        error = (
            "the training loss became NaN or infinite; lower the learning rate"
            if status == "diverged"
            else ""
        )
        self._status(trainer, status=status, error=error, best_val_acc=self.best_val_acc)
        at = {"step": self.diverged_at} if status == "diverged" and self.diverged_at else {}
        self._event(trainer, "end", status=status, error=error, **at)
        self._restore_signals()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """The status says what is on disk: ``cancelled`` only with a ``last.ckpt`` to resume from.
        An interrupted test after fit leaves the finished run as it is. The sentences on stderr
        may meet a closed pipe themselves: they are written where they can be."""
        self._restore_signals()
        interrupted = isinstance(exception, KeyboardInterrupt)
        if trainer.state.fn != "fit":
            if interrupted and trainer.is_global_zero:
                print(
                    f"digitnet: the test of run {self.run_dir.name} was interrupted; the run and "
                    "its checkpoints "
                    f"are intact: 'digitnet test --ckpt_path {self.run_dir.name}' tests it.",
                    file=sys.stderr,
                )
            return
        # a stop already honoured (its last.ckpt saved) stays one, whatever ends the process after
        # it: a second Ctrl-C, or a closed pipe (`digitnet fit | tee log`, the tee interrupted too)
        honoured = self.final_status in ("cancelled", "stopped")
        broken_pipe = isinstance(exception, BrokenPipeError) or "Broken pipe" in str(exception)
        if (interrupted or honoured or broken_pipe) and untrusted.is_regular(
            self.run_dir / "last.ckpt"
        ):
            status, error = self.final_status if honoured else "cancelled", ""
        elif interrupted:
            status, error = "failed", "interrupted before its first checkpoint; start it again"
        else:
            status, error = (
                "failed",
                "".join(traceback.format_exception_only(type(exception), exception)).strip(),
            )
        try:
            self._status(trainer, status=status, error=error[-2000:])
            self._event(trainer, "end", status=status, error=error[-2000:])
        except RunError:  # a full disk: readers see the process gone and report the run failed
            pass

    def _restore_signals(self) -> None:
        for signum, handler in self._old_handlers.items():
            try:
                signal.signal(signum, handler)
            except (ValueError, TypeError):
                pass
        self._old_handlers.clear()

    # -- test --------------------------------------------------------------------------------
    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """SIGTERM during a test stops it as Ctrl-C does (Lightning alone would ignore it)."""
        if self.handle_signals:
            try:
                self._old_handlers[signal.SIGTERM] = signal.signal(signal.SIGTERM, _interrupt)
            except ValueError:  # not the main thread
                pass

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore_signals()
        if untrusted.is_regular(self.run_dir / "status.json"):
            metrics = _metrics(trainer, ("test_loss", "test_acc"))
            self._event(trainer, "test", **metrics)
            self._status(trainer, **metrics)  # the runs table's test column


def _limit_reached(trainer: L.Trainer) -> bool:
    """True once ``--trainer.max_steps`` or ``--trainer.max_time`` ends training (Lightning stops
    at the end of this step; it would still call the epoch finished)."""
    if trainer.max_steps is not None and 0 <= trainer.max_steps <= trainer.global_step:
        return True
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    remaining = timer.time_remaining() if timer is not None else None
    return remaining is not None and remaining <= 0


def _remove_cancel(run_dir: Path) -> None:
    """Remove the ``cancel`` request (only a regular file is one; a folder of that name stays)."""
    if untrusted.is_regular(run_dir / "cancel"):
        (run_dir / "cancel").unlink(missing_ok=True)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


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
