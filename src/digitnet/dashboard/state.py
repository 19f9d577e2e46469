"""Provides :class:`RunView`, what the dashboard knows of one run, folded from its ``events.jsonl``.

Per-step events replace each other's effect (the latest progress wins), so however far behind the
dashboard falls, one refresh shows the newest state. Imports neither torch nor textual.

    >>> view = RunView()
    >>> view.apply({"event": "start", "max_epochs": 2, "steps_per_epoch": 100, "batch_size": 64,
    ...             "time": 1000.0})
    >>> view.apply({"event": "step", "epoch": 0, "step": 50, "batch": 49, "samples_per_s": 6400.0})
    >>> view.progress_text()
    'epoch 1/2  batch 50/100  6,400 samples/s  ~2s left'
    >>> view.progress_text(live=False)
    'epoch 1/2  batch 50/100'

Every number enters through :meth:`RunView.apply`, the one guard: a value that is not finite, or
outside its range (an accuracy of 1.7, a negative learning rate), never becomes a point, so no
widget ever hands a NaN to a plotting library::

    >>> view.apply({"event": "metrics", "step": 100, "train_loss": float("nan"), "lr": 0.05})
    >>> view.apply({"event": "metrics", "step": 100, "val_loss": 0.2, "val_acc": 1.7})
    >>> view.train_loss.steps, view.lr.values, view.val_loss.values, view.val_acc.values
    ([], [0.05], [0.2], [])
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

from digitnet.runs.table import duration

SYSTEM_RECENT = 120  # samples the system line's sparklines show: two minutes at one a second

# What each series accepts: a finite number in [low, high]. The highs are far past any real run
# (a loss of 1e12, a learning rate of 1e6) but keep a plot's arithmetic finite.
RANGES = {
    "train_loss": (0.0, 1e12),
    "val_loss": (0.0, 1e12),
    "val_acc": (0.0, 1.0),
    "lr": (0.0, 1e6),
    "cpu_percent": (0.0, 1e5),
    "rss_mb": (0.0, 1e9),
    "gpu_mem_mb": (0.0, 1e9),
    "gpu_util": (0.0, 100.0),
}


def accepted(key: str, value: Any) -> bool:
    """True if ``value`` may become a point of series ``key`` (see :data:`RANGES`).

    >>> [accepted("val_acc", v) for v in (0.97, 1.5, float("inf"), "0.9", True)]
    [True, False, False, False, False]
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    low, high = RANGES.get(key, (-math.inf, math.inf))
    return math.isfinite(value) and low <= value <= high


@dataclass
class Series:
    """One curve of a run: points at update counts (``steps``), with the wall time of each.

    A point at a step already held replaces it (a line read twice, or logged twice by a resume),
    so the steps stay sorted and unique.
    """

    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def add(self, step: float, value: float, time: float) -> None:
        if not self.steps or step > self.steps[-1]:
            self.steps.append(step)
            self.values.append(value)
            self.times.append(time)
            return
        i = bisect.bisect_left(self.steps, step)
        if i < len(self.steps) and self.steps[i] == step:
            self.values[i], self.times[i] = value, time
        else:
            self.steps.insert(i, step)
            self.values.insert(i, value)
            self.times.insert(i, time)

    def keep_until(self, step: float) -> None:
        """Forget the points after ``step``."""
        end = bisect.bisect_right(self.steps, step)
        del self.steps[end:], self.values[end:], self.times[end:]

    def __len__(self) -> int:
        return len(self.steps)


MOST_EXTRA = 16  # a user's own metrics drawn for one run
SERIES = ("train_loss", "lr", "val_loss", "val_acc", "cpu_percent", "rss_mb", "gpu_mem_mb")


@dataclass
class RunView:
    """The chart series, tables and progress of a run."""

    config: dict[str, Any] = field(default_factory=dict)
    max_epochs: int | None = None
    steps_per_epoch: int | None = None
    batch_size: int | None = None
    started_at: float | None = None  # wall time of the first launch's start: the time axis's 0
    train_loss: Series = field(default_factory=Series)
    lr: Series = field(default_factory=Series)
    val_loss: Series = field(default_factory=Series)
    val_acc: Series = field(default_factory=Series)
    cpu_percent: Series = field(default_factory=Series)  # the whole run's system figures
    rss_mb: Series = field(default_factory=Series)
    gpu_mem_mb: Series = field(default_factory=Series)
    extra: dict[str, Series] = field(default_factory=dict)  # what a user's own code logged
    epoch_rows: list[dict[str, Any]] = field(default_factory=list)
    confusion: list[list[int]] | None = None
    samples: dict[str, Any] | None = None
    test: dict[str, Any] | None = None
    epoch: int = 0
    batch: int = 0
    step: int = 0  # the newest update count seen
    samples_per_s: float = 0.0
    ended: str | None = None
    error: str = ""
    diverged_at: int | None = None  # the update whose loss was not finite
    weights_epoch: int = 0  # epochs done at the checkpoint weights.npy comes from
    system: list[dict[str, float]] = field(default_factory=list)  # the last SYSTEM_RECENT samples
    # events applied, by kind: {"step": 40, "epoch": 2}
    counts: dict[str, int] = field(default_factory=dict)

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        time = event.get("time", 0.0)
        step = event.get("step")
        if isinstance(step, int) and step >= 0:
            self.step = max(self.step, step)
        else:
            step = None
        if kind == "start":
            self.config = event.get("config", self.config)
            self.max_epochs = event.get("max_epochs", self.max_epochs)
            self.steps_per_epoch = event.get("steps_per_epoch", self.steps_per_epoch)
            self.batch_size = event.get("batch_size", self.batch_size)
            self.epoch, self.batch, self.ended, self.diverged_at = (
                event.get("epoch", self.epoch),
                0,
                None,
                None,
            )
            if self.started_at is None:
                self.started_at = time
            if step is not None:  # a resume: forget what the stopped launch did past its checkpoint
                self._forget_after(step, self.epoch)
        elif kind in ("metrics", "step", "val"):  # "step" and "val": runs recorded before metrics
            if step is not None:
                for key in ("train_loss", "lr", "val_loss", "val_acc"):
                    self._point(key, step, event.get(key), time)
                for key, value in (event.get("extra") or {}).items():
                    if key in self.extra or len(self.extra) < MOST_EXTRA:
                        if accepted(key, value):
                            self.extra.setdefault(key, Series()).add(float(step), value, time)
            if kind == "step":
                self.epoch, self.batch = event.get("epoch", self.epoch), event.get("batch", 0) + 1
                self.samples_per_s = float(event.get("samples_per_s") or self.samples_per_s)
            if kind == "val":
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
            self.system = [*self.system[-(SYSTEM_RECENT - 1) :], event]
            if step is not None:
                for key in ("cpu_percent", "rss_mb", "gpu_mem_mb"):
                    self._point(key, step, event.get(key), time)
        elif kind == "end":
            self.ended, self.error = event.get("status"), event.get("error", "")
            if self.ended == "diverged" and step is not None:
                self.diverged_at = step
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def _point(self, key: str, step: int, value: Any, time: float) -> None:
        """The guard: a point enters a series only if :func:`accepted` says so."""
        if accepted(key, value):
            getattr(self, key).add(float(step), float(value), time)

    def _forget_after(self, step: int, epoch: int) -> None:
        for key in SERIES:
            getattr(self, key).keep_until(step)
        for series in self.extra.values():
            series.keep_until(step)
        self.epoch_rows = [row for row in self.epoch_rows if row.get("epoch", 0) < epoch]

    def progress_text(self, live: bool = True, status: str | None = None) -> str:
        """``epoch 3/10  batch 120/782  9,800 samples/s  ~41s left``: where the run is and how long
        it needs.

        ``live=False`` (its process is gone, killed without a word) leaves the speed and time out:
        ``epoch 3/10  batch 120/782``, where it stopped. ``status`` is the run's, from its
        folder: a run that ended before training began says so.

            >>> RunView().progress_text(status="failed")
            'failed before training began'
            >>> RunView().progress_text(status="running")
            'waiting for the run to start...'
        """
        if self.max_epochs is None:
            if status in (None, "running"):
                return "waiting for the run to start..."
            return f"{status} before training began"
        if self.ended or (status is not None and status != "running"):
            epochs = len(self.epoch_rows)
            done = f"{epochs} epoch{'s' if epochs != 1 else ''}"
            if (self.ended or status) == "stopped" and self.steps_per_epoch:
                done += f" and {self.batch}/{self.steps_per_epoch} of the next, stopped by a limit"
            if self.diverged_at is not None:
                done += f", diverged at update {self.diverged_at:,}"
            if self.test and "test_acc" in self.test:
                done += f", test accuracy {100 * self.test['test_acc']:.2f}%"
            return done
        shown_epoch = min(self.epoch + 1, self.max_epochs)
        text = f"epoch {shown_epoch}/{self.max_epochs}"
        if self.steps_per_epoch:
            text += f"  batch {self.batch}/{self.steps_per_epoch}"
        if live and self.samples_per_s and self.steps_per_epoch and self.batch_size:
            remaining_batches = (self.max_epochs - self.epoch) * self.steps_per_epoch - self.batch
            seconds = max(0, remaining_batches) * self.batch_size / self.samples_per_s
            text += f"  {self.samples_per_s:,.0f} samples/s  ~{duration(seconds)} left"
        return text

    def system_figures(self) -> tuple[str, str, str]:
        """The newest sample's (CPU, memory, GPU) figures in words; ``""`` for one not recorded.

        >>> view = RunView()
        >>> view.apply({"event": "system", "t": 1.0, "cpu_percent": 187.5, "rss_mb": 1240.0})
        >>> view.system_figures()
        ('CPU 188%', 'memory 1.21 GB', '')
        """
        last = self.system[-1] if self.system else {}
        shown = {key: last[key] for key in RANGES if key in last and accepted(key, last[key])}
        cpu = f"CPU {shown['cpu_percent']:.0f}%" if "cpu_percent" in shown else ""
        memory = f"memory {shown['rss_mb'] / 1024:.2f} GB" if "rss_mb" in shown else ""
        gpu = []
        if "gpu_mem_mb" in shown:
            gpu.append(f"GPU memory {shown['gpu_mem_mb'] / 1024:.2f} GB")
        if "gpu_util" in shown:
            gpu.append(f"GPU {shown['gpu_util']:.0f}%")
        return cpu, memory, "  ".join(gpu)

    def system_series(self, key: str) -> list[float]:
        """One figure of the recent samples, oldest first (for the system line's sparklines)."""
        return [sample[key] for sample in self.system if accepted(key, sample.get(key))]

    def fraction_done(self) -> float:
        if not self.max_epochs or not self.steps_per_epoch:
            return 0.0
        done = self.epoch * self.steps_per_epoch + self.batch
        return min(1.0, max(0.0, done / (self.max_epochs * self.steps_per_epoch)))
