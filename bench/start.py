"""Start to the first point: the seconds from the dashboard's Start to the new run's first
logged training loss (the first point its chart can draw), for a run started afresh (``digitnet
fit``'s own start-up: Python, torch, Lightning, the data, the first 50 updates) and for one
started in the warm spare the New-run form keeps (:class:`digitnet.runs.process.Spare`), in
interleaved pairs.

The spare is given ``FORM_SECONDS`` to do its imports, as a person filling in the form gives it;
each run is the default run (MNIST, 784-512-512-10), stopped once its first point is written.
``python bench/start.py [--pairs 5]`` prints the table; ``bench/run.py`` puts it in the report.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

from digitnet.runs import process as control
from digitnet.runs.files import RunFolder
from digitnet.runs.spec import LaunchSpec

FORM_SECONDS = 6.0


def first_point(root: Path, warm: bool) -> float:
    spare = control.Spare()
    if warm:
        spare.prepare()
        time.sleep(FORM_SECONDS)
    start = time.perf_counter()
    name, run = control.launch(LaunchSpec(epochs="1"), root, spare)
    metrics = RunFolder(root / name).metrics
    try:
        while True:
            if metrics.is_file():
                with metrics.open() as handle:
                    if any(row.get("train_loss") for row in csv.DictReader(handle)):
                        return time.perf_counter() - start
            if run.poll() is not None:
                raise RuntimeError(f"{name} ended before its first point")
            time.sleep(0.01)
    finally:
        control.cancel(root / name)
        run.wait(timeout=120)


def run(pairs: int = 5) -> dict:
    times = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory() as tmp:
        for pair in range(pairs):
            for kind in ("warm", "cold") if pair % 2 else ("cold", "warm"):
                times[kind].append(first_point(Path(tmp), kind == "warm"))
    return times


def render(times: dict) -> list[str]:
    cold, warm = times["cold"], times["warm"]
    ratio = statistics.median(c / w for c, w in zip(cold, warm))
    show = lambda v: f"{statistics.median(v):.2f} s ({min(v):.2f} / {max(v):.2f})"  # noqa: E731
    return [
        "## Start to the first point",
        "",
        "`bench/start.py`: the seconds from the dashboard's Start (`digitnet.runs.process.launch`) "
        "to the default run's first logged training loss in its `metrics.csv`, the first point "
        f"its chart draws; {len(cold)} interleaved pairs, median (min / max).",
        "",
        "| started | Start to first point |",
        "|---|---|",
        f"| afresh (`digitnet fit`'s own start-up) | {show(cold)} |",
        f"| in the warm spare the New-run form keeps ({FORM_SECONDS:.0f} s to fill the form) | "
        f"{show(warm)} |",
        "",
        f"The warm start is **{ratio:.2f}x** faster (median of the pairs' ratios); the dashboard "
        "looks every quarter second after Start, so a point is on screen at most 0.25 s later.",
        "",
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=5)
    options = parser.parse_args()
    print("\n".join(render(run(options.pairs))))
    sys.exit(0)
