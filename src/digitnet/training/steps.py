"""Provides the steps of a fit that ``digitnet fit`` and :func:`~digitnet.training.api.train`
both take: the checks before any folder is made (:func:`check_fit`), what comes before
``Trainer.fit`` (:func:`begin`) and after it (:func:`end`), and the :class:`Result` read back from
the run folder.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitnet import checks, settings, untrusted, updates
from digitnet.errors import BadSetting, Cancelled, RunError
from digitnet.runs import layout
from digitnet.runs.files import RunFolder


@dataclass
class Result:
    """What a run reached, read back from its run folder: the best validation accuracy (from
    ``status.json``), the test accuracy of ``best.ckpt``, the seconds its epochs took, its status
    (``finished``, ``pruned``, ``stopped``) and the updates an epoch made."""

    run: str
    best_val_acc: float | None
    test_acc: float | None
    seconds: float
    status: str
    updates_per_epoch: int | None = None


def check_fit(trainer: Mapping[str, Any], epochs: Any, engine: str, arch: str) -> None:
    """Refuse, in one sentence, what the Trainer would refuse with a traceback or ignore, before
    any run folder is made.

    >>> check_fit({"accumulate_grad_batches": 4}, 10, "auto", "mlp")
    Traceback (most recent call last):
    ...
    digitnet.errors.BadSetting: --trainer.accumulate_grad_batches is not supported: each ...
    """
    from digitnet.model import engine as engines

    if trainer.get("gradient_clip_val"):
        raise BadSetting(
            "--trainer.gradient_clip_val is not supported: digitnet's engines make several "
            "updates per Lightning step themselves; leave it unset (or lower --model.lr)."
        )
    if trainer.get("accumulate_grad_batches") not in (None, 1):
        raise BadSetting(
            "--trainer.accumulate_grad_batches is not supported: each update uses one "
            "mini-batch; raise --data.batch_size instead, which averages the gradient over "
            "more images."
        )
    if epochs is not None and epochs < 1:
        raise BadSetting(  # 0 trains nothing; -1 (no limit) leaves the schedule no end
            f"--trainer.max_epochs must be at least 1, got {epochs}; the learning rate's "
            "schedule is laid over the epochs, so a run needs a number of them."
        )
    precision = str(trainer.get("precision") or "32-true")
    problem = engines.problem(engines.choose(engine, arch, precision), arch, precision)
    if problem:
        raise BadSetting(problem)


def begin(
    trainer: Any,
    model: Any,
    data: Any,
    run_dir: Path,
    checkpoint: dict | None = None,
    checkpoint_name: str = "",
    say: Callable[[str], None] = print,
) -> int:
    """What comes before ``trainer.fit``: a checkpoint's weights checked against the network,
    the CPU threads picked for the network's size, the summary line, and a resume checked
    against its checkpoint (same data, epochs left to train). The number of threads before."""
    import torch

    from digitnet.model.checkpoints import check_weights
    from digitnet.model.threads import cpu_threads
    from digitnet.record.recorder import EPOCHS_DONE

    if checkpoint is not None:
        check_weights(checkpoint, model, checkpoint_name)
    if not data.full_batch:  # an asked-for k the Trainer's options would change: refused now,
        updates.steps_per_call(data.steps_per_call, data.batch_size, trainer)  # not mid-fit
    threads_before = torch.get_num_threads()
    if trainer.strategy.root_device.type == "cpu":
        batch = checks.TRAIN_SIZE - data.val_size if data.full_batch else data.batch_size
        torch.set_num_threads(cpu_threads(model.flops_per_update(batch), threads_before))
    if trainer.is_global_zero:
        say(summary(trainer, model, data, run_dir, checkpoint))
        sys.stdout.flush()
    if checkpoint is not None:
        check_same_experiment(
            checkpoint.get("datamodule_hyper_parameters") or {},
            {key: data.hparams.get(key) for key in settings.experiment("data")},
            "data",
            checkpoint_name,
        )
    done = (checkpoint or {}).get(EPOCHS_DONE)
    limit = trainer.max_epochs
    if isinstance(done, int) and limit is not None and limit >= 0 and done >= limit:
        raise RunError(
            f"run {run_dir.name} already finished {done} epochs; "
            f"raise --trainer.max_epochs above {done} to continue."
        )
    return threads_before


def end(
    trainer: Any,
    model: Any,
    data: Any,
    run_dir: Path,
    recorder: Any,
    test: bool,
    threads_before: int,
    say: Callable[[str], None] = print,
) -> None:
    """What comes after ``trainer.fit``: every CPU thread back, how the run ended said (an error
    for a diverged or cancelled run, a note for one stopped at a limit), then ``best.ckpt``
    tested on the test images (on every rank: the test pass is collective under DDP)."""
    import torch

    torch.set_num_threads(threads_before)
    status = recorder.stop.final_status if recorder else None
    if status == "diverged":
        kept = (
            "Its last good checkpoint is kept."
            if untrusted.is_regular(RunFolder(run_dir).last_ckpt)
            else "It had saved no checkpoint yet."
        )
        raise RunError(
            f"run {run_dir.name} diverged: the loss became NaN or infinite; lower "
            f"--model.lr. {kept}"
        )
    if status == "stopped":  # a limit the user set: a note, not an error
        print(
            f"digitnet: run {run_dir.name} stopped at its --trainer.max_steps or "
            f"--trainer.max_time inside epoch {recorder.stop.epochs_done + 1}; resume it "
            f"with 'digitnet fit --ckpt_path {run_dir.name}' and a higher limit to go on.",
            file=sys.stderr,
        )
    if status == "cancelled":
        raise Cancelled(
            f"run {run_dir.name} was cancelled; resume it with "
            f"'digitnet fit --ckpt_path {run_dir.name}'."
        )
    if not test:
        return
    best = RunFolder(run_dir).best_ckpt
    results = trainer.test(
        model, datamodule=data, ckpt_path=str(best) if best.is_file() else None, verbose=False
    )
    found = results[0] if results else {}
    if trainer.is_global_zero and "test_acc" in found:
        images = int(found.get("test_images", len(data.test_set[1])))
        say(
            f"run {run_dir.name}: test accuracy {100 * found['test_acc']:.2f}%, "
            f"loss {found['test_loss']:.4f}, on the {images:,} test images "
            f"({best.name if best.is_file() else 'the last weights'})"
        )


def summary(trainer: Any, model: Any, data: Any, run_dir: Path, checkpoint: dict | None) -> str:
    """One line on what a fit trains:
    ``run mnist-mlp-...: 784-512-512-10 relu, 668,672 weights and 1,034 biases, mnist, 10
    epochs``."""
    from digitnet.record.recorder import EPOCHS_DONE

    hp, hd = model.hparams, data.hparams
    weights = sum(p.numel() for p in model.parameters() if p.ndim > 1)
    biases = sum(p.numel() for p in model.parameters() if p.ndim <= 1)
    epochs = trainer.max_epochs
    resumed = checkpoint.get(EPOCHS_DONE) if checkpoint is not None else None
    where = f", resumed after epoch {resumed}" if isinstance(resumed, int) else ""
    batch = "full batch" if hd.get("full_batch") else f"batch {hd.get('batch_size', '?')}"
    return (
        f"run {run_dir.name}: {checks.describe_model(hp)}, {weights:,} weights and "
        f"{biases:,} biases, {hd.get('dataset', '?')}, {batch}, {epochs} "
        f"epoch{'' if epochs == 1 else 's'}{where}"
    )


def result_of(run_dir: Path) -> Result:
    """A run's :class:`Result`, read from its folder."""
    from digitnet.runs import listing

    info = listing.read_run(run_dir)
    test, seconds, updates = None, 0.0, None
    for event in layout.iter_events(run_dir):
        if event["event"] == "start":
            updates = event.get("steps_per_epoch", updates)
        elif event["event"] == "test":
            test = event.get("test_acc")
        elif event["event"] == "epoch":
            seconds += event.get("seconds", 0.0)
    return Result(run_dir.name, info.best_val_acc, test, round(seconds, 2), info.status, updates)


# full_batch is not one: it follows --model.optimizer (a run saved before the link kept false)
def is_full_batch(optimizer: str) -> bool:
    """The data module's ``full_batch`` for ``--model.optimizer``: True for ``gd`` only."""
    return optimizer == "gd"


def check_same_experiment(saved: dict, given: dict, section: str, source: str) -> None:
    """Refuse a resume whose settings in ``section`` differ from those its checkpoint was trained
    with: it would continue another experiment under the same name (an MNIST run trained on, and
    logged as, FashionMNIST). What a resume may change is each setting's ``resume`` and
    ``speed`` in the registry (:func:`digitnet.settings.may_change`).

    >>> check_same_experiment({"lr": 0.05}, {"lr": 0.05}, "model", "the checkpoint")
    >>> check_same_experiment({"dataset": "mnist"}, {"dataset": "fashion_mnist"}, "data", "r")
    Traceback (most recent call last):
    ...
    digitnet.errors.BadSetting: r was trained with data.dataset mnist; a resume continues ...
    """
    for key, value in given.items():
        if settings.may_change(section, key):  # a speed setting, the trainer's, a path
            continue
        if key in saved and value is not None and not same(saved[key], value):
            raise BadSetting(
                f"{source} was trained with {section}.{key} {saved[key]}; a resume continues "
                f"that experiment, so it cannot change to {value} ({settings.resume_rule()}); "
                f"start a new run for {section}.{key} {value}."
            )


def same(saved: Any, value: Any) -> bool:
    """``saved == value``, reading a number given as text (``5e-2``, which YAML keeps a string).

    >>> same(0.05, "5e-2"), same([784, 10], [784, 10]), same(0.05, "x")
    (True, True, False)
    """
    if isinstance(saved, (int, float)) and not isinstance(saved, bool) and isinstance(value, str):
        try:
            return float(value) == saved
        except ValueError:
            return False
    return saved == value


def trainer_refusal(text: str) -> str:
    """Lightning's refusal of a Trainer setting on one line; too many devices asked for, as one
    sentence that names the fix.

    >>> trainer_refusal("You requested gpu: [0, 1, 2]\\n But your machine only has: [0]")
    '--trainer.devices asks for 3 gpu devices but 1 is available; use --trainer.devices 1.'
    """
    text = " ".join(text.split())
    asked = re.fullmatch(r"You requested (\w+): \[(.*)\] But your machine only has: \[(.*)\]", text)
    if asked is None:
        return text
    kind, wanted, have = asked.groups()
    count = lambda listed: len([part for part in listed.split(",") if part.strip()])  # noqa: E731
    n, m = count(wanted), count(have)
    verb = "is" if m == 1 else "are"
    return (
        f"--trainer.devices asks for {n} {kind} devices but {m} {verb} available; "
        f"use --trainer.devices {max(m, 1)}."
    )
