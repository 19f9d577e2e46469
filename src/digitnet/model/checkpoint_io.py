"""Provides :class:`SafeCheckpointIO`, Lightning's checkpoint I/O through
:mod:`digitnet.model.checkpoints`: every save atomic, every load ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from digitnet.atomic import write_failed
from digitnet.model.checkpoints import (
    DIGEST_KEY,
    all_finite,
    atomic_save,
    load_checkpoint,
    weights_digest,
)


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O with atomic saves, refused non-finite weights and safe loads."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        if not all_finite(checkpoint):
            # never replace a good checkpoint with NaN weights; the divergence guard stops the run
            return
        checkpoint = {**checkpoint, DIGEST_KEY: weights_digest(checkpoint["state_dict"])}
        try:
            atomic_save(checkpoint, Path(path))
        except OSError as error:
            raise write_failed(Path(path).parent, error) from None

    def load_checkpoint(
        self, path: Any, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return load_checkpoint(path)
