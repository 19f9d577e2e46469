"""Provides :class:`StopControl`: how a run is asked to end early, and what is saved when it is.

Three requests end a run inside an epoch, each after the current training step: a ``cancel``
file in the run folder (the dashboard's ``c``), SIGTERM or SIGINT (a second Ctrl-C does not wait
for the step), and a limit (``--trainer.max_steps``, ``--trainer.max_time``). Each saves the whole
training state to ``last.ckpt``; the run then reads ``cancelled`` (``stopped`` for a limit) and a
resume goes on from the same update. A training loss that is not finite ends the run as
``diverged`` without saving the bad weights. With ``save_last`` it also saves ``last.ckpt`` at
every epoch's end, before the status says the epoch is done, so the two never disagree.

Every checkpoint saved meanwhile carries ``digitnet_epochs_done`` (:data:`EPOCHS_DONE`), the
training epochs finished when it was taken (an epoch-end save counts its epoch; a cancel in the
middle does not), so a resume can tell that nothing is left to do.

Part of :class:`~digitnet.record.recorder.RunRecorder`, which calls it from its hooks.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Timer

from digitnet import untrusted
from digitnet.runs.files import RunFolder

EPOCHS_DONE = "digitnet_epochs_done"
DIVERGED = "the training loss became NaN or infinite; lower the learning rate"


class StopControl:
    def __init__(self, run_dir: Path, save_last: bool = False, handle_signals: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.save_last = save_last
        self.handle_signals = handle_signals
        self.stop_reason: str | None = None  # asked for: cancelled, stopped or diverged
        self.final_status: str | None = None  # honoured: the run has stopped for that reason
        self.diverged_at: int | None = None  # the update count where the loss stopped being finite
        self.ended_as: str | None = None  # how a run that ends normally reads (see end_as)
        self.epochs_done = 0
        self._old_handlers: dict[int, Any] = {}

    # -- requests ------------------------------------------------------------------------------
    def fit_start(self, trainer: L.Trainer) -> None:
        if trainer.is_global_zero:
            remove_cancel(self.run_dir)  # a request left from an earlier launch is not this one's

    def train_start(self, trainer: L.Trainer) -> None:
        """After a checkpoint is restored. Our signal handlers go in here, after Lightning's own
        SIGTERM handler (which would end the run with SystemExit and no checkpoint): ours let the
        current step finish and save last.ckpt."""
        self.epochs_done = trainer.current_epoch
        if self.handle_signals:
            self._handle((signal.SIGTERM, signal.SIGINT), self._request_stop)

    def _request_stop(self, signum: int, frame: Any) -> None:
        if self.stop_reason is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C does not wait for the step to finish
        self.stop_reason = "cancelled"

    def diverged(self, step: int | None) -> None:
        """The loss of update ``step`` is not finite (the first such step is kept)."""
        self.stop_reason = "diverged"
        self.diverged_at = self.diverged_at or step

    def end_as(self, status: str) -> None:
        """Have the run read ``status`` when it ends normally: ``pruned``, when a sweep's pruner
        stopped it after an epoch (its checkpoints are whole; a resume goes on from them)."""
        self.ended_as = status

    # -- honouring them ------------------------------------------------------------------------
    def step_end(self, trainer: L.Trainer, batch_idx: int) -> None:
        """After each training step: a limit reached inside the epoch, or a cancel file, asks for
        a stop; any stop asked for is honoured now."""
        last_of_epoch = batch_idx + 1 >= trainer.num_training_batches
        if self.stop_reason is None and not last_of_epoch and limit_reached(trainer):
            self.stop_reason = "stopped"  # inside the epoch: saved as a cancel is, resumed exactly
        if self.stop_reason is None and untrusted.is_regular(RunFolder(self.run_dir).cancel):
            self.stop_reason = "cancelled"
        if self.stop_reason is None or self.final_status is not None:
            return
        trainer.should_stop = True
        self.final_status = self.stop_reason
        if self.stop_reason in ("cancelled", "stopped"):  # mid-epoch: the epoch-end save is skipped
            trainer.save_checkpoint(RunFolder(self.run_dir).last_ckpt, weights_only=False)
            if trainer.is_global_zero:
                remove_cancel(self.run_dir)  # honoured

    def epoch_end(self, trainer: L.Trainer) -> bool:
        """At a training epoch's end: False if the run has stopped; else the epoch counts as done
        and, with ``save_last``, the whole training state is saved."""
        if self.final_status is not None:
            return False
        self.epochs_done = trainer.current_epoch + 1
        if self.save_last:
            trainer.save_checkpoint(RunFolder(self.run_dir).last_ckpt, weights_only=False)
        return True

    def stamp(self, checkpoint: dict) -> None:
        checkpoint[EPOCHS_DONE] = self.epochs_done

    def outcome(self) -> tuple[str, str]:
        """How a fit that ended without an exception reads: its status and error sentence."""
        status = self.final_status or self.ended_as or "finished"
        return status, DIVERGED if status == "diverged" else ""

    def honoured(self) -> bool:
        """Whether a stop was honoured (its last.ckpt saved): it stays one, whatever ends the
        process after it."""
        return self.final_status in ("cancelled", "stopped")

    # -- signals -------------------------------------------------------------------------------
    def test_start(self) -> None:
        """SIGTERM during a test stops it as Ctrl-C does (Lightning alone would ignore it)."""
        if self.handle_signals:
            self._handle((signal.SIGTERM,), _interrupt)

    def _handle(self, signums: tuple[int, ...], handler: Any) -> None:
        for signum in signums:
            try:
                self._old_handlers[signum] = signal.signal(signum, handler)
            except ValueError:  # not the main thread
                pass

    def restore_signals(self) -> None:
        for signum, handler in self._old_handlers.items():
            try:
                signal.signal(signum, handler)
            except (ValueError, TypeError):
                pass
        self._old_handlers.clear()


def limit_reached(trainer: L.Trainer) -> bool:
    """True once ``--trainer.max_steps`` or ``--trainer.max_time`` ends training (Lightning stops
    at the end of this step; it would still call the epoch finished)."""
    if trainer.max_steps is not None and 0 <= trainer.max_steps <= trainer.global_step:
        return True
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    remaining = timer.time_remaining() if timer is not None else None
    return remaining is not None and remaining <= 0


def remove_cancel(run_dir: Path) -> None:
    """Remove the ``cancel`` request (only a regular file is one; a folder of that name stays)."""
    if untrusted.is_regular(RunFolder(run_dir).cancel):
        (RunFolder(run_dir).cancel).unlink(missing_ok=True)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
