"""Provides the runs behind ``digitnet sweep``, ``reproduce`` and ``compare``, and their result
tables.

Each experiment's run is :func:`digitnet.training.api.train` (the steps ``digitnet fit`` takes, the
same run folder); its figures are read back from the run folder: the best validation accuracy
from ``status.json``, the test accuracy of ``best.ckpt`` and the training seconds from
``events.jsonl``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from digitnet.training.api import train
from digitnet.training.options import from_options
from digitnet.training.steps import Result


def fit(
    options: Mapping[str, Any], run_name: str, root: Path, callbacks: Sequence[Any] = ()
) -> Result:
    """Train the run ``root/run_name`` quietly with dotted ``digitnet fit`` options (a sweep's
    spec, a preset's config), through :func:`digitnet.training.api.train`; ``callbacks``: more
    for its Trainer, such as a sweep's pruning.

    >>> fit({"model.lr": 0.1, "trainer.max_epochs": 1}, "lr0.1", Path("checkpoints"))
    ... # doctest: +SKIP
    Result(run='lr0.1', best_val_acc=0.9627, test_acc=0.9611, seconds=8.1, status='finished', ...)
    """
    return train(**from_options(options), run_dir=root / run_name, callbacks=callbacks, quiet=True)


STUCK_GAP = 0.10  # a run this far below the best run of its setting is stuck


@dataclass
class Spread:
    """Figures of several seeds of one setting: median, lowest, highest, and how many got stuck.

    A run is *stuck* when it ends more than ``STUCK_GAP`` (10 points) below the best run of the
    same setting: sigmoid networks with the quadratic cost saturate from some seeds and crawl at
    63-77% for many epochs while others reach 95%.

        >>> spread([0.9619, 0.7624, 0.7775])
        Spread(median=0.7775, low=0.7624, high=0.9619, runs=3, stuck=2)
    """

    median: float | None
    low: float | None
    high: float | None
    runs: int
    stuck: int

    def text(self) -> str:
        """``95.12 (76.24-96.19)``: the median, then the range."""
        if self.median is None:
            return "-"
        return f"{pct(self.median)} ({pct(self.low)}-{pct(self.high)})"


def spread(figures: list[float | None]) -> Spread:
    known = [f for f in figures if f is not None]
    if not known:
        return Spread(None, None, None, 0, 0)
    best = max(known)
    stuck = sum(1 for f in known if f < best - STUCK_GAP)
    return Spread(statistics.median(known), min(known), max(known), len(known), stuck)


def textbook_splits(setting, data_dir: str | None = None) -> dict[str, tuple]:
    """The preset's train/val/test images as ``network.py`` takes them: float64 in [0, 1]."""
    from digitnet.data.module import DigitDataModule

    data = DigitDataModule(setting.dataset, data_dir=data_dir, val_size=setting.val_size)
    data.prepare_data()
    data.setup()
    splits = {"train": data.train_set, "val": data.val_set, "test": data.test_set}
    return {
        name: (x.reshape(len(y), -1).double().numpy() / 255, y.numpy())
        for name, (x, y) in splits.items()
    }


def stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def plain_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in [header, *rows]
    )


def write_tables(
    out: Path,
    title: str,
    header: list[str],
    rows: list[list[str]],
    records: list[dict],
    notes: str = "",
) -> None:
    """Write ``out.md`` (a Markdown table with a title and notes) and ``out.json`` (every
    figure)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(f"# {title}\n\n{markdown_table(header, rows)}\n{notes}")
    out.with_suffix(".json").write_text(json.dumps(records, indent=1))


def as_dict(result: Result) -> dict:
    return asdict(result)
