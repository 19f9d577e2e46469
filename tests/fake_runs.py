"""Run folders written by hand with fixed numbers, for dashboard tests that need no training."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tiny import digits

T0 = 1_800_000_000.0  # a fixed clock, so ages and snapshots never change


def make_run(
    root: Path,
    name: str,
    epochs: int = 5,
    status: str = "finished",
    rate: float = 1.0,
    error: str = "",
    age: float = 300,
    dataset: str = "mnist",
    system: int = 0,
    weights: int = 0,
) -> Path:
    """A run folder of ``epochs`` epochs; ``system`` samples of CPU and memory (150% of a core,
    then 1,024 MiB growing by 8 MiB a sample) at its end; ``weights`` first-layer neurons in
    ``weights.npy`` (neuron i weighs pixel row i mod 28 +1, every other pixel -0.5)."""
    run = root / name
    run.mkdir(parents=True)
    steps = 20
    lines = [
        {
            "event": "start",
            "time": T0,
            "config": {
                "model": {"layers": [784, 32, 10], "activation": "relu"},
                "data": {"dataset": dataset, "batch_size": 64},
            },
            "max_epochs": epochs,
            "steps_per_epoch": steps,
            "batch_size": 64,
            "resumed": False,
            "epoch": 0,
        }
    ]
    images, labels = digits(16, seed=3)
    best = 0.0
    for epoch in range(epochs):
        for batch in range(4, steps + 1, 5):
            step = epoch * steps + batch
            lines.append(
                {
                    "event": "step",
                    "time": T0,
                    "epoch": epoch,
                    "step": step,
                    "batch": batch - 1,
                    "train_loss": round(2.3 * math.exp(-rate * step / steps) + 0.05, 4),
                    "samples_per_s": 9000.0,
                }
            )
        acc = round(1 - 0.5 * math.exp(-rate * (epoch + 1)), 4)
        best = max(best, acc)
        confusion = [[(90 if i == j else 1) for j in range(10)] for i in range(10)]
        lines.append(
            {
                "event": "val",
                "time": T0,
                "epoch": epoch,
                "step": (epoch + 1) * steps,
                "val_loss": round(1 - acc, 4),
                "val_acc": acc,
                "confusion": confusion,
            }
        )
        predicted = [int(y) if i % 5 else (int(y) + 1) % 10 for i, y in enumerate(labels)]
        lines.append(
            {
                "event": "samples",
                "time": T0,
                "epoch": epoch,
                "images": images.reshape(16, -1).tolist(),
                "labels": labels.tolist(),
                "predicted": predicted,
                "classes": [str(i) for i in range(10)],
            }
        )
        lines.append(
            {
                "event": "epoch",
                "time": T0,
                "epoch": epoch,
                "step": (epoch + 1) * steps,
                "train_loss": round(2.3 * math.exp(-rate * (epoch + 0.5)), 4),
                "val_loss": round(1 - acc, 4),
                "val_acc": acc,
                "seconds": 1.5,
            }
        )
    for i in range(system):
        lines.append(
            {
                "event": "system",
                "time": T0,
                "t": float(i),
                "cpu_percent": 150.0 - i % 2,
                "rss_mb": 1024.0 + 8 * i,
                "step": epochs * steps,
            }
        )
    if weights:
        import numpy as np

        from digitnet.runs.layout import write_weights

        images = np.full((weights, 28, 28), -0.5)
        for i in range(weights):
            images[i, i % 28] = 1.0
        write_weights(run, images)
        lines.append({"event": "weights", "time": T0, "epoch": epochs, "step": epochs * steps})
    lines.append({"event": "end", "time": T0, "status": status, "error": error})
    (run / "events.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (run / "status.json").write_text(
        json.dumps(
            {
                "status": status,
                "pid": 0,
                "dataset": dataset,
                "summary": "784-32-10 relu",
                "epoch": epochs,
                "max_epochs": epochs,
                "best_val_acc": best,
                "updated": T0 - age,
                "error": error,
            }
        )
    )
    return run


def mark_running(run: Path) -> dict:
    """Make ``run`` read as training in this (live) process; return its status before."""
    import os

    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(
        json.dumps({**status, "status": "running", "pid": os.getpid()})
    )
    return status
