"""The dashboard over many runs: first paint, idle CPU and key presses, with 2,000 run folders.

``python bench/dashboard_scale.py [--runs 2000] [--idle 20]`` writes that many finished run
folders (as the recorder writes them, ten epochs each) into a temporary checkpoints folder, then:

- first paint: a fresh Python process imports the dashboard and runs it until Textual's Ready
  (the first screen composed and shown), three times;
- idle CPU: a real ``digitnet dashboard`` in a pseudo-terminal (bench/dashboard_ab.py's
  ``Terminal``), left alone for ``--idle`` seconds after it settled: its CPU seconds over the
  wall seconds, as a percentage of one core;
- key presses: ``down`` typed 20 times into the same dashboard, each timed to its first screen
  update after the key (the run list's cursor moving and the new run's charts).

make bench runs it and writes the figures into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dashboard_ab import Terminal

FIRST_PAINT = """
import asyncio, sys, time
start = time.perf_counter()
from digitnet.dashboard.app import DashboardApp
class Timed(DashboardApp):
    def on_ready(self):  # Textual's Ready: the first screen is composed and shown
        self.ready_at = time.perf_counter() - start
async def main():
    app = Timed(sys.argv[1])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        print(app.ready_at)
asyncio.run(main())
"""

# the run list on screen, stamped with the wall clock: the parent started its clock before the
# process, so the figure is the command's, as a user counts it (the interpreter's start included)
LIST_SHOWN = """
import asyncio, sys, time
from digitnet.dashboard.app import DashboardApp
from digitnet.dashboard.widgets.run_list import RunList
async def main():
    app = DashboardApp(sys.argv[1])
    async with app.run_test(size=(100, 30)) as pilot:
        while app.query_one(RunList).row_count == 0:
            await pilot.pause(0.01)
        print(time.time())
asyncio.run(main())
"""


def write_runs(root: Path, count: int = 100, epochs: int = 10) -> None:
    """``count`` finished run folders of ``epochs`` epochs each, as the recorder writes them."""
    from digitnet.runs.layout import append_event, write_status

    for i in range(count):
        run = root / f"run-{i:04d}"
        run.mkdir(parents=True)
        append_event(run, "start", max_epochs=epochs, steps_per_epoch=782, batch_size=64, epoch=0)
        for epoch in range(epochs):
            for step in range(50, 782, 50):
                step = epoch * 782 + step
                append_event(run, "metrics", epoch=epoch, step=step, train_loss=0.1, lr=0.05)
            append_event(run, "metrics", epoch=epoch, step=(epoch + 1) * 782, val_acc=0.97)
            append_event(run, "epoch", epoch=epoch, step=(epoch + 1) * 782, val_acc=0.97)
            append_event(run, "system", step=(epoch + 1) * 782, cpu_percent=190.0, rss_mb=900.0)
        append_event(run, "end", status="finished", error="")
        write_status(
            run,
            status="finished",
            dataset="mnist",
            epoch=epochs,
            max_epochs=epochs,
            best_val_acc=0.9 + 0.09 * (i % 100) / 100,
            summary="784-512-512-10 relu",
        )


def first_paint(root: Path, reps: int = 3) -> list[float]:
    times = []
    for _ in range(reps):
        result = subprocess.run(
            [sys.executable, "-c", FIRST_PAINT, str(root)],
            capture_output=True,
            check=True,
            text=True,
        )
        times.append(float(result.stdout.split()[-1]))
    return times


def idle_and_keys(root: Path, idle: float = 20.0, settle: float = 8.0) -> dict:
    digitnet = str(Path(sys.executable).with_name("digitnet"))
    terminal = Terminal([digitnet, "dashboard", "--checkpoints_dir", str(root)], 100, 30)
    try:
        time.sleep(settle)  # start-up, the first looks, the first charts
        cpu, wall = terminal.cpu_seconds(), time.perf_counter()
        time.sleep(idle)
        share = (terminal.cpu_seconds() - cpu) / (time.perf_counter() - wall)
        keys = []
        for _ in range(20):
            keys.append(terminal.key_ms("\x1b[B"))  # down
            time.sleep(0.3)
    finally:
        terminal.close()
    return {"idle_core_share": share, "key_ms": [k for k in keys if k is not None], "idle": idle}


def list_shown(root: Path, reps: int = 3) -> list[float]:
    """Seconds from starting the dashboard's process to its run list on screen."""
    times = []
    for _ in range(reps):
        started = time.time()
        result = subprocess.run(
            [sys.executable, "-c", LIST_SHOWN, str(root)],
            capture_output=True,
            check=True,
            text=True,
        )
        times.append(float(result.stdout.split()[-1]) - started)
    return times


def run(count: int = 2000, idle: float = 20.0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "checkpoints"
        started = time.perf_counter()
        write_runs(root, count)
        written = time.perf_counter() - started
        paint = first_paint(root)
        shown = list_shown(root)
        watched = idle_and_keys(root, idle)
    return {
        "runs": count,
        "write_seconds": written,
        "first_paint": paint,
        "list_shown": shown,
        **watched,
    }


def render(result: dict) -> str:
    keys = result["key_ms"]
    return (
        f"{result['runs']:,} runs: first paint {statistics.median(result['first_paint']):.2f} s "
        f"median ({min(result['first_paint']):.2f}-{max(result['first_paint']):.2f}); from the "
        f"command to the run list on screen {statistics.median(result['list_shown']):.2f} s "
        f"({min(result['list_shown']):.2f}-{max(result['list_shown']):.2f}); idle "
        f"{100 * result['idle_core_share']:.2f}% of a core over {result['idle']:.0f} s; key to "
        f"screen {statistics.median(keys):.0f} ms median ({min(keys):.0f}-{max(keys):.0f}, "
        f"{len(keys)} presses)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--idle", type=float, default=20.0)
    options = parser.parse_args()
    result = run(options.runs, options.idle)
    print(render(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
