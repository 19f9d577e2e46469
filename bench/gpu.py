"""The GPU section of ``make bench`` (run where CUDA is present): digitnet's default MLP and the CNN
preset, the plain loop and the replayed CUDA graph (``--model.cuda_graph off`` / ``auto``), against
the one-file CUDA-graph loop of ``bench/loops.py`` as the floor. Writes ``docs/benchmarks-gpu.md``.
"""

from __future__ import annotations

import json
import platform
import statistics
import tempfile
from pathlib import Path

import lightning
import torch

import loops

EPOCHS = 10
RUNS = {  # name: (model settings, test accuracy to reach)
    "MLP, plain loop (`--model.cuda_graph off`)": ({"cuda_graph": "off"}, 0.98),
    "MLP, replayed CUDA graph (`auto`, the default)": ({"cuda_graph": "auto"}, 0.98),
    "MLP, `--model.engine autograd`, replayed": (
        {"cuda_graph": "auto", "engine": "autograd"},
        0.98,
    ),
    "CNN preset, plain loop": ({"arch": "cnn", "cuda_graph": "off"}, 0.99),
    "CNN preset, replayed CUDA graph": ({"arch": "cnn", "cuda_graph": "auto"}, 0.99),
}


def seconds_to(seconds: list[float], accs: list[float], target: float) -> float | None:
    """Training seconds until the first epoch end at or above ``target``."""
    elapsed = 0.0
    for s, acc in zip(seconds, accs):
        elapsed += s
        if acc >= target:
            return elapsed
    return None


def bench(data, digitnet_fit) -> dict:
    images, labels = data.train_set
    generator = torch.Generator().manual_seed(0)
    floor = loops.GraphLoop(images, labels)
    floor_seconds = [floor.epoch(generator) for _ in range(EPOCHS)]
    out = {
        "device": torch.cuda.get_device_name(),
        "floor": floor_seconds,
        "floor_acc": floor.accuracy(*data.test_set),
        "runs": {},
    }
    for name, (model, target) in RUNS.items():
        print(f"  {name} ...", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            timer, startup = digitnet_fit(
                model,
                {"dataset": "mnist"},
                EPOCHS,
                Path(tmp) / "run",
                test_set=data.test_set,
                accelerator="cuda",
            )
        out["runs"][name] = {
            "seconds": timer.seconds,
            "test_accs": timer.test_accs,
            "target": target,
            "startup": startup,
        }
    return out


def render(r: dict) -> str:
    floor = statistics.median(r["floor"][1:])
    lines = [
        "# Benchmarks on a GPU",
        "",
        f"Measured by `make bench` (`python bench/run.py --only-gpu`) on one {r['device']}; "
        f"Python {platform.python_version()}, torch {torch.__version__}, lightning "
        f"{lightning.__version__}. {EPOCHS} epochs of 50,000 MNIST images each; seconds per epoch "
        "are the median (min / max) of epochs 2 to 10 (the first records the graphs); time to "
        "accuracy adds up whole epochs until the test accuracy, checked at each epoch end outside "
        "the timed region, reaches the target. Every figure is from this one run.",
        "",
        "| what | seconds per epoch | x floor | time to target | test accuracy after 10 |",
        "|---|---|---|---|---|",
        f"| (5) floor: one-file CUDA-graph loop of the MLP (`bench/loops.py`) | "
        f"{_fmt(r['floor'][1:])} | 1.00 | - | {100 * r['floor_acc']:.2f}% |",
    ]
    for name, run in r["runs"].items():
        median = statistics.median(run["seconds"][1:])
        reached = seconds_to(run["seconds"], run["test_accs"], run["target"])
        when = f"{100 * run['target']:.0f}% in {reached:.2f} s" if reached else "not reached"
        lines.append(
            f"| digitnet {name} | {_fmt(run['seconds'][1:])} | {median / floor:.2f} | {when} | "
            f"{100 * run['test_accs'][-1]:.2f}% |"
        )
    lines += [
        "",
        "The floor trains with a constant learning rate and drops the epoch's last short "
        "mini-batch (781 updates); digitnet makes all 782 with the cosine schedule. "
        "First epochs (seconds, recording included): "
        + "; ".join(f"{name}: {run['seconds'][0]:.2f}" for name, run in r["runs"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}s ({min(values):.3f} / {max(values):.3f})"


def write(results: dict, out: Path) -> str:
    report = render(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    return report
