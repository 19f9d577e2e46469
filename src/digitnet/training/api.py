"""Provides :func:`train`: one run, from settings to a result, in Python.

Settings are the registry's names (:mod:`digitnet.settings`), a run folder is where it records
(new; ``None`` makes one under the checkpoints folder), callbacks join its Trainer::

    from digitnet import train

    result = train({"layers": [784, 100, 10], "lr": 0.1, "epochs": 3}, "checkpoints/lr0.1")
    # run lr0.1: 784-100-10 relu, 79,400 weights and 110 biases, mnist, batch 64, 3 epochs
    # ...
    # run lr0.1: test accuracy 96.92%, loss 0.1006, on the 10,000 test images (best.ckpt)
    result.best_val_acc, result.test_acc, result.status   # 0.9673, 0.9692, 'finished'

The run folder is the one ``digitnet fit`` makes (its ``config.yaml`` included), so the dashboard
shows it and ``digitnet fit --ckpt_path lr0.1 --trainer.max_epochs 5`` goes on with it.
``digitnet sweep`` (Optuna's objective), ``reproduce`` and ``compare`` call :func:`train`;
``digitnet fit`` (LightningCLI) takes the same steps before and after its ``Trainer.fit``
(:mod:`digitnet.training.steps`), so a run is the same whichever way it was started.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from digitnet import settings
from digitnet.atomic import atomic_write_text, write_failed
from digitnet.errors import BadSetting
from digitnet.runs import lock as runlock
from digitnet.runs.files import RunFolder
from digitnet.training.claim import RUN_DIR_VARIABLE, claim_run, joined_run, remove_half_made
from digitnet.training.options import check_settings, made, saved_config
from digitnet.training.steps import (
    Result,
    begin,
    check_fit,
    end,
    is_full_batch,
    result_of,
    trainer_refusal,
)

TRAINER_DEFAULTS = {"num_sanity_val_steps": 0, "enable_model_summary": False}
"""What ``digitnet fit`` and :func:`train` change of Lightning's Trainer defaults: no sanity
check (the first validation comes after the first epoch), and a one-line summary of digitnet's
own instead of Lightning's model table (its FLOPs column reads 0 for every network here)."""

SET_BY_THE_RUN = {  # Trainer arguments train() sets itself, and the setting to use instead
    "max_epochs": "the setting epochs",
    "accelerator": "the setting device",
    "default_root_dir": "run_dir",
    "plugins": "nothing (the run folder's safe checkpoint plugin is its own)",
    "enable_checkpointing": "nothing (last.ckpt and best.ckpt are the run folder's)",
}


def train(
    given: Mapping[str, Any] | None = None,
    run_dir: str | Path | None = None,
    callbacks: Sequence[Any] = (),
    *,
    trainer: Mapping[str, Any] | None = None,
    data_dir: str | Path | None = None,
    test: bool = True,
    quiet: bool = False,
) -> Result:
    """Train one new run and return its :class:`Result`.

    ``given``: settings by the registry's names (``lr``, ``layers``, ``batch_size``, ...: fit's
    options without their section; ``epochs``, ``seed`` and ``device`` for fit's
    ``--trainer.max_epochs``, ``--seed_everything`` and ``--trainer.accelerator``), the rest
    their defaults. ``run_dir``: a new folder (or one the dashboard made for it); ``None`` makes
    ``<checkpoints>/<dataset>-<arch>-<time>``. ``callbacks``: more for its Trainer (a sweep's
    pruning; a progress bar of one's own replaces digitnet's). ``trainer``: other
    ``lightning.Trainer`` arguments (``limit_train_batches``, ``precision``, ``logger``; a
    ``{"class_path": ...}`` mapping is made into its object and kept in ``config.yaml``).
    ``test``: test ``best.ckpt`` on the test images after fit. ``quiet``: no progress bar and
    nothing on stdout.

    A bad setting is :class:`~digitnet.errors.BadSetting` in one sentence, before any folder is
    made (a Trainer argument Lightning refuses: after, and the folder is removed); a run that
    diverges or is cancelled raises :class:`~digitnet.errors.RunError` or
    :class:`~digitnet.errors.Cancelled` after saving what it had.
    """
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ProgressBar
    from lightning.pytorch.loggers import Logger
    from lightning.pytorch.utilities.exceptions import MisconfigurationException

    from digitnet.data.module import DigitDataModule
    from digitnet.model.classifier import DigitClassifier
    from digitnet.record.folder import run_folder
    from digitnet.record.progress import UpdatesProgressBar
    from digitnet.record.recorder import RunRecorder

    chosen = check_settings(given or {})
    extra = dict(trainer or {})
    for key, instead in SET_BY_THE_RUN.items():
        if key in extra:
            raise BadSetting(f"trainer argument {key} is the run's own; set {instead} instead.")
    check_fit(extra, chosen["epochs"], chosen["engine"], chosen["arch"])
    objects = {key: made(value) for key, value in extra.items()}  # a class that cannot be made
    config = saved_config(chosen, extra, data_dir, test)  # is one sentence before it is written
    say = (lambda line: None) if quiet else print
    held_before, threads_before = runlock.held(), torch.get_num_threads()
    joined, claimed = joined_run(), None
    try:
        claimed = joined or claim_run(Path(run_dir) if run_dir is not None else None, chosen)
        run_dir = claimed
        os.environ[RUN_DIR_VARIABLE] = str(run_dir)  # inherited by the DDP workers Lightning runs
        try:
            if joined is None:
                atomic_write_text(RunFolder(run_dir).config, config)
        except OSError as error:
            raise write_failed(run_dir, error) from None
        L.seed_everything(chosen["seed"], workers=True, verbose=False)
        model = DigitClassifier(
            **{r.name: chosen[r.name] for r in settings.rows("model")}, dataset=chosen["dataset"]
        )
        data = DigitDataModule(
            **{r.name: chosen[r.name] for r in settings.rows("data")},
            data_dir=None if data_dir is None else str(data_dir),
            full_batch=is_full_batch(chosen["optimizer"]),
        )
        user = objects.pop("callbacks", None) or []
        user = [*callbacks, *(user if isinstance(user, list) else [user])]
        progress = not quiet and objects.get("enable_progress_bar", True) is not False
        if progress and not any(isinstance(c, ProgressBar) for c in user):
            user.append(UpdatesProgressBar())  # in mini-batches, whatever k is
        loggers = objects.pop("logger", None)  # True or None: the run folder's own only
        loggers = loggers if isinstance(loggers, list) else [loggers]
        parts = run_folder(
            run_dir,
            objects.pop("log_every_n_steps", None) or settings.LOG_EVERY,
            user,
            monitor="val_acc" if chosen["val_size"] else None,
            loggers=[logger for logger in loggers if isinstance(logger, Logger)],
        )
        recorder = next(c for c in parts["callbacks"] if isinstance(c, RunRecorder))
        options = {**TRAINER_DEFAULTS, "enable_progress_bar": progress, **objects}
        try:
            fitter = L.Trainer(
                max_epochs=chosen["epochs"], accelerator=chosen["device"], **options, **parts
            )
        except MisconfigurationException as error:
            raise BadSetting(trainer_refusal(str(error))) from None
        except (TypeError, ValueError) as error:  # an argument it has not, a value it refuses
            reason = " ".join(str(error).split()).rstrip(".")
            raise BadSetting(f"{reason}; see lightning.Trainer's arguments.") from None
        threads = begin(fitter, model, data, run_dir, say=say)
        fitter.fit(model, datamodule=data)
        end(fitter, model, data, run_dir, recorder, test, threads, say=say)
        # rank 0 wrote the folder: its result, handed to every DDP worker (on another node the
        # folder may not be there; on this one it may not be written yet)
        result = fitter.strategy.broadcast(result_of(run_dir) if fitter.is_global_zero else None)
    except BaseException:
        if claimed is not None and joined is None:  # a refused start leaves no folder; a run
            remove_half_made(claimed)  # that began keeps its own
        raise
    finally:
        torch.set_num_threads(threads_before)
        for claimed in runlock.held() - held_before:
            runlock.release(claimed)
    return result
