"""One update per Lightning step against k of them, on this machine's CPU, interleaved in one run.

``python bench/steps_per_call.py [--reps 3]``: trains the default MLP for one epoch on MNIST with
``--data.steps_per_call 1`` and with the default (``1024 // batch_size``: 16 at batch 64), one
after the other, ``reps`` times each, and prints the epoch seconds of each (from the run's own
``epoch`` events) and their ratio. It answers whether handing Lightning several updates a step
pays on a CPU (see the README's Speed section).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def epoch_seconds(steps_per_call: str | None, root: Path, name: str) -> float:
    args = [sys.executable, "-m", "digitnet", "fit", "--run_name", name]
    args += ["--trainer.max_epochs", "1"]
    args += ["--test_after_fit", "false", "--trainer.enable_progress_bar", "false"]
    args += ["--checkpoints_dir", str(root)]
    if steps_per_call:
        args += ["--data.steps_per_call", steps_per_call]
    env = {**os.environ, "DIGITNET_DATA": os.environ.get("DIGITNET_DATA", str(ROOT / "data"))}
    subprocess.run(args, check=True, capture_output=True, env=env)
    for line in (root / name / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "epoch":
            return event["seconds"]
    raise RuntimeError(f"{name} wrote no epoch")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    options = parser.parse_args()
    one, default = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(options.reps):
            one.append(epoch_seconds("1", Path(tmp), f"one-{rep}"))
            default.append(epoch_seconds(None, Path(tmp), f"default-{rep}"))
    ratios = [a / b for a, b in zip(one, default)]
    print(f"steps_per_call 1: {', '.join(f'{s:.2f}' for s in one)} s an epoch")
    print(f"default (16):     {', '.join(f'{s:.2f}' for s in default)} s an epoch")
    print(f"ratio, pair by pair: {', '.join(f'{r:.3f}' for r in ratios)}; median "
          f"{statistics.median(ratios):.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
