"""A Trainer that trains and nothing else, for the tests that compare weights."""

from __future__ import annotations

import lightning as L


def bare_trainer(**kwargs) -> L.Trainer:
    """No logger, checkpoint, progress bar, summary or validation; on the CPU unless ``kwargs``
    name another accelerator (a test comparing with a CPU reference pins the CPU)."""
    settings = dict(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )
    return L.Trainer(**{**settings, **kwargs})
