"""Provides :func:`quiet_known_noise`: the one filter of Lightning's and torch's output that does
not apply to digitnet's own set-up.

A default ``digitnet fit`` prints its progress, its result and digitnet's own sentences; Lightning
would add the accelerators it did not find, its tips, warnings about choices digitnet made on
purpose (its own data loading, a run folder it writes into on purpose) and a model summary whose
FLOPs column reads 0. The CLI calls this before anything runs, and so does
:func:`~digitnet.record.folder.run_folder`, so Python runs are as quiet. Each entry says why it is
noise here; anything not listed still shows.
"""

from __future__ import annotations

import logging
import warnings

WARNINGS = (
    r".*isinstance\(treespec, LeafSpec\)",  # Lightning's own call into torch, deprecated there
    r"You have overridden `on_after_batch_transfer`",  # digitnet scales pixels there, on purpose
    r"Checkpoint directory .* exists and is not empty",  # a run folder is resumed in place
    r".*does not have many workers",  # batches are sliced from a tensor: no workers to have
    r"Experiment logs directory .* exists",  # the same, for a logger beside the run folder
    r"LightningCLI's args parameter is intended",  # digitnet hands LightningCLI its arguments
    r"Be aware that when using `ckpt_path`, callbacks used to create the checkpoint",  # resumed
    r"The number of training batches .* is smaller than the logging interval",  # each epoch's
    # last update is logged as well
    r"Total length of `list` across ranks is zero",  # --data.val_size 0: no validation, asked
)
INFO = (  # lines Lightning logs at INFO that say nothing a digitnet user needs
    "Tip:",
    "to estimate number of stepping batches",
    "Seed set to",
    "GPU available:",
    "TPU available:",
    "HPU available:",
    "LOCAL_RANK:",
    "`Trainer.fit` stopped:",
    "Restoring states from the checkpoint",
    "Loaded model weights from the checkpoint",
)


def quiet_known_noise() -> None:
    """Install the filters (once a process)."""
    if getattr(quiet_known_noise, "done", False):
        return
    quiet_known_noise.done = True
    for pattern in WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(
            lambda record: not any(text in record.getMessage() for text in INFO)
        )
    logging.getLogger("lightning.fabric.utilities.seed").setLevel(logging.WARNING)
