"""Provides :class:`RunView`, what the dashboard knows of one run, folded from its ``events.jsonl``.

Per-step events replace each other's effect (the latest progress wins), so however far behind the
dashboard falls, one refresh shows the newest state. Imports neither torch nor textual.

    >>> view = RunView()
    >>> view.apply({"event": "start", "max_epochs": 2, "steps_per_epoch": 100, "batch_size": 64})
    >>> view.apply({"event": "step", "epoch": 0, "step": 50, "batch": 49, "train_loss": 0.4,
    ...             "samples_per_s": 6400.0})
    >>> view.progress_text()
    'epoch 1/2  batch 50/100  6,400 samples/s  ~2s left'
    >>> view.progress_text(live=False)
    'epoch 1/2  batch 50/100'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SYSTEM_KEPT = 120  # system samples kept for the small charts: two minutes at one a second


@dataclass
class RunView:
    """The chart series, tables and progress of a run."""

    config: dict[str, Any] = field(default_factory=dict)
    max_epochs: int | None = None
    steps_per_epoch: int | None = None
    batch_size: int | None = None
    train_steps: list[float] = field(default_factory=list)
    train_losses: list[float] = field(default_factory=list)
    val_epochs: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    val_accs: list[float] = field(default_factory=list)
    epoch_rows: list[dict[str, Any]] = field(default_factory=list)
    confusion: list[list[int]] | None = None
    samples: dict[str, Any] | None = None
    test: dict[str, Any] | None = None
    epoch: int = 0
    batch: int = 0
    samples_per_s: float = 0.0
    ended: str | None = None
    error: str = ""
    weights_epoch: int = 0  # epochs done at the checkpoint weights.npy comes from
    system: list[dict[str, float]] = field(default_factory=list)  # the last SYSTEM_KEPT samples
    # events applied, by kind: {"step": 40, "epoch": 2}
    counts: dict[str, int] = field(default_factory=dict)

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "start":
            self.config = event.get("config", self.config)
            self.max_epochs = event.get("max_epochs", self.max_epochs)
            self.steps_per_epoch = event.get("steps_per_epoch", self.steps_per_epoch)
            self.batch_size = event.get("batch_size", self.batch_size)
            self.epoch, self.batch, self.ended = event.get("epoch", self.epoch), 0, None
            if "step" in event:  # a resume: forget what the stopped launch did past its checkpoint
                self._forget_after(event["step"], self.epoch)
        elif kind == "step":
            if "train_loss" in event and "step" in event:
                self.train_steps.append(float(event["step"]))
                self.train_losses.append(float(event["train_loss"]))
            self.epoch, self.batch = event.get("epoch", self.epoch), event.get("batch", 0) + 1
            self.samples_per_s = float(event.get("samples_per_s") or self.samples_per_s)
        elif kind == "val":
            if "val_acc" in event:
                self.val_epochs.append(float(event.get("epoch", 0)) + 1)
                self.val_losses.append(float(event.get("val_loss", float("nan"))))
                self.val_accs.append(float(event["val_acc"]))
            self.confusion = event.get("confusion") or self.confusion
        elif kind == "epoch":
            self.epoch_rows = [
                row for row in self.epoch_rows if row.get("epoch") != event.get("epoch")
            ] + [event]
            self.epoch, self.batch = event.get("epoch", self.epoch - 1) + 1, 0
        elif kind == "samples":
            self.samples = event
        elif kind == "test":
            self.test = event
        elif kind == "weights":
            self.weights_epoch = event.get("epoch", self.weights_epoch)
        elif kind == "system":
            self.system = [*self.system[-(SYSTEM_KEPT - 1) :], event]
        elif kind == "end":
            self.ended, self.error = event.get("status"), event.get("error", "")
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def _forget_after(self, step: int, epoch: int) -> None:
        kept = [i for i, s in enumerate(self.train_steps) if s <= step]
        self.train_steps = [self.train_steps[i] for i in kept]
        self.train_losses = [self.train_losses[i] for i in kept]
        shown = [i for i, e in enumerate(self.val_epochs) if e <= epoch]  # val_epochs count from 1
        self.val_epochs, self.val_losses, self.val_accs = (
            [series[i] for i in shown]
            for series in (self.val_epochs, self.val_losses, self.val_accs)
        )
        self.epoch_rows = [row for row in self.epoch_rows if row.get("epoch", 0) < epoch]

    def progress_text(self, live: bool = True) -> str:
        """``epoch 3/10  batch 120/782  9,800 samples/s  ~41s left``: where the run is and how long
        it needs.

        ``live=False`` (its process is gone, killed without a word) leaves the speed and time out:
        ``epoch 3/10  batch 120/782``, where it stopped.
        """
        if self.max_epochs is None:
            return "waiting for the run to start..."
        if self.ended:
            done = f"{len(self.epoch_rows)} epochs"
            if self.test:
                done += f", test accuracy {100 * self.test.get('test_acc', 0):.2f}%"
            return done
        shown_epoch = min(self.epoch + 1, self.max_epochs)
        text = f"epoch {shown_epoch}/{self.max_epochs}"
        if self.steps_per_epoch:
            text += f"  batch {self.batch}/{self.steps_per_epoch}"
        if live and self.samples_per_s and self.steps_per_epoch and self.batch_size:
            remaining_batches = (self.max_epochs - self.epoch) * self.steps_per_epoch - self.batch
            seconds = max(0, remaining_batches) * self.batch_size / self.samples_per_s
            text += f"  {self.samples_per_s:,.0f} samples/s  ~{_duration(seconds)} left"
        return text

    def system_text(self) -> str:
        """The newest system sample in words, or ``""`` before the first:
        ``CPU 187%  memory 1.21 GB  GPU memory 0.81 GB  GPU 43%``.

        >>> view = RunView()
        >>> view.apply({"event": "system", "t": 1.0, "cpu_percent": 187.5, "rss_mb": 1240.0})
        >>> view.system_text()
        'CPU 188%  memory 1.21 GB'
        """
        return "  ".join(part for part in self.system_figures() if part)

    def system_figures(self) -> tuple[str, str, str]:
        """The newest sample's (CPU, memory, GPU) figures in words; ``""`` for one not recorded."""
        last = self.system[-1] if self.system else {}
        cpu = f"CPU {last['cpu_percent']:.0f}%" if "cpu_percent" in last else ""
        memory = f"memory {last['rss_mb'] / 1024:.2f} GB" if "rss_mb" in last else ""
        gpu = []
        if "gpu_mem_mb" in last:
            gpu.append(f"GPU memory {last['gpu_mem_mb'] / 1024:.2f} GB")
        if "gpu_util" in last:
            gpu.append(f"GPU {last['gpu_util']:.0f}%")
        return cpu, memory, "  ".join(gpu)

    def system_series(self, key: str) -> list[float]:
        """One figure of the kept samples, oldest first (for a small chart)."""
        return [sample[key] for sample in self.system if key in sample]

    def fraction_done(self) -> float:
        if not self.max_epochs or not self.steps_per_epoch:
            return 0.0
        done = self.epoch * self.steps_per_epoch + self.batch
        return min(1.0, done / (self.max_epochs * self.steps_per_epoch))


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
