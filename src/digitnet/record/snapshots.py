"""Provides :class:`Snapshots`: what a run shows of its network besides numbers.

- ``weights.npy``: the first layer's weights as images (the dashboard's Weights tab), written
  whenever a checkpoint is saved, once per update count (``best.ckpt`` and ``last.ckpt`` of one
  epoch end write it once), with a ``weights`` event saying when.
- a ``samples`` event after each validation: the first :data:`SAMPLE_COUNT` validation images,
  their labels and the network's guesses (the Samples tab).

Part of :class:`~digitnet.record.recorder.RunRecorder`, which calls it from its hooks.
"""

from __future__ import annotations

import lightning as L
import torch

from digitnet.model.networks import first_layer_images
from digitnet.record.writer import RunWriter
from digitnet.runs import layout

SAMPLE_COUNT = 24


class Snapshots:
    def __init__(self, writer: RunWriter) -> None:
        self.writer = writer
        self.weights_at: int | None = None  # the update count weights.npy was written at

    def weights(
        self, trainer: L.Trainer, pl_module: L.LightningModule, step: int, epoch: int
    ) -> None:
        network = getattr(pl_module, "network", None)
        if trainer.is_global_zero and network is not None and step != self.weights_at:
            self.weights_at = step
            self.writer.write(layout.write_weights, first_layer_images(network).numpy())
            self.writer.event(trainer, "weights", epoch=epoch, step=step)

    def samples(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        datamodule = trainer.datamodule
        split = getattr(datamodule, "val_set", None)
        if not trainer.is_global_zero or split is None or len(split[1]) == 0:
            return
        images, labels = split[0][:SAMPLE_COUNT], split[1][:SAMPLE_COUNT]
        with torch.no_grad():
            predicted = pl_module(pl_module.scale(images.unsqueeze(1))).argmax(dim=1)
        classes = list(getattr(getattr(datamodule, "info", None), "classes", range(10)))
        self.writer.event(
            trainer,
            "samples",
            epoch=trainer.current_epoch,
            images=images.reshape(len(labels), -1).tolist(),
            labels=labels.tolist(),
            predicted=predicted.tolist(),
            classes=[str(c) for c in classes],
        )
