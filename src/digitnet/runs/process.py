"""Provides the training processes a watcher controls: :class:`LaunchSpec`, start, resume, cancel,
liveness.

The form, the tests and the command line meet here: a spec validates each field with the rules of
:mod:`digitnet.checks` and turns into the ``digitnet fit`` arguments that the training process
runs with, so a run launched from the dashboard is the same code path as one typed in a shell::

    >>> LaunchSpec(dataset="fashion_mnist", epochs="3").to_args("f-run")[:6]
    ['fit', '--run_name', 'f-run', '--data.dataset', 'fashion_mnist', '--model.layers']

Imports neither torch nor textual.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from digitnet import checks, untrusted
from digitnet.atomic import atomic_write_text, write_failed
from digitnet.data.catalog import DATASETS
from digitnet.errors import BadSetting, DigitnetError, RunError
from digitnet.runs import lock
from digitnet.runs.layout import check_name, create_run_dir

DEVICES = ("auto", "cpu", "cuda")
# for a run nobody watches in its own terminal: no progress bar or model table in its output
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def _default(name: str) -> str:
    value = checks.DEFAULTS[name]
    return ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)


@dataclass
class LaunchSpec:
    """The dashboard form's fields, as text, pre-filled with the defaults of ``digitnet fit``
    (:data:`digitnet.checks.DEFAULTS`)."""

    dataset: str = _default("dataset")
    arch: str = _default("arch")
    layers: str = _default("layers")
    activation: str = _default("activation")
    loss: str = _default("loss")
    optimizer: str = _default("optimizer")
    lr: str = _default("lr")
    momentum: str = _default("momentum")
    weight_decay: str = _default("weight_decay")
    schedule: str = _default("schedule")
    init: str = _default("init")
    batch_size: str = _default("batch_size")
    epochs: str = _default("epochs")
    seed: str = _default("seed")
    device: str = "auto"
    name: str = ""  # blank: made from the settings, see describe()

    @classmethod
    def from_run(cls, settings: dict, dataset: str, epochs: int | None) -> LaunchSpec:
        """The form filled with a run's settings (as :func:`digitnet.runs.layout.flat_settings`
        keeps them), to start a new run from an old one's; what the run does not say stays the
        default.

        >>> spec = LaunchSpec.from_run({"model.layers": "784-30-10", "model.lr": 3.0}, "mnist", 30)
        >>> spec.layers, spec.lr, spec.epochs, spec.activation
        ('784, 30, 10', '3.0', '30', 'relu')
        """
        spec = cls(dataset=dataset if dataset in DATASETS else "mnist")
        for key, value in settings.items():
            section, _, name = key.partition(".")
            name = {"seed": "seed"}.get(name, name)
            if name == "layers" and isinstance(value, str):
                value = value.replace("-", ", ")
            if name in cls.field_names() and name not in ("dataset", "name", "device"):
                setattr(spec, name, str(value).lower() if isinstance(value, bool) else str(value))
        if epochs:
            spec.epochs = str(epochs)
        return spec

    def errors(self) -> dict[str, str]:
        """Map each bad field to its one-sentence problem; empty when the spec can start."""
        rules = {
            "dataset": lambda v: checks.check_choice("dataset", v, DATASETS),
            "arch": lambda v: checks.check_choice("arch", v, checks.ARCHS),
            "layers": checks.parse_layers,
            "activation": lambda v: checks.check_choice("activation", v, checks.ACTIVATIONS),
            "loss": lambda v: checks.check_choice("loss", v, checks.LOSSES),
            "optimizer": lambda v: checks.check_choice("optimizer", v, checks.OPTIMIZERS),
            "lr": checks.check_lr,
            "momentum": lambda v: checks.check_non_negative("momentum", v),
            "weight_decay": lambda v: checks.check_non_negative("weight_decay", v),
            "schedule": lambda v: checks.check_choice("schedule", v, checks.SCHEDULES),
            "init": lambda v: checks.check_choice("init", v, checks.INITS),
            "batch_size": lambda v: checks.check_positive_int("batch_size", v),
            "epochs": lambda v: checks.check_positive_int("epochs", v),
            "seed": checks.check_seed,
            "device": lambda v: checks.check_choice("device", v, DEVICES),
            "name": lambda v: v and check_run_name(v),
        }
        problems = {}
        for name, check in rules.items():
            try:
                check(getattr(self, name))
            except BadSetting as error:
                problems[name] = str(error)
        return problems

    def to_args(self, run_name: str) -> list[str]:
        """The ``digitnet fit`` arguments for this spec (raises BadSetting if a field is bad)."""
        problems = self.errors()
        if problems:
            raise BadSetting(next(iter(problems.values())))
        return [
            "fit",
            "--run_name",
            run_name,
            "--data.dataset",
            self.dataset,
            "--model.layers",
            json.dumps(checks.parse_layers(self.layers)),
            "--model.arch",
            self.arch,
            "--model.activation",
            self.activation,
            "--model.loss",
            self.loss,
            "--model.optimizer",
            self.optimizer,
            "--model.lr",
            str(checks.check_lr(self.lr)),
            "--model.momentum",
            str(checks.check_non_negative("momentum", self.momentum)),
            "--model.weight_decay",
            str(checks.check_non_negative("weight_decay", self.weight_decay)),
            "--model.schedule",
            self.schedule,
            "--model.init",
            self.init,
            "--data.batch_size",
            str(int(self.batch_size)),
            "--trainer.max_epochs",
            str(int(self.epochs)),
            "--seed_everything",
            str(int(self.seed)),
            "--trainer.accelerator",
            self.device,
            *QUIET,
        ]

    def describe(self) -> str:
        """The start of a default run name: data set and model, then what differs from the defaults.

        >>> LaunchSpec().describe()
        'mnist-mlp'
        >>> LaunchSpec(dataset="fashion_mnist", layers="784, 30, 10", activation="sigmoid",
        ...            loss="mse", lr="3.0", batch_size="10").describe()
        'fashion-mlp-h30-sigmoid-mse-lr3-b10'
        """
        base = LaunchSpec()
        parts = [{"fashion_mnist": "fashion"}.get(self.dataset, self.dataset), self.arch]
        layers = checks.parse_layers(self.layers)
        if self.arch == "mlp" and layers != checks.parse_layers(base.layers):
            parts.append("h" + "x".join(str(n) for n in layers[1:-1]))
        losses = {"cross_entropy": "ce", "mse": "mse", "sigmoid_cross_entropy": "sce"}
        for field in ("activation", "loss", "optimizer"):
            if getattr(self, field) != getattr(base, field):
                value = getattr(self, field)
                parts.append(losses.get(value, value) if field == "loss" else value)
        if checks.check_lr(self.lr) != checks.check_lr(base.lr):
            parts.append(f"lr{checks.check_lr(self.lr):g}")
        for field, mark in (("momentum", "m"), ("weight_decay", "wd")):
            value = checks.check_non_negative(field, getattr(self, field))
            if value != checks.check_non_negative(field, getattr(base, field)):
                parts.append(f"{mark}{value:g}")
        for field in ("schedule", "init"):
            if getattr(self, field) != getattr(base, field):
                parts.append(getattr(self, field).replace("_", ""))
        if int(self.batch_size) != int(base.batch_size):
            parts.append(f"b{int(self.batch_size)}")
        return "-".join(parts)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def digitnet_command(args: list[str]) -> list[str]:
    """The command line of ``digitnet <args>`` run by this Python."""
    return [sys.executable, "-m", "digitnet", *args]


def digitnet_env() -> dict[str, str]:
    """The environment of a digitnet process started from here: unbuffered output, and no
    working folder on ``sys.path`` (``PYTHONSAFEPATH``), so nothing in the folder the dashboard
    runs in is ever imported in place of digitnet's own code."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONSAFEPATH": "1"}


def start_process(args: list[str], run_dir: Path) -> subprocess.Popen:
    """Start ``digitnet <args>`` as its own process, its output appended to ``run_dir/output.log``.

    ``launcher.json`` records the process id, so a run that dies before it writes its status (bad
    data, say) is still reported, with the end of its output.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        log = untrusted.open_append(run_dir / "output.log")
    except OSError as error:
        raise write_failed(run_dir, error) from None
    offset = log.seek(0, os.SEEK_END)  # a resumed run appends: its own output starts here
    try:
        process = subprocess.Popen(
            digitnet_command(args),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=digitnet_env(),
            start_new_session=True,
        )
    finally:
        log.close()
    atomic_write_text(
        run_dir / "launcher.json",
        json.dumps({"pid": process.pid, "args": args, "time": time.time(), "log_offset": offset}),
    )
    return process


def launch(spec: LaunchSpec, root: Path) -> tuple[str, subprocess.Popen]:
    """Start a new run of ``spec`` under ``root``, named ``spec.name`` or from its settings and
    the time (``mnist-mlp-sigmoid-20261126-101500``); return its name and process."""
    problems = spec.errors()
    if problems:
        raise BadSetting(next(iter(problems.values())))
    if spec.name:
        run_dir = Path(root) / spec.name
        if run_dir.exists():
            raise BadSetting(f"a run named {spec.name} already exists; pick another name.")
        run_dir.mkdir(parents=True)
    else:
        run_dir = create_run_dir(Path(root), spec.describe())
    return run_dir.name, start_process(
        [*spec.to_args(run_dir.name), "--checkpoints_dir", str(root)], run_dir
    )


def resume(run_dir: Path, max_epochs: int | None = None) -> subprocess.Popen:
    """Continue a stopped run from its ``last.ckpt``, in place (to ``max_epochs`` where given).

    The run is named by the path of its checkpoint, never by its name: a run named like a word
    ``--ckpt_path`` reads another way (``last``) could otherwise resume a different run.
    """
    lock.check_real_folder(run_dir)
    if not untrusted.is_regular(run_dir / "last.ckpt"):
        raise BadSetting(f"run {run_dir.name} has no last.ckpt to resume from.")
    return start_process(
        [
            "fit",
            "--ckpt_path",
            str(Path(run_dir).absolute() / "last.ckpt"),
            "--checkpoints_dir",
            str(run_dir.parent),
            *(["--trainer.max_epochs", str(max_epochs)] if max_epochs else []),
            *QUIET,
        ],
        run_dir,
    )


def check_run_name(name: str) -> str:
    """A run name, or :class:`BadSetting` in one sentence (the form shows it under the field)."""
    try:
        return check_name(name)
    except DigitnetError as error:
        raise BadSetting(str(error)) from None


def reap(processes: list[subprocess.Popen]) -> None:
    """Drop the processes that ended from ``processes`` (waiting on them: no zombies left)."""
    processes[:] = [p for p in processes if p.poll() is None]


def cancel(run_dir: Path) -> None:
    """Ask a run to stop after its current step and save a resumable checkpoint."""
    if untrusted.is_real_dir(run_dir / "cancel"):  # anything else is replaced, never written to
        raise RunError(
            f"run {run_dir.name} cannot be cancelled: its cancel is a folder, not a file; delete "
            f"{run_dir / 'cancel'}, or stop the run's process (kill -TERM its pid)."
        )
    try:
        atomic_write_text(run_dir / "cancel", "cancel requested by the dashboard\n")
    except OSError as error:
        raise write_failed(run_dir, error) from None


def process_alive(pid: object, host: object = None, since: object = None) -> bool:
    """Whether process ``pid`` on ``host`` still runs (a zombie, killed but not reaped, does not).

    ``since`` is a time the process is known to have run at (Unix seconds: when it wrote its
    status): a process of that number started after it is another one that got the number
    again, not the run's. A process on another machine cannot be checked from here, so its
    status is trusted.
    """
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if host and host != socket.gethostname():
        return True
    import psutil  # here, not at the top: `digitnet runs` needs it only for a running run

    try:
        process = psutil.Process(pid)
        if isinstance(since, (int, float)) and process.create_time() > since + 1.0:
            return False  # the number was given to a newer process
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
