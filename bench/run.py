"""``make bench``: digitnet against the floors and the slides' loop, side by side in one run.

Writes ``docs/benchmarks.md``. Every figure is the min / median / max of REPS repetitions, and
every ratio is between medians measured in this same run. Run from the repository root:
``python bench/run.py [--reps 3] [--only-dashboard]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import dashboard_scale  # noqa: E402
import draw_latency  # noqa: E402
import gpu  # noqa: E402
import loops  # noqa: E402
import start  # noqa: E402
from digitnet.lecture.textbook import Network, book_layout  # noqa: E402
from digitnet.model.classifier import cosine_factor  # noqa: E402
from digitnet.runs.quiet import quiet_known_noise  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
warnings.filterwarnings("ignore")
logging.getLogger("lightning").setLevel(logging.ERROR)
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


def paired(numerator: list[float], denominator: list[float]) -> float:
    """The median of the per-repetition ratios (each pair ran back to back)."""
    return statistics.median(a / b for a, b in zip(numerator, denominator))


def stats(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def fmt(values: list[float], unit: str = "s") -> str:
    lo, mid, hi = stats(values)
    return f"{mid:.3f}{unit} ({lo:.3f} / {hi:.3f})"


def load_mnist():
    from digitnet.data.module import DigitDataModule

    data = DigitDataModule("mnist", data_dir=str(ROOT / "data"))
    data.setup()
    return data


class EpochTimer(L.Callback):
    """Times each training epoch (validation excluded); then, outside the timed region, runs
    ``between()`` (the reference loops, interleaved so the machine's drift hits all alike) and an
    optional test-set check."""

    def __init__(self, test_set=None, between=None):
        self.seconds, self.test_accs, self.test_set, self.between = [], [], test_set, between
        self.between_seconds = 0.0

    def on_train_epoch_start(self, trainer, pl_module):
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        if pl_module.device.type == "cuda":
            torch.cuda.synchronize()  # the epoch's work, not only its launches
        self.seconds.append(time.perf_counter() - self.start)
        if self.test_set is not None:
            images, labels = (t.to(pl_module.device) for t in self.test_set)
            with torch.no_grad():
                pred = pl_module(pl_module.scale(images.unsqueeze(1))).argmax(1)
            self.test_accs.append((pred == labels).float().mean().item())
        if self.between is not None:
            start = time.perf_counter()
            threads = torch.get_num_threads()
            torch.set_num_threads(os.cpu_count() or 1)  # the references run as they would alone
            self.between()
            torch.set_num_threads(threads)
            self.between_seconds += time.perf_counter() - start


def digitnet_fit(
    model_kwargs, data_kwargs, epochs, run_dir, test_set=None, between=None, accelerator="cpu"
):
    from digitnet import DigitClassifier, DigitDataModule, run_folder
    from digitnet.model.threads import cpu_threads

    torch.manual_seed(0)
    timer = EpochTimer(test_set, between)
    start = time.perf_counter()
    model = DigitClassifier(**model_kwargs)
    data = DigitDataModule(data_dir=str(ROOT / "data"), **data_kwargs)
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=1,
        max_epochs=epochs,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        **run_folder(run_dir, callbacks=[timer]),
    )
    threads = torch.get_num_threads()
    if accelerator == "cpu":  # as digitnet fit does (digitnet.model.threads)
        batch = data.batch_size if not data.full_batch else 60_000 - data.val_size
        torch.set_num_threads(cpu_threads(model.flops_per_update(batch), threads))
    trainer.fit(model, datamodule=data)
    torch.set_num_threads(threads)
    total = time.perf_counter() - start
    return timer, total - sum(timer.seconds) - timer.between_seconds


TEXTBOOK = dict(
    layers=[784, 30, 10],
    activation="sigmoid",
    loss="mse",
    optimizer="sgd",
    lr=3.0,
    momentum=0.0,
    init="gaussian",
    schedule="constant",
    normalize=False,
)


def bench_steps_per_call(pairs: int) -> dict:
    """Updates per Lightning step (``--data.steps_per_call``) against one, in interleaved pairs
    of 2-epoch fits (the second epoch timed): the default MLP (k = 16 against 1) and the textbook
    setting (k = 102 against 1). A k that buys less than 5% is not worth its bookkeeping."""
    settings = {
        "mlp": ({}, {"dataset": "mnist"}, 16),
        "textbook": (TEXTBOOK, {"dataset": "mnist", "batch_size": 10}, 102),
    }
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (model, data, k) in settings.items():
            times = {1: [], k: []}
            for pair in range(pairs):
                for steps in (k, 1) if pair % 2 else (1, k):
                    timer, _ = digitnet_fit(
                        model,
                        {**data, "steps_per_call": steps},
                        2,
                        Path(tmp) / f"{name}-{pair}-{steps}",
                    )
                    times[steps].append(timer.seconds[-1])
            out[name] = {"k": k, "one": times[1], "many": times[k]}
    return out


def render_steps_per_call(result: dict) -> list[str]:
    lines = [
        "| setting | k | epoch with k | epoch with 1 | 1 / k time (paired) |",
        "|---|---|---|---|---|",
    ]
    for name, r in result.items():
        lines.append(
            f"| {name} | {r['k']} | {fmt(r['many'])} | {fmt(r['one'])} | "
            f"{paired(r['one'], r['many']):.2f} x |"
        )
    return lines


def slides_loader():
    """The slides' ``DataLoader(datasets.MNIST(..., transform=ToTensor()), batch_size=64)`` over
    digitnet's 50,000 training images."""
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets
    from torchvision.transforms import ToTensor

    train = datasets.MNIST(
        root=str(ROOT / "data"), train=True, download=False, transform=ToTensor()
    )
    order = torch.randperm(60_000, generator=torch.Generator().manual_seed(12345))
    return DataLoader(Subset(train, order[10_000:].tolist()), batch_size=64)


def bench_adam(reps: int) -> dict:
    """The slides' own settings (Adam, lr 1e-3, batch 64, no schedule): digitnet's epoch against
    the slides' loop, one of which runs after each digitnet epoch."""
    loader = slides_loader()
    torch.manual_seed(0)
    slides_model = loops.mlp()
    slides_opt = torch.optim.Adam(slides_model.parameters(), lr=1e-3)
    out = {"slides": []}

    def between():
        out["slides"].append(loops.slides_epoch(slides_model, slides_opt, None, loader))

    settings = {"optimizer": "adam", "lr": 1e-3, "schedule": "constant"}
    with tempfile.TemporaryDirectory() as tmp:
        timer, _ = digitnet_fit(settings, {"dataset": "mnist"}, reps + 1, Path(tmp) / "run",
                                between=between)  # fmt: skip
    out["digitnet"] = timer.seconds[1:]
    out["slides"] = out["slides"][1:]  # the first, beside digitnet's warm-up epoch, warms up
    return out


def render_adam(adam: dict) -> list[str]:
    return [
        "## The slides' settings: Adam lr 1e-3, batch 64, no schedule",
        "",
        "| what | seconds per epoch | ratio |",
        "|---|---|---|",
        f"| the slides' loop (DataLoader, ToTensor, `torch.optim.Adam`) | {fmt(adam['slides'])} "
        "| 1.00 |",
        f"| digitnet `Trainer.fit` (written-out backprop, torch's fused Adam) | "
        f"{fmt(adam['digitnet'])} | **{paired(adam['slides'], adam['digitnet']):.2f} x faster** |",
        "",
    ]


def bench_mlp(data, reps: int) -> dict:
    """The default MLP, interleaved: after each digitnet epoch, one epoch of each reference loop."""
    images, labels = data.train_set
    n = len(labels)
    out = {"bare": [], "matmul": [], "slides": [], "written": []}
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    total = 782 * (reps + 1)
    written = [(m.weight, m.bias) for m in loops.mlp() if isinstance(m, torch.nn.Linear)]
    written_buffers = [torch.zeros_like(p) for pair in written for p in pair]
    written_rates = (0.05 * cosine_factor(t, total) for t in itertools.count())
    rates = itertools.repeat(0.05)  # the warm-up's
    bare_model = loops.mlp()
    bare_opt, bare_sched = loops.sgd_with_cosine(bare_model, 0.05, 0.9, 782 * (reps + 1))
    loader = slides_loader()
    slides_model = loops.mlp()
    slides_opt, slides_sched = loops.sgd_with_cosine(slides_model, 0.05, 0.9, 782 * (reps + 1))

    def between():
        if len(out["bare"]) == 0 and not hasattr(between, "warm"):
            between.warm = True  # the first digitnet epoch warms up; warm the references up too
            loops.bare_epoch(
                bare_model, bare_opt, bare_sched, images[:12800], labels[:12800], 64, g
            )
            warm = [(w.clone(), b.clone()) for w, b in written]
            buffers = [torch.zeros_like(p) for pair in warm for p in pair]
            loops.written_out_epoch(warm, buffers, images[:12800], labels[:12800], 64, rates, g)
            return
        out["bare"].append(
            loops.bare_epoch(bare_model, bare_opt, bare_sched, images, labels, 64, g)
        )
        out["slides"].append(loops.slides_epoch(slides_model, slides_opt, slides_sched, loader))
        out["matmul"].append(loops.matmul_epoch(n, 64))
        out["written"].append(
            loops.written_out_epoch(written, written_buffers, images, labels, 64, written_rates, g)
        )

    with tempfile.TemporaryDirectory() as tmp:
        timer, startup = digitnet_fit(
            {}, {"dataset": "mnist"}, reps + 1, Path(tmp) / "run", between=between
        )
    out["digitnet"] = timer.seconds[1:]
    out["digitnet_first_epoch"] = timer.seconds[:1]
    out["digitnet_startup"] = [startup]
    return out


def bench_textbook(data, epochs: int) -> dict:
    """The textbook setting, interleaved: one NumPy epoch and one floor epoch after each digitnet
    epoch; accuracy after ``epochs`` each."""
    images, labels = data.train_set
    test_images, test_labels = data.test_set
    x = (images.reshape(len(labels), -1).float() / 255).numpy().astype(np.float64)
    tx = (test_images.reshape(len(test_labels), -1).float() / 255).numpy().astype(np.float64)
    network = Network([784, 30, 10], seed=0)
    book = book_layout(x, labels.numpy())  # once, as the book's loader does
    numpy_seconds, floor_seconds = [], []
    generator = torch.Generator().manual_seed(0)
    floor = [(torch.randn(30, 784), torch.randn(30)), (torch.randn(10, 30), torch.randn(10))]

    def between():
        numpy_seconds.append(network.epoch(book, 10, 3.0))
        floor_seconds.append(loops.backprop_epoch(floor, images, labels, 10, 3.0, generator))

    model = TEXTBOOK
    with tempfile.TemporaryDirectory() as tmp:
        timer, _ = digitnet_fit(
            model,
            {"dataset": "mnist", "batch_size": 10},
            epochs,
            Path(tmp) / "run",
            test_set=data.test_set,
            between=between,
        )
        autograd, _ = digitnet_fit(
            {**model, "engine": "autograd"},
            {"dataset": "mnist", "batch_size": 10},
            epochs,
            Path(tmp) / "run-autograd",
        )
    return {
        "numpy": numpy_seconds,
        "numpy_acc": network.accuracy(tx, test_labels.numpy()),
        "floor": floor_seconds,
        "digitnet": timer.seconds,
        "digitnet_acc": timer.test_accs[-1],
        "digitnet_autograd": autograd.seconds,
    }


def bench_time_to_accuracy(data, target: float = 0.98, epochs: int = 10) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        timer, _ = digitnet_fit(
            {}, {"dataset": "mnist"}, epochs, Path(tmp) / "run", test_set=data.test_set
        )
    elapsed, reached = 0.0, None
    for seconds, acc in zip(timer.seconds, timer.test_accs):
        elapsed += seconds
        if acc >= target and reached is None:
            reached = elapsed
    return {
        "seconds_to_target": reached,
        "epoch_seconds": timer.seconds,
        "test_accs": timer.test_accs,
    }


def bench_system_sampling(steps_per_second: float, reps: int = 2000) -> dict:
    """What the recorder's system figures cost a training process: one sample (psutil's CPU and
    memory of the process, written as one event line) and the clock check made at every training
    step's end, each timed over ``reps`` calls; at one sample a second and ``steps_per_second``
    checks, their share of a second of training."""
    from digitnet.runs.layout import append_event
    from digitnet.runs.system import SystemSampler

    sampler = SystemSampler(every=0.0)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for _ in range(reps):
            append_event(Path(tmp), "system", step=0, **sampler.sample())
        sample = (time.perf_counter() - start) / reps
    start = time.perf_counter()
    for _ in range(reps * 10):
        sampler.due()
    check = (time.perf_counter() - start) / (reps * 10)
    return {
        "sample_seconds": sample,
        "check_seconds": check,
        "steps_per_second": steps_per_second,
        "share": sample + check * steps_per_second,
    }


def wall(command: list[str], reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times


def bench_startup(reps: int) -> dict:
    digitnet = str(Path(sys.executable).with_name("digitnet"))
    with tempfile.TemporaryDirectory() as tmp:
        dashboard_scale.write_runs(Path(tmp))
        paint = dashboard_scale.first_paint(Path(tmp), reps)
    return {
        "help": wall([digitnet, "--help"], reps),
        "runs": wall([digitnet, "runs"], reps),
        "dashboard": paint,
    }


def bench_dashboard_overhead(epochs: int = 50, window: float = 3.0) -> dict:
    """Training watched by ``digitnet dashboard`` against the same training unwatched, by windows
    within one run (see bench/dashboard_ab.py), then the same with a sleeping process toggled
    instead of the dashboard: the method's own noise."""
    from dashboard_ab import run_ab

    os.environ["DIGITNET_DATA"] = str(ROOT / "data")
    with tempfile.TemporaryDirectory() as tmp:
        watched = run_ab(Path(tmp) / "watched", epochs=epochs, window=window)
        control = run_ab(Path(tmp) / "control", epochs=epochs, window=window, control=True)
    return {"watched": watched, "control": control, "epochs": epochs, "window": window}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument(
        "--dashboard-epochs", type=int, default=50, help="length of the dashboard comparison's runs"
    )
    parser.add_argument(
        "--only-gpu",
        action="store_true",
        help="run only the GPU section and write docs/benchmarks-gpu.md (needs CUDA)",
    )
    parser.add_argument(
        "--only-adam",
        action="store_true",
        help="run only the Adam comparison with the slides' loop and print it",
    )
    parser.add_argument(
        "--only-mlp",
        action="store_true",
        help="run only the default MLP's comparison (floors, slides' loop) and print it",
    )
    parser.add_argument(
        "--only-textbook",
        action="store_true",
        help="run only the textbook setting's comparison and print it",
    )
    parser.add_argument(
        "--only-k",
        action="store_true",
        help="run only the comparison of updates per Lightning step (k against 1) and print it",
    )
    parser.add_argument(
        "--only-start",
        action="store_true",
        help="run only Start to the first point (afresh against the warm spare) and print it",
    )
    parser.add_argument(
        "--only-dashboard",
        action="store_true",
        help="run only the dashboard comparison and print it (nothing is written)",
    )
    options = parser.parse_args()
    reps = options.reps
    quiet_known_noise()
    if options.only_adam:
        print("\n".join(render_adam(bench_adam(reps))))
        return 0
    if options.only_k:
        print("\n".join(render_steps_per_call(bench_steps_per_call(max(5, reps)))))
        return 0
    if options.only_start:
        print("\n".join(start.render(start.run(max(5, reps)))))
        return 0
    if options.only_dashboard:
        print("\n".join(render_dashboard(bench_dashboard_overhead(options.dashboard_epochs))))
        return 0
    torch.manual_seed(0)
    data = load_mnist()
    if torch.cuda.is_available():  # its own report: a CPU-only run leaves the last one in place
        print("GPU ...", flush=True)
        gpu_out = Path(options.out).with_name("benchmarks-gpu.md")
        gpu_report = gpu.write(gpu.bench(data, digitnet_fit), gpu_out)
        print(gpu_report)
    elif options.only_gpu:
        print("no CUDA device: the GPU section needs one.", file=sys.stderr)
        return 1
    if options.only_gpu:
        return 0
    if options.only_textbook:
        print("\n".join(render_textbook(bench_textbook(data, epochs=max(2, reps)))))
        return 0
    if options.only_mlp:
        print("\n".join(render_mlp(bench_mlp(data, reps))))
        return 0
    results = {}
    print("MLP 784-512-512-10, batch 64 ...", flush=True)
    results["mlp"] = bench_mlp(data, reps)
    print("MLP with the slides' Adam ...", flush=True)
    results["adam"] = bench_adam(reps)
    print("textbook setting, batch 10 ...", flush=True)
    results["textbook"] = bench_textbook(data, epochs=max(2, reps))
    print("updates per step (k against 1) ...", flush=True)
    results["k"] = bench_steps_per_call(max(5, reps))
    print("time to 98% ...", flush=True)
    results["time_to_98"] = bench_time_to_accuracy(data)
    print("system sampling ...", flush=True)
    results["system"] = bench_system_sampling(
        782 / 16 / statistics.median(results["mlp"]["digitnet"])
    )
    print("start-up ...", flush=True)
    results["startup"] = bench_startup(reps)
    print("start to the first point ...", flush=True)
    results["first_point"] = start.run(max(5, reps))
    print("draw tab ...", flush=True)
    results["draw"] = draw_latency.run_draw()
    print("dashboard over 2,000 runs ...", flush=True)
    results["scale"] = dashboard_scale.run(2000)
    print("dashboard-launched against headless ...", flush=True)
    results["dashboard"] = bench_dashboard_overhead(options.dashboard_epochs)
    report = render(results, reps)
    Path(options.out).parent.mkdir(parents=True, exist_ok=True)
    Path(options.out).write_text(report)
    Path(options.out).with_suffix(".json").write_text(json.dumps(results, indent=1))
    print(report)
    return 0


def render_mlp(mlp: dict) -> list[str]:
    return [
        "## MLP 784-512-512-10, SGD momentum 0.9, batch 64",
        "",
        "| what | seconds per epoch | ratio |",
        "|---|---|---|",
        f"| (1a) bare torch loop over one tensor | {fmt(mlp['bare'])} | 1.00 |",
        f"| (1b) its matrix products alone | {fmt(mlp['matmul'])} | "
        f"{paired(mlp['matmul'], mlp['bare']):.2f} x bare |",
        "| (1c) digitnet's written-out backprop and SGD step in a bare loop, no framework | "
        f"{fmt(mlp['written'])} | {paired(mlp['written'], mlp['bare']):.2f} x bare |",
        f"| (2) the slides' loop (DataLoader, ToTensor) | {fmt(mlp['slides'])} | "
        f"{paired(mlp['slides'], mlp['bare']):.2f} x bare |",
        f"| (3) digitnet `Trainer.fit` | {fmt(mlp['digitnet'])} | "
        f"**{paired(mlp['digitnet'], mlp['bare']):.2f} x bare**, "
        f"**{paired(mlp['slides'], mlp['digitnet']):.2f} x faster than the slides' loop**, "
        f"**{paired(mlp['digitnet'], mlp['written']):.2f} x its floor (1c)** (goal <= 1.15) |",
        "",
        "digitnet start-up before the first epoch (model, data, Trainer set-up): "
        f"{mlp['digitnet_startup'][0]:.2f} s; "
        f"its first epoch (warm-up, not counted above): {mlp['digitnet_first_epoch'][0]:.2f} s.",
        "",
    ]


def render_textbook(tb: dict) -> list[str]:
    return [
        "## Textbook setting: 784-30-10 sigmoid, quadratic cost, batch 10, eta 3.0",
        "",
        f"| what | seconds per epoch | test accuracy after {len(tb['numpy'])} epochs |",
        "|---|---|---|",
        "| NumPy reference: `network.py`'s operations on its data layout "
        "(`digitnet.lecture.textbook`) | "
        f"{fmt(tb['numpy'])} | {100 * tb['numpy_acc']:.2f}% |",
        f"| digitnet (`--model.engine auto`: written-out backprop) | {fmt(tb['digitnet'])} | "
        f"{100 * tb['digitnet_acc']:.2f}% |",
        "| (4b) floor: the same backprop and SGD step in a bare loop (`bench/loops.py`) | "
        f"{fmt(tb['floor'])} | - |",
        "| digitnet with `--model.engine autograd` (run after, not interleaved) | "
        f"{fmt(tb['digitnet_autograd'])} | - |",
        "",
        f"digitnet is **{paired(tb['numpy'], tb['digitnet']):.2f} x faster** per epoch than the "
        "NumPy reference "
        f"and takes {paired(tb['digitnet'], tb['floor']):.2f} x the floor's time; accuracy "
        "differs by "
        f"{100 * (tb['digitnet_acc'] - tb['numpy_acc']):+.2f} points.",
        "",
    ]


def render(r: dict, reps: int) -> str:
    import lightning

    mlp, tb, tta, st, db = r["mlp"], r["textbook"], r["time_to_98"], r["startup"], r["dashboard"]
    sy = r["system"]
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    reached = tta["seconds_to_target"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {cpu}, {os.cpu_count()} cores, no GPU; Python "
        f"{platform.python_version()}, "
        f"torch {torch.__version__}, lightning {lightning.__version__}. Times are median (min / "
        f"max) of {reps} "
        "repetitions; ratios are medians of the per-repetition ratios of this one run, whose "
        "reference loops ran interleaved with "
        "digitnet's epochs (one of each after every digitnet epoch) so that the machine's drift "
        "hits all alike. "
        "One epoch = 50,000 images (782 updates at batch 64).",
        "",
        *render_mlp(mlp),
        *render_adam(r["adam"]),
        *render_textbook(tb),
        "## Updates per Lightning step (`--data.steps_per_call`)",
        "",
        *render_steps_per_call(r["k"]),
        "",
        "## Time to 98.0% MNIST test accuracy, default run",
        "",
        (
            "Reached after " + f"**{reached:.1f} s** of training"
            if reached is not None
            else "Not reached"
        )
        + " (test accuracy checked at each epoch end, outside the timed region). Test accuracy by "
        "epoch: "
        + ", ".join(f"{100 * a:.2f}" for a in tta["test_accs"])
        + "; seconds per epoch: "
        + ", ".join(f"{s:.2f}" for s in tta["epoch_seconds"])
        + ".",
        "",
        "## System figures while training",
        "",
        "The recorder samples the training process's CPU and memory at most once a second "
        "(`digitnet.runs.system`). One sample, written as its event line, took "
        f"{1e6 * sy['sample_seconds']:.0f} µs and the clock check at each training step's end "
        f"{1e6 * sy['check_seconds']:.2f} µs (means of 2,000 and 20,000 calls); at one sample a "
        f"second and the default run's {sy['steps_per_second']:.0f} training steps a second, "
        f"**{100 * sy['share']:.3f}% of training time** (target: within 1%).",
        "",
        "## Start-up",
        "",
        "| what | wall seconds |",
        "|---|---|",
        f"| `digitnet --help` | {fmt(st['help'])} |",
        f"| `digitnet runs` | {fmt(st['runs'])} |",
        "| dashboard first paint with 100 runs (process start to Textual's Ready: the first screen "
        "shown, headless) | "
        f"{fmt(st['dashboard'])} |",
        "",
        *start.render(r["first_point"]),
        "## The dashboard over 2,000 runs",
        "",
        "`bench/dashboard_scale.py`: 2,000 finished run folders; first paint as above; a real "
        "`digitnet dashboard` in a pseudo-terminal, idle, then `down` typed 20 times, each timed "
        "to its first screen update. " + dashboard_scale.render(r["scale"]) + " (targets: first "
        "paint under 1.5 s, idle under 2% of a core, keys under 100 ms).",
        "",
        *draw_latency.render(r["draw"]),
        *render_dashboard(db),
        "## GPU",
        "",
        "Measured by the same script wherever CUDA is present, into "
        "[benchmarks-gpu.md](benchmarks-gpu.md) (a CPU-only run leaves that report as it is).",
        "",
    ]
    return "\n".join(lines)


def mean_ci(values: list[float]) -> str:
    """``0.981 ± 0.012``: the mean and its 95% interval (normal approximation)."""
    half = 1.96 * statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.3f} ± {half:.3f}"


def render_dashboard(db: dict) -> list[str]:
    w, c = db["watched"], db["control"]
    keys = [k for k in w["key_ms"] if k is not None]
    return [
        "## Dashboard-launched training against headless",
        "",
        f"One default MNIST run of {db['epochs']} epochs, launched the dashboard's way and "
        "watched by `digitnet "
        f"dashboard` on a 100x30 pseudo-terminal; every {db['window']:.0f} s the dashboard was "
        "frozen (SIGSTOP) or let "
        "run, so frozen windows are the headless baseline, side by side with watched ones in the "
        "same process "
        "(bench/dashboard_ab.py says why: machine noise here moves whole runs by 30%). Every "
        "second watched "
        "window, keys 2 and 1 (a look at the Epochs tab and back).",
        "",
        "| | watched / frozen training throughput | pairs | dashboard CPU while watching |",
        "|---|---|---|---|",
        f"| dashboard | **{mean_ci(w['ratios'])}** (median {statistics.median(w['ratios']):.3f}, "
        "pooled "
        f"{w['pooled_ratio']:.3f}) | {len(w['ratios'])} | "
        f"{100 * w['cpu_seconds'] / w['watched_seconds']:.1f}% of a core |",
        f"| control: a sleeping process toggled instead | {mean_ci(c['ratios'])} (median "
        f"{statistics.median(c['ratios']):.3f}, pooled {c['pooled_ratio']:.3f}) | "
        f"{len(c['ratios'])} | - |",
        "",
        "The ratio is each watched window's updates per second over the mean of the frozen "
        "windows either side. "
        "It errs against the dashboard: after each freeze it catches up on the events it missed, "
        "so its work "
        "lands in the watched windows only. "
        f"Key presses while training: the screen answered in {statistics.median(keys):.0f} ms "
        "(median; max "
        f"{max(keys):.0f} ms, {len(keys)} presses), timed from the key written to the terminal to "
        "the first screen "
        "update read back."
        if keys
        else "No key presses were timed.",
        "",
    ]


if __name__ == "__main__":
    sys.exit(main())
