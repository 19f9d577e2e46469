"""Provides the one place that knows k, the mini-batches one Lightning training step hands to the
engine (``--data.steps_per_call``), and the cadence of logged updates.

Each training step may make k updates: that buys speed where Lightning's bookkeeping of a step
costs as much as an update (the textbook's batch of 10; a replayed CUDA graph). It must change
speed only. So a run counts **updates** (one per mini-batch) wherever a user sees a number, and
k is 1 wherever a Lightning option counts training steps, which would then mean groups of k:

>>> from types import SimpleNamespace as Trainer
>>> plain = Trainer(limit_train_batches=1.0, max_steps=-1, val_check_interval=1.0)
>>> steps_per_call(None, 10, plain), steps_per_call(None, 64, plain), steps_per_call(4, 64, plain)
(102, 16, 4)
>>> steps_per_call(None, 10, Trainer(limit_train_batches=5, max_steps=-1, val_check_interval=1.0))
1
>>> steps_per_call(None, 10, Trainer(limit_train_batches=1, max_steps=-1, val_check_interval=1.0))
1
>>> steps_per_call(4, 64, Trainer(limit_train_batches=1.0, max_steps=7, val_check_interval=1.0))
Traceback (most recent call last):
digitnet.errors.BadSetting: --trainer.max_steps counts mini-batches, which a step of ...

This module imports neither torch nor Lightning: the dashboard reads the same rules.
"""

from __future__ import annotations

import math
from typing import Any

UPDATES_PER_CALL = 1024
"""k when the user sets none: about this many images a step, 16 at batch 64 and 102 at batch 10.
Measured on this project's 2-core CPU (``bench/run.py --only-k``, 5 interleaved pairs, 2026-12-05):
an epoch of the default MLP took 1/1.41 the time with k = 16 that it took with k = 1, and the
textbook setting's 1/7.5 with k = 102; Lightning's bookkeeping costs about 0.5 ms a step."""


def auto_steps_per_call(batch_size: int) -> int:
    """k when the user sets none.

    >>> auto_steps_per_call(64), auto_steps_per_call(10), auto_steps_per_call(2048)
    (16, 102, 1)
    """
    return max(1, UPDATES_PER_CALL // batch_size)


def counting_options(trainer: Any) -> list[str]:
    """What of the Trainer counts training steps (so k > 1 would change it), as set, each named
    with what it does: the options, and the callbacks that act at every step (Lightning's
    ``LearningRateMonitor`` logs at its step, not at the update count; ``max_time`` is looked at
    after each step, so k > 1 would run up to k - 1 updates past it).

    >>> from types import SimpleNamespace as Trainer
    >>> counting_options(Trainer(limit_train_batches=5, max_steps=7, val_check_interval=1.0))
    ['--trainer.limit_train_batches counts mini-batches', '--trainer.max_steps counts mini-batches']
    """
    found = []
    limit = getattr(trainer, "limit_train_batches", 1.0)
    if limit is not None and (isinstance(limit, int) or limit != 1.0):  # 1 is one batch, 1.0 all
        found.append("--trainer.limit_train_batches")  # overfit_batches and fast_dev_run too
    if getattr(trainer, "max_steps", -1) not in (-1, None):
        found.append("--trainer.max_steps")
    check = getattr(trainer, "val_check_interval", 1.0)
    if check is not None and (isinstance(check, int) or check != 1.0):
        found.append("--trainer.val_check_interval")
    found = [f"{option} counts mini-batches" for option in found]
    callbacks = getattr(trainer, "callbacks", None) or []
    if callbacks:
        from lightning.pytorch.callbacks import LearningRateMonitor, Timer

        for callback in callbacks:
            if isinstance(callback, Timer) and callback.time_remaining() is not None:
                found.append("--trainer.max_time is looked at after every mini-batch")
            if isinstance(callback, LearningRateMonitor) and callback.logging_interval != "epoch":
                found.append("LearningRateMonitor logs the learning rate at every mini-batch")
    return found


def steps_per_call(requested: int | None, batch_size: int, trainer: Any = None) -> int:
    """k for a run: the one asked for, else :func:`auto_steps_per_call`; 1 where the Trainer
    counts steps (see the module docstring). An asked-for k > 1 that such an option would
    change is refused in one sentence."""
    from digitnet.errors import BadSetting

    options = counting_options(trainer) if trainer is not None else []
    if requested is None:
        return 1 if options else auto_steps_per_call(batch_size)
    if requested > 1 and options:
        raise BadSetting(
            f"{options[0]}, which a step of --data.steps_per_call {requested} would make groups "
            f"of {requested}; leave --data.steps_per_call unset (it changes speed, never results)."
        )
    return requested


def steps_for(updates: int, k: int) -> int:
    """Lightning steps that make ``updates`` updates, k at a time (a short last group counts).

    >>> steps_for(782, 16), steps_for(782, 1)
    (49, 782)
    """
    return math.ceil(updates / k)


def group_of(datamodule: Any) -> int:
    """k of a data module: digitnet's says (``DigitDataModule.group``); any other hands one
    mini-batch a step."""
    return getattr(datamodule, "group", 1)


def epoch_updates(trainer: Any, datamodule: Any) -> int | None:
    """The updates one epoch of this run makes: Lightning's count of training batches where each
    is one update (it knows every limit), else the data module's full epoch. Needs the fit loop's
    data (``on_train_start`` on).

    >>> from types import SimpleNamespace as Trainer, SimpleNamespace as Data
    >>> epoch_updates(Trainer(num_training_batches=5), Data(group=1, updates_per_epoch=782))
    5
    >>> epoch_updates(Trainer(num_training_batches=49), Data(group=16, updates_per_epoch=782))
    782
    """
    batches = trainer.num_training_batches
    if group_of(datamodule) > 1:
        return datamodule.updates_per_epoch
    return int(batches) if isinstance(batches, (int, float)) and math.isfinite(batches) else None


def planned_updates(trainer: Any, datamodule: Any) -> int | None:
    """The updates a run will make: what its schedule spans. Lightning's own estimate where each
    step is one update (it knows every limit); with k > 1, which no option counting steps allows
    (:func:`steps_per_call`), the epochs times the updates of one. None where there is no end.

    >>> from types import SimpleNamespace as Trainer, SimpleNamespace as Data
    >>> planned_updates(Trainer(estimated_stepping_batches=10, max_epochs=2), Data(group=1))
    10
    >>> sixteen = Data(group=16, updates_per_epoch=782)
    >>> planned_updates(Trainer(estimated_stepping_batches=98, max_epochs=2), sixteen)
    1564
    """
    if group_of(datamodule) == 1:
        total = trainer.estimated_stepping_batches
        return int(total) if math.isfinite(total) and total > 0 else None
    epochs = trainer.max_epochs
    return datamodule.updates_per_epoch * epochs if epochs and epochs > 0 else None


def logged_updates(before: int, after: int, every: int, epoch_ends: bool) -> list[int]:
    """The update counts in ``before + 1 .. after`` whose cost is logged: every ``every``-th
    update, and the epoch's last when the step ends an epoch.

    >>> logged_updates(32, 48, 50, False), logged_updates(48, 64, 50, False)
    ([], [50])
    >>> logged_updates(770, 782, 50, True), logged_updates(0, 3, 0, True)
    ([782], [3])
    """
    logged = list(range((before // every + 1) * every, after + 1, every)) if every else []
    if epoch_ends and after not in logged:
        logged.append(after)
    return logged
