"""Provides :class:`DigitTrainer`: Lightning's ``Trainer`` as ``digitnet fit``, ``validate`` and
``test`` call it, so that their ``--help`` says what ``--ckpt_path`` means in digitnet.

LightningCLI reads each subcommand's options and their help from the trainer's method of that
name; these methods take the same arguments as Lightning's, less ``weights_only`` (digitnet loads
every checkpoint with ``weights_only=True``, whatever is asked), and hand them on unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L


class DigitTrainer(L.Trainer):
    def fit(
        self,
        model: L.LightningModule,
        train_dataloaders: Any = None,
        val_dataloaders: Any = None,
        datamodule: L.LightningDataModule | None = None,
        ckpt_path: str | Path | None = None,
    ) -> None:
        """Train a new run, or go on with one.

        Args:
            model: the network to train.
            train_dataloaders: the training batches (the data module's when not given).
            val_dataloaders: the validation batches (the data module's when not given).
            datamodule: the data set.
            ckpt_path: the run to go on with, in its own folder: ``last`` (the newest run), a
                run's name, or a checkpoint file; its settings come with it (a different data
                set or model is refused). Raise ``--trainer.max_epochs`` to train a finished run
                further.
        """
        return super().fit(model, train_dataloaders, val_dataloaders, datamodule, ckpt_path)

    def validate(
        self,
        model: L.LightningModule | None = None,
        dataloaders: Any = None,
        ckpt_path: str | Path | None = None,
        verbose: bool = True,
        datamodule: L.LightningDataModule | None = None,
    ) -> Any:
        """Measure a run on its validation images.

        Args:
            model: the network.
            dataloaders: the batches (the data module's when not given).
            ckpt_path: the run to measure: ``last`` (the newest run's last.ckpt), a run's name
                (its last.ckpt), or a checkpoint file such as a run's best.ckpt.
            verbose: print the results.
            datamodule: the data set.
        """
        return super().validate(model, dataloaders, ckpt_path, verbose, datamodule)

    def test(
        self,
        model: L.LightningModule | None = None,
        dataloaders: Any = None,
        ckpt_path: str | Path | None = None,
        verbose: bool = True,
        datamodule: L.LightningDataModule | None = None,
    ) -> Any:
        """Measure a run on the 10,000 test images.

        Args:
            model: the network.
            dataloaders: the batches (the data module's when not given).
            ckpt_path: the run to test: ``last`` (the newest run's last.ckpt), a run's name (its
                last.ckpt), or a checkpoint file such as a run's best.ckpt.
            verbose: print the results.
            datamodule: the data set.
        """
        return super().test(model, dataloaders, ckpt_path, verbose, datamodule)
