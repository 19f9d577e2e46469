"""Provides the runs behind ``digitnet reproduce`` and ``digitnet compare``, and their result
tables.

Each experiment is an ordinary ``digitnet fit`` (same code path, same run folder); its figures are
read back from the run folder: the best validation accuracy from ``status.json``, the test
accuracy of ``best.ckpt`` and the training seconds from ``events.jsonl``.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from digitnet.runs import layout, listing
from digitnet.runs.process import QUIET


@dataclass
class Result:
    run: str
    best_val_acc: float | None
    test_acc: float | None
    seconds: float
    status: str
    updates_per_epoch: int | None = None


def fit(args: list[str], run_name: str, root: Path) -> Result:
    """Run ``digitnet fit ARGS`` in this process and read its figures back from its run folder."""
    from digitnet.cli.lightning_cli import run_lightning

    run_lightning(["fit", *args, "--run_name", run_name, "--checkpoints_dir", str(root), *QUIET])
    run_dir = root / run_name
    info = listing.read_run(run_dir)
    test, seconds, updates = None, 0.0, None
    for event in layout.iter_events(run_dir):
        if event["event"] == "start":
            updates = event.get("steps_per_epoch", updates)
        elif event["event"] == "test":
            test = event.get("test_acc")
        elif event["event"] == "epoch":
            seconds += event.get("seconds", 0.0)
    return Result(run_name, info.best_val_acc, test, round(seconds, 2), info.status, updates)


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
