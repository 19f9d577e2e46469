"""Provides :class:`DigitDataModule`, MNIST or FashionMNIST as a LightningDataModule.

The 60,000 official training images are split, with a fixed seed, into ``60,000 - val_size``
images to train on and ``val_size`` to validate on (default 50,000 / 10,000, the textbook's split);
the official 10,000 test images are the test set. Each split is one uint8 tensor in memory.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch

from digitnet import checks, updates
from digitnet.data.catalog import CATALOG, DATASETS, SPLITS
from digitnet.data.idx import check_pair, parse_idx
from digitnet.data.loader import TensorBatches
from digitnet.data.sources import (
    check_data_dir,
    default_data_dir,
    fetch,
    has_files,
    raw_dir,
    read_file,
    verify,
)
from digitnet.errors import BadSetting, DataError
from digitnet.settings import DEFAULTS

SPLIT_SEED = 12345  # fixed, so every run of a data set validates on the same 10,000 images


def load_split(dataset: str, split: str, data_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Read, verify and decode one split; raises :class:`DataError` naming a bad or missing file."""
    info = CATALOG[dataset]
    folder = raw_dir(data_dir, dataset)
    tensors = []
    for name, ndim in zip(SPLITS[split], (3, 1)):
        path = folder / name
        if not path.is_file():
            raise DataError(f"{path} is missing; run 'digitnet data fetch {dataset}'.")
        raw = read_file(path)
        verify(info, name, raw, str(path))
        tensors.append(parse_idx(raw, str(path), ndim))
    images, labels = tensors
    check_pair(images, labels, f"{dataset} {split}")
    return images, labels.long()


class DigitDataModule(L.LightningDataModule):
    """MNIST or FashionMNIST in memory, batched without per-sample work.

    Args:
        dataset: ``mnist`` or ``fashion_mnist``.
        data_dir: where the IDX files live (default ``$DIGITNET_DATA`` or ``data/``).
        batch_size: images per training step (64, as on the slides). Validation and test use
            batches of 1,000, which changes no result, only speed.
        val_size: training images held out for validation (default 10,000).
        seed: seeds the shuffle order; epoch ``e`` is always shuffled the same way for a seed.
        full_batch: one batch holding the whole training split, for full-batch gradient descent:
            ``digitnet fit --model.optimizer gd`` sets it (a linked argument); from Python, pass
            it with ``DigitClassifier(optimizer="gd")``, which refuses to train without it.
        shuffle: reshuffle the training split every epoch (the slides' ``DataLoader`` does not;
            nor does Lightning's ``overfit_batches``, which takes the same batches every epoch).

    To digitnet's classifier it hands uint8 pixels, scaled on the device; to any other
    LightningModule what one expects: ``x`` float ``[B, 1, 28, 28]``, ``(p / 255 - mean) / std``
    with the data set's mean and std (``CATALOG[dataset]``), and ``y`` long ``[B]``.
        steps_per_call: mini-batches handed to each Lightning training step, which runs one update
            per mini-batch (see :class:`~digitnet.data.loader.TensorBatches`). It changes speed,
            never results: every count a user sees is in mini-batches. ``None`` picks it
            (:func:`digitnet.updates.steps_per_call`): 16 at batch 64, 102 at batch 10, and 1
            wherever a Trainer option counts steps (``limit_train_batches``, ``max_steps``, ...).
    """

    def __init__(
        self,
        dataset: str = DEFAULTS["dataset"],
        data_dir: str | None = None,
        batch_size: int = DEFAULTS["batch_size"],
        val_size: int = DEFAULTS["val_size"],
        seed: int = 0,
        full_batch: bool = False,
        shuffle: bool = DEFAULTS["shuffle"],
        steps_per_call: int | None = None,
    ) -> None:
        super().__init__()
        checks.check_choice("dataset", dataset, DATASETS)
        checks.check_positive_int("batch_size", batch_size, "; 64 is the slides' value")
        checks.check_val_size(val_size)
        self.save_hyperparameters()
        self.dataset, self.batch_size, self.val_size = dataset, batch_size, val_size
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.seed, self.full_batch, self.shuffle = seed, full_batch, shuffle
        if steps_per_call is not None:
            checks.check_positive_int("steps_per_call", steps_per_call)
        self.steps_per_call = steps_per_call
        self.resumed_group: int | None = None  # k of a checkpoint saved inside an epoch
        self.resumed_place: dict | None = None  # its loader's place (see load_state_dict)
        self.train_batches: TensorBatches | None = None  # the loader Lightning trains from
        self.info = CATALOG[dataset]
        self.train_set = self.val_set = self.test_set = None
        check_data_dir(dataset, self.data_dir)  # before any run folder is made

    def prepare_data(self) -> None:
        """Fetch the four files from the first source that works (only on rank 0 of each node)."""
        if not has_files(self.dataset, self.data_dir):
            fetch(self.dataset, self.data_dir)

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit", "validate") and self.train_set is None:
            images, labels = load_split(self.dataset, "train", self.data_dir)
            if self.val_size >= len(labels):
                raise BadSetting(
                    f"val_size {self.val_size} leaves no training images out of {len(labels)}; "
                    f"use a smaller --data.val_size."
                )
            order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
            train, val = order[self.val_size :], order[: self.val_size]
            self.train_set = self._on_device(images[train], labels[train])
            self.val_set = self._on_device(images[val], labels[val])
        if stage in (None, "test", "predict") and self.test_set is None:
            self.test_set = self._on_device(*load_split(self.dataset, "test", self.data_dir))

    def _on_device(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Keep the split resident on the training device, so batches never cross the bus."""
        trainer = self.trainer
        device = trainer.strategy.root_device if trainer is not None else torch.device("cpu")
        return images.contiguous().to(device), labels.to(device)

    def _batches(
        self, split, batch_size: int, shuffle: bool, steps_per_call: int = 1
    ) -> TensorBatches:
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        stats = None if self.takes_uint8() else (self.info.mean, self.info.std)
        return TensorBatches(
            *split, batch_size, shuffle, self.seed, rank, world, steps_per_call, stats
        )

    def takes_uint8(self) -> bool:
        """Whether the module trained gets uint8 pixels (digitnet's classifier scales them on the
        device itself) or, like any other LightningModule, floats normalised with the data set's
        mean and std, one mini-batch a step."""
        trainer = self.trainer
        module = trainer.lightning_module if trainer is not None else None
        return module is None or getattr(module, "takes_uint8_pixels", False)

    def train_dataloader(self) -> TensorBatches:
        self.train_batches = self._train_batches()
        if self.resumed_place is not None:  # see load_state_dict
            self.train_batches.load_state_dict(self.resumed_place)
            self.resumed_place = None
        return self.train_batches

    def _train_batches(self) -> TensorBatches:
        if self.full_batch:
            return self._batches(self.train_set, len(self.train_set[1]), shuffle=False)
        # overfit_batches: the same batches every epoch, as Lightning's own loaders give them
        overfit = self.trainer is not None and self.trainer.overfit_batches > 0
        shuffle = self.shuffle and not overfit
        return self._batches(self.train_set, self.batch_size, shuffle, self.group)

    @property
    def group(self) -> int:
        """k, the mini-batches of each training step, for this data module's Trainer: the one
        asked for, else the one a checkpoint saved inside an epoch was grouped by (its place is
        counted in those groups), else :func:`digitnet.updates.steps_per_call`'s choice."""
        if self.full_batch or not self.takes_uint8():
            return 1
        asked = self.steps_per_call if self.steps_per_call is not None else self.resumed_group
        return updates.steps_per_call(asked, self.batch_size, self.trainer)

    @property
    def updates_per_epoch(self) -> int:
        """Optimizer updates in one full epoch on this rank (needs ``setup``)."""
        return (self.train_batches or self._train_batches()).updates

    def state_dict(self) -> dict:
        """k, whether the checkpoint is taken inside an epoch (see :attr:`group`), and the
        loader's place (see :meth:`load_state_dict`)."""
        loader = self.train_batches
        if loader is None:
            return {}
        inside = 0 < loader.position < len(loader)
        return {
            "steps_per_call": loader.steps_per_call,
            "inside_epoch": inside,
            "place": loader.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Keep k and the loader's place for the loader this module makes next.

        Lightning restores the place itself, but not where ``configure_optimizers`` asks for
        ``trainer.estimated_stepping_batches`` (as the cosine schedule does: Lightning issue
        #20550): the loader is then made before the checkpoint's loops are read, and resuming
        inside an epoch would start it over. The data module is restored before that, so the
        loader it makes starts at the saved place; Lightning's own restore, where it happens,
        sets the same place again.
        """
        saved = state.get("steps_per_call")
        if state.get("inside_epoch") is True and isinstance(saved, int) and saved > 0:
            self.resumed_group = saved
            place = state.get("place")
            self.resumed_place = place if isinstance(place, dict) else None

    def val_dataloader(self) -> TensorBatches | list:
        return self._batches(self.val_set, 1000, shuffle=False) if self.val_size else []

    def test_dataloader(self) -> TensorBatches:
        return self._batches(self.test_set, 1000, shuffle=False)

    def predict_dataloader(self) -> TensorBatches:
        return self.test_dataloader()
