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

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from digitnet import checks, untrusted
from digitnet.atomic import atomic_write_text, write_failed
from digitnet.data.catalog import DATASETS
from digitnet.errors import BadSetting, DigitnetError, RunError
from digitnet.runs import lock, search
from digitnet.runs.files import RunFolder
from digitnet.runs.layout import NAME_RE, check_name, create_run_dir

DEVICES = ("auto", "cpu", "cuda")
# for a run nobody watches in its own terminal: no progress bar or model table in its output
QUIET_OPTIONS = {"trainer.enable_progress_bar": False, "trainer.enable_model_summary": False}
QUIET = search.as_args(QUIET_OPTIONS)  # --trainer.enable_progress_bar false ...


def _default(name: str) -> str:
    value = checks.DEFAULTS[name]
    return ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)


# each form field, the dotted ``digitnet fit`` option it sets, and its rule
OPTIONS = {
    "dataset": "data.dataset",
    "layers": "model.layers",
    "arch": "model.arch",
    "activation": "model.activation",
    "loss": "model.loss",
    "optimizer": "model.optimizer",
    "lr": "model.lr",
    "momentum": "model.momentum",
    "weight_decay": "model.weight_decay",
    "schedule": "model.schedule",
    "init": "model.init",
    "batch_size": "data.batch_size",
    "epochs": "trainer.max_epochs",
    "seed": "seed_everything",
    "device": "trainer.accelerator",
}
RULES: dict[str, Callable[[str], Any]] = {
    **search.SEARCHABLE,
    "dataset": lambda v: checks.check_choice("dataset", v, DATASETS),
    "arch": lambda v: checks.check_choice("arch", v, checks.ARCHS),
    "activation": lambda v: checks.check_choice("activation", v, checks.ACTIVATIONS),
    "loss": lambda v: checks.check_choice("loss", v, checks.LOSSES),
    "optimizer": lambda v: checks.check_choice("optimizer", v, checks.OPTIMIZERS),
    "schedule": lambda v: checks.check_choice("schedule", v, checks.SCHEDULES),
    "init": lambda v: checks.check_choice("init", v, checks.INITS),
    "epochs": lambda v: checks.check_positive_int("epochs", v),
    "device": lambda v: checks.check_choice("device", v, DEVICES),
    "name": lambda v: v and check_run_name(v),
    "trials": lambda v: checks.check_positive_int("trials", v),
}


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
    trials: str = "10"  # a sweep's (where a field holds a range or choices)

    @classmethod
    def from_run(cls, settings: dict, dataset: str, epochs: int | None) -> LaunchSpec:
        """The form filled with a run's settings (as :func:`digitnet.runs.layout.flat_settings`
        keeps them), to start a new run from an old one's; what the run does not say stays the
        default.

        >>> spec = LaunchSpec.from_run({"model.layers": "784-30-10", "model.lr": 3.0}, "mnist", 30)
        >>> spec.layers, spec.lr, spec.epochs, spec.activation
        ('784, 30, 10', '3.0', '30', 'relu')
        """
        spec = cls(dataset=dataset if dataset in DATASETS else checks.DEFAULTS["dataset"])
        for key, value in settings.items():
            section, _, name = key.partition(".")
            name = {"seed": "seed"}.get(name, name)
            if name == "layers" and isinstance(value, str):
                value = value.replace("-", ", ")
            if name in cls.field_names() and name not in ("dataset", "name", "device", "trials"):
                setattr(spec, name, str(value).lower() if isinstance(value, bool) else str(value))
        if epochs:
            spec.epochs = str(epochs)
        return spec

    def errors(self) -> dict[str, str]:
        """Map each bad field to its one-sentence problem; empty when the spec can start."""
        return self._checked()[2]

    def is_sweep(self) -> bool:
        """Whether a field holds a range or choices (``0.01..0.3``, ``32 | 64``): a sweep."""
        return any(search.is_search(getattr(self, name)) for name in search.SEARCHABLE)

    def values(self) -> dict[str, Any]:
        """The fields holding one value, checked and typed (raises BadSetting if one is bad)."""
        return self._valid()[0]

    def rules(self) -> dict[str, Any]:
        """The searched fields' rules (:func:`digitnet.runs.search.parse`), checked."""
        return self._valid()[1]

    def _valid(self) -> tuple[dict[str, Any], dict[str, Any]]:
        values, rules, problems = self._checked()
        if problems:
            raise BadSetting(next(iter(problems.values())))
        return values, rules

    def _checked(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
        """Each field read once: its typed value, or its rule where it is searched, or its
        problem. ``trials`` counts only for a sweep, whose trials' names must be valid too."""
        values: dict[str, Any] = {}
        rules: dict[str, Any] = {}
        problems: dict[str, str] = {}
        sweep = self.is_sweep()
        for name, text in self.as_dict().items():
            if name == "trials" and not sweep:
                continue
            try:
                rule = search.parse(name, text)
                if rule is None:
                    values[name] = RULES[name](text)
                else:
                    rules[name] = rule
            except BadSetting as error:
                problems[name] = str(error)
        if sweep and values.get("name") and "trials" in values:
            last = f"{values['name']}-{values['trials'] - 1}"
            if not NAME_RE.fullmatch(last):
                problems["name"] = (
                    f"a sweep's trials are named <run name>-<n>, and {last} is too long for a run "
                    "name (at most 100 characters); shorten the name."
                )
        return values, rules, problems

    def to_args(self, run_name: str) -> list[str]:
        """The ``digitnet fit`` arguments for this spec (raises BadSetting if a field is bad)."""
        if self.is_sweep():
            raise BadSetting("this spec searches settings: start it as a sweep, not a run.")
        values = self.values()
        options = {OPTIONS[name]: values[name] for name in OPTIONS}
        return ["fit", "--run_name", run_name, *search.as_args(options), *QUIET]

    def sweep_spec(self) -> dict[str, Any]:
        """The ``digitnet sweep`` spec of this form: the searched fields as ``params``, the
        others as ``fit``.

        >>> LaunchSpec(lr="0.01..0.3", batch_size="32 | 64").sweep_spec()["params"]
        {'model.lr': {'low': 0.01, 'high': 0.3, 'log': True}, 'data.batch_size': [32, 64]}
        """
        values, rules = self._valid()
        return {
            "params": {OPTIONS[name]: rule for name, rule in rules.items()},
            "fit": {
                **{OPTIONS[name]: values[name] for name in OPTIONS if name in values},
                **QUIET_OPTIONS,
            },
        }

    def describe(self) -> str:
        """The start of a default run name: data set and model, then what differs from the
        defaults (a searched setting is not named; a sweep ends in ``sweep``).

        >>> LaunchSpec().describe()
        'mnist-mlp'
        >>> LaunchSpec(dataset="fashion_mnist", layers="784, 30, 10", activation="sigmoid",
        ...            loss="mse", lr="3.0", batch_size="10").describe()
        'fashion-mlp-h30-sigmoid-mse-lr3-b10'
        >>> LaunchSpec(lr="0.01..0.3", weight_decay="0.001").describe()
        'mnist-mlp-wd0.001-sweep'
        """
        base, mine = LaunchSpec().values(), self.values()

        def differs(field: str) -> bool:
            return field in mine and mine[field] != base[field]

        parts = [{"fashion_mnist": "fashion"}.get(self.dataset, self.dataset), self.arch]
        if self.arch == "mlp" and differs("layers"):
            parts.append("h" + "x".join(str(n) for n in mine["layers"][1:-1]))
        losses = {"cross_entropy": "ce", "mse": "mse", "sigmoid_cross_entropy": "sce"}
        for field in ("activation", "loss", "optimizer"):
            if differs(field):
                parts.append(losses.get(mine[field], mine[field]))
        for field, mark in (("lr", "lr"), ("momentum", "m"), ("weight_decay", "wd")):
            if differs(field):
                parts.append(f"{mark}{mine[field]:g}")
        for field in ("schedule", "init"):
            if differs(field):
                parts.append(mine[field].replace("_", ""))
        if differs("batch_size"):
            parts.append(f"b{mine['batch_size']}")
        return "-".join(parts + (["sweep"] if self.is_sweep() else []))

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


class Spare:
    """One ``digitnet spare`` process (:mod:`digitnet.cli.spare`): a run's start-up done ahead,
    waiting for the run it will be. :meth:`prepare` starts one where none waits; :meth:`take`
    hands it a run and returns it as that run's process (None where none is alive, and the run
    is then started afresh); :meth:`close` lets a waiting one go (it exits at once).

    The dashboard prepares one when its New-run form opens, so that Start skips the seconds
    that importing torch and Lightning takes (``bench/run.py --only-start`` measures it).
    """

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def prepare(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            digitnet_command(["spare"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=digitnet_env(),
            start_new_session=True,  # the run it becomes outlives the dashboard
        )

    def take(self, args: list[str], log_path: Path) -> subprocess.Popen | None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return None
        try:
            request = json.dumps({"args": args, "log": str(Path(log_path).absolute())})
            process.stdin.write(request.encode() + b"\n")
            process.stdin.close()
        except OSError:  # it died between the look and the line
            return None
        return process

    def close(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()


def spawn(args: list[str], log_path: Path, spare: Spare | None = None) -> subprocess.Popen:
    """Start ``digitnet <args>`` as its own process (a session of its own: it outlives the
    dashboard), its output appended to ``log_path``; in ``spare``'s process where one waits."""
    taken = spare.take(args, log_path) if spare is not None else None
    if taken is not None:
        return taken
    try:
        log = untrusted.open_append(log_path)
    except OSError as error:
        raise write_failed(log_path.parent, error) from None
    try:
        return subprocess.Popen(
            digitnet_command(args),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=digitnet_env(),
            start_new_session=True,
        )
    finally:
        log.close()


def start_process(args: list[str], run_dir: Path, spare: Spare | None = None) -> subprocess.Popen:
    """Start ``digitnet <args>`` as its own process, its output appended to ``run_dir/output.log``.

    ``launcher.json`` records the process id, so a run that dies before it writes its status (bad
    data, say) is still reported, with the end of its output.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    log = RunFolder(run_dir).output
    # a resumed run appends: its own output starts here
    offset = os.lstat(log).st_size if untrusted.is_regular(log) else 0
    process = spawn(args, log, spare)
    atomic_write_text(
        RunFolder(run_dir).launcher,
        json.dumps({"pid": process.pid, "args": args, "time": time.time(), "log_offset": offset}),
    )
    return process


def launch(
    spec: LaunchSpec, root: Path, spare: Spare | None = None
) -> tuple[str, subprocess.Popen]:
    """Start a new run of ``spec`` under ``root``, named ``spec.name`` or from its settings and
    the time (``mnist-mlp-sigmoid-20261126-101500``), in ``spare``'s process where one waits;
    return its name and process."""
    spec.values()  # the first bad field, in one sentence
    if spec.name:
        run_dir = Path(root) / spec.name
        if run_dir.exists():
            raise BadSetting(f"a run named {spec.name} already exists; pick another name.")
        run_dir.mkdir(parents=True)
    else:
        run_dir = create_run_dir(Path(root), spec.describe())
    return run_dir.name, start_process(
        [*spec.to_args(run_dir.name), "--checkpoints_dir", str(root)], run_dir, spare
    )


def launch_sweep(spec: LaunchSpec, root: Path) -> tuple[str, subprocess.Popen]:
    """Start ``digitnet sweep`` over ``spec``'s ranges and choices under ``root``; return the
    study's name (``spec.name``, or from the settings and the time) and the process.

    The spec is kept beside the runs as ``<study>.sweep.yaml`` and the sweep's own output as
    ``<study>.sweep.log``; its trials are the runs ``<study>-0``, ``<study>-1``, ...; more trials
    are added from a shell with ``digitnet sweep <study>.sweep.yaml --study <study>``.
    """
    import yaml

    spec.values()  # the first bad field, in one sentence
    root = Path(root)
    # a made-up name leaves room for the trials' numbers: <study>-<n> is at most 100 characters
    study = spec.name or f"{spec.describe()[:70]}-{time.strftime('%Y%m%d-%H%M%S')}"
    spec_path = root / f"{study}.sweep.yaml"
    taken = [spec_path, root / f"{study}.optuna.log", root / f"{study}-0"]
    if any(os.path.lexists(path) for path in taken):
        raise BadSetting(
            f"a sweep named {study} already exists; pick another name, or add trials to it from "
            f"a shell: digitnet sweep {spec_path} --study {study}."
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(spec_path, yaml.safe_dump(spec.sweep_spec(), sort_keys=False))
    except OSError as error:
        raise write_failed(root, error) from None
    args = ["sweep", str(spec_path), "--trials", str(int(spec.trials)), "--study", study]
    return study, spawn([*args, "--checkpoints_dir", str(root)], root / f"{study}.sweep.log")


def resume(
    run_dir: Path, max_epochs: int | None = None, spare: Spare | None = None
) -> subprocess.Popen:
    """Continue a stopped run from its ``last.ckpt``, in place (to ``max_epochs`` where given).

    The run is named by the path of its checkpoint, never by its name: a run named like a word
    ``--ckpt_path`` reads another way (``last``) could otherwise resume a different run.
    """
    lock.check_real_folder(run_dir)
    if not untrusted.is_regular(RunFolder(run_dir).last_ckpt):
        raise BadSetting(f"run {run_dir.name} has no last.ckpt to resume from.")
    return start_process(
        [
            "fit",
            "--ckpt_path",
            str(RunFolder(Path(run_dir).absolute()).last_ckpt),
            "--checkpoints_dir",
            str(run_dir.parent),
            *(["--trainer.max_epochs", str(max_epochs)] if max_epochs else []),
            *QUIET,
        ],
        run_dir,
        spare,
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
    if untrusted.is_real_dir(
        RunFolder(run_dir).cancel
    ):  # anything else is replaced, never written to
        raise RunError(
            f"run {run_dir.name} cannot be cancelled: its cancel is a folder, not a file; delete "
            f"{run_dir / 'cancel'}, or stop the run's process (kill -TERM its pid)."
        )
    try:
        atomic_write_text(RunFolder(run_dir).cancel, "cancel requested by the dashboard\n")
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
