"""Provides :class:`TensorBatches`, mini-batches sliced from a data set held as one uint8 tensor.

No per-sample work happens on the hot path: a batch is one gather ``images[index]`` of uint8
pixels (64 x 28 x 28 bytes for a batch of 64); the model scales them to floats after the batch is
on the training device (see ``DigitClassifier.on_after_batch_transfer``).

The shuffle order of epoch ``e`` is ``torch.randperm(n, generator=seed(seed * 1_000_003 + e))``, a
function of (seed, epoch) alone, so a resumed run sees exactly the order an uninterrupted one
would. Under DDP each of ``world_size`` ranks takes every ``world_size``-th index of that order,
padded by wrapping so all ranks run the same number of batches (as ``DistributedSampler`` does).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from digitnet.errors import BadSetting
from digitnet.updates import steps_for


class EpochSampler:
    """The index order for one epoch; Lightning calls :meth:`set_epoch` before each epoch."""

    def __init__(
        self, n: int, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1
    ) -> None:
        self.n, self.shuffle, self.seed = n, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def order(self) -> torch.Tensor:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.n, generator=generator)
        else:
            order = torch.arange(self.n)
        if self.world_size > 1:
            per_rank = math.ceil(self.n / self.world_size)
            order = order.repeat(math.ceil(per_rank * self.world_size / max(self.n, 1)))[
                : per_rank * self.world_size
            ]
            order = order[self.rank :: self.world_size]
        return order

    def __len__(self) -> int:
        return math.ceil(self.n / self.world_size)


class TensorBatches:
    """An iterable of ``(pixels uint8 [B, 1, 28, 28], labels int64 [B])`` batches.

    >>> images = torch.zeros(100, 28, 28, dtype=torch.uint8)
    >>> labels = torch.zeros(100, dtype=torch.long)
    >>> batches = TensorBatches(images, labels, 64)
    >>> len(batches), [x.shape[0] for x, _ in batches]
    (2, [64, 36])

    With ``normalize=(mean, std)`` the pixels come as floats ``(p / 255 - mean) / std``, what a
    LightningModule that is not digitnet's expects:

    >>> x, y = next(iter(TensorBatches(images, labels, 64, normalize=(0.1307, 0.3081))))
    >>> x.dtype, tuple(x.shape), round(float(x[0, 0, 0, 0]), 4)
    (torch.float32, (64, 1, 28, 28), -0.4242)

    With ``steps_per_call=K`` it yields up to K full mini-batches stacked into one item,
    ``(pixels [k, B, 1, 28, 28], labels [k, B])``, so that one Lightning step can run k updates (its
    per-step bookkeeping then costs k times less); a short last mini-batch comes alone, as above.
    The mini-batches and their order are the same for every K: 200 images, B = 64, K = 2 give
    ``[2 x 64]``, ``[1 x 64]``, then ``[8]``.

    It is stateful in Lightning's sense: ``state_dict()`` holds the epoch and how many items of it
    were used, so a resume mid-epoch skips exactly those (see :meth:`load_state_dict`).
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        steps_per_call: int = 1,
        normalize: tuple[float, float] | None = None,
    ) -> None:
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.normalize = normalize  # (mean, std) of [0, 1] pixels: float batches, not uint8
        self.steps_per_call = max(1, steps_per_call)
        self.sampler = EpochSampler(len(labels), shuffle, seed, rank, world_size)
        self.batch_sampler = None  # Lightning inspects DataLoader-like objects for these two
        self.position = 0  # items handed out in the current epoch
        self._skip, self._skip_epoch = 0, None

    @property
    def updates(self) -> int:
        """Mini-batches (optimizer updates) per epoch, whatever ``steps_per_call`` is."""
        return math.ceil(len(self.sampler) / self.batch_size)

    def __len__(self) -> int:
        full, rest = divmod(len(self.sampler), self.batch_size)
        return steps_for(full, self.steps_per_call) + (1 if rest else 0)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.sampler.order().to(self.images.device)
        full = len(order) // self.batch_size
        if self.steps_per_call == 1:
            items = [
                order[b : b + self.batch_size]
                for b in range(0, full * self.batch_size, self.batch_size)
            ]
        else:
            grid = order[: full * self.batch_size].view(full, self.batch_size)
            items = [grid[g : g + self.steps_per_call] for g in range(0, full, self.steps_per_call)]
        if len(order) > full * self.batch_size:
            items.append(order[full * self.batch_size :])
        start = self._skip if self._skip_epoch == self.sampler.epoch else 0
        self._skip, self._skip_epoch = 0, None
        self.position = start
        for index in items[start:]:
            self.position += 1
            pixels = self.images[index].unsqueeze(-3)
            if self.normalize is not None:  # for a LightningModule that is not digitnet's
                mean, std = self.normalize
                pixels = (pixels.float() / 255.0 - mean) / std
            yield pixels, self.labels[index]

    def state_dict(self) -> dict[str, int]:
        """``position`` counts the items handed out, which are the items training has finished
        whenever Lightning saves a checkpoint: it fetches a loader that has a length one item at a
        time, with no item ahead (``tests/test_reliability.py`` resumes mid-epoch and compares with
        an uninterrupted run, so a change there would fail it)."""
        return {
            "epoch": self.sampler.epoch,
            "position": int(self.position),
            "steps_per_call": self.steps_per_call,
        }

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume inside epoch ``state['epoch']`` after ``state['position']`` items.

        The skip applies to the first pass over that epoch only; when Lightning goes on to the next
        epoch instead (the checkpoint was taken at an epoch's end), nothing is skipped.
        """
        self._skip = min(int(state.get("position", 0)), len(self))
        self._skip_epoch = state.get("epoch")
        saved = state.get("steps_per_call", self.steps_per_call)  # absent before 2026-12
        if saved != self.steps_per_call and 0 < self._skip < len(self):
            raise BadSetting(
                f"this checkpoint was saved inside an epoch with --data.steps_per_call {saved}, "
                "and its place in the epoch is counted in groups of that many mini-batches; "
                f"resume with --data.steps_per_call {saved} (it changes speed, never results)."
            )
