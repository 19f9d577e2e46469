"""Provides :func:`train`: one run, from settings to a result, in Python; and the steps before and
after ``Trainer.fit`` that ``digitnet fit`` takes too.

Settings are the registry's names (:mod:`digitnet.settings`), a run folder is where it records
(new; ``None`` makes one under the checkpoints folder), callbacks join its Trainer::

    >>> from digitnet import train
    >>> result = train({"layers": [784, 100, 10], "lr": 0.1, "epochs": 3}, "checkpoints/lr0.1")
    ... # doctest: +SKIP
    run lr0.1: 784-100-10 relu, 78,400 weights and 110 biases, mnist, batch 64, 3 epochs
    run lr0.1: test accuracy 97.41%, loss 0.0846, on the 10,000 test images (best.ckpt)
    >>> result.best_val_acc, result.test_acc, result.status  # doctest: +SKIP
    (0.9741, 0.9741, 'finished')

The run folder is the one ``digitnet fit`` makes (its ``config.yaml`` included), so the dashboard
shows it and ``digitnet fit --ckpt_path lr0.1 --trainer.max_epochs 5`` goes on with it.
``digitnet sweep`` (Optuna's objective), ``reproduce`` and ``compare`` call :func:`train`;
``digitnet fit`` (LightningCLI) calls :func:`begin` and :func:`end` around its ``Trainer.fit``,
the same steps :func:`train` takes, so a run is the same whichever way it was started.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitnet import checks, settings, untrusted, updates
from digitnet.atomic import atomic_write_text, write_failed
from digitnet.errors import BadSetting, Cancelled, RunError
from digitnet.runs import layout
from digitnet.runs import lock as runlock
from digitnet.runs.files import RunFolder

TRAINER_DEFAULTS = {"num_sanity_val_steps": 0, "enable_model_summary": False}
"""What ``digitnet fit`` and :func:`train` change of Lightning's Trainer defaults: no sanity
check (the first validation comes after the first epoch), and a one-line summary of digitnet's
own instead of Lightning's model table (its FLOPs column reads 0 for every network here)."""

SET_BY_THE_RUN = {  # Trainer arguments train() sets itself, and the setting to use instead
    "max_epochs": "the setting epochs",
    "accelerator": "the setting device",
    "default_root_dir": "run_dir",
    "plugins": "nothing (the run folder's safe checkpoint plugin is its own)",
    "enable_checkpointing": "nothing (last.ckpt and best.ckpt are the run folder's)",
}


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


def train(
    given: Mapping[str, Any] | None = None,
    run_dir: str | Path | None = None,
    callbacks: Sequence[Any] = (),
    *,
    trainer: Mapping[str, Any] | None = None,
    data_dir: str | Path | None = None,
    test: bool = True,
    quiet: bool = False,
) -> Result:
    """Train one new run and return its :class:`Result`.

    ``given``: settings by the registry's names (``lr``, ``layers``, ``epochs``, ``seed``,
    ``dataset``, ...; ``digitnet fit --help`` lists them as options), the rest their defaults.
    ``run_dir``: a new folder (or one the dashboard made for it); ``None`` makes
    ``<checkpoints>/<dataset>-<arch>-<time>``. ``callbacks``: more for its Trainer (a sweep's
    pruning). ``trainer``: other ``lightning.Trainer`` arguments (``limit_train_batches``,
    ``precision``, ``logger``; a ``{"class_path": ...}`` mapping is made into its object and kept
    in ``config.yaml`` as given). ``test``: test ``best.ckpt`` on the test images after fit.
    ``quiet``: no progress bar and no lines printed.

    A bad setting is :class:`~digitnet.errors.BadSetting` in one sentence, before any folder is
    made; a run that diverges or is cancelled raises :class:`~digitnet.errors.RunError` or
    :class:`~digitnet.errors.Cancelled` after saving what it had.
    """
    import lightning as L
    import torch
    from lightning.pytorch.utilities.exceptions import MisconfigurationException

    from digitnet.data.module import DigitDataModule
    from digitnet.model.classifier import DigitClassifier
    from digitnet.record.folder import run_folder
    from digitnet.record.progress import UpdatesProgressBar
    from digitnet.record.recorder import RunRecorder

    chosen = check_settings(given or {})
    extra = dict(trainer or {})
    for key, instead in SET_BY_THE_RUN.items():
        if key in extra:
            raise BadSetting(f"trainer argument {key} is the run's own; set {instead} instead.")
    check_fit(extra, chosen["epochs"], chosen["engine"], chosen["arch"])
    config = saved_config(chosen, extra, data_dir, test)
    objects = {key: made(value) for key, value in extra.items()}
    say = (lambda line: None) if quiet else print
    held_before, threads_before = runlock.held(), torch.get_num_threads()
    joined = joined_run()
    run_dir = joined or claim_run(Path(run_dir) if run_dir is not None else None, chosen)
    os.environ[RUN_DIR_VARIABLE] = str(run_dir)  # inherited by the DDP workers Lightning starts
    try:
        try:
            if joined is None:
                atomic_write_text(RunFolder(run_dir).config, config)
        except OSError as error:
            raise write_failed(run_dir, error) from None
        L.seed_everything(chosen["seed"], workers=True, verbose=False)
        model = DigitClassifier(
            **{r.name: chosen[r.name] for r in settings.rows("model")}, dataset=chosen["dataset"]
        )
        data = DigitDataModule(
            **{r.name: chosen[r.name] for r in settings.rows("data")},
            data_dir=None if data_dir is None else str(data_dir),
            full_batch=is_full_batch(chosen["optimizer"]),
        )
        user = objects.pop("callbacks", None) or []
        user = [user] if not isinstance(user, list) else user
        progress = not quiet and objects.get("enable_progress_bar", True) is not False
        loggers = objects.pop("logger", None)
        parts = run_folder(
            run_dir,
            objects.pop("log_every_n_steps", None) or settings.LOG_EVERY,
            [*callbacks, *user, *([UpdatesProgressBar()] if progress else [])],
            monitor="val_acc" if chosen["val_size"] else None,
            loggers=loggers if isinstance(loggers, list) else [loggers] if loggers else [],
        )
        recorder = next(c for c in parts["callbacks"] if isinstance(c, RunRecorder))
        options = {**TRAINER_DEFAULTS, "enable_progress_bar": progress, **objects}
        try:
            fitter = L.Trainer(
                max_epochs=chosen["epochs"], accelerator=chosen["device"], **options, **parts
            )
        except MisconfigurationException as error:
            raise BadSetting(trainer_refusal(str(error))) from None
        except TypeError as error:
            raise BadSetting(f"{error}; see lightning.Trainer's arguments.") from None
        threads = begin(fitter, model, data, run_dir, say=say)
        fitter.fit(model, datamodule=data)
        end(fitter, model, data, run_dir, recorder, test, threads, say=say)
    except BaseException:
        if joined is None:  # a refused start leaves no folder; a begun run keeps its own
            remove_half_made(run_dir)
        raise
    finally:
        torch.set_num_threads(threads_before)
        for claimed in runlock.held() - held_before:
            runlock.release(claimed)
    return result_of(run_dir)


def check_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    """Every setting by name: ``given`` checked by its row's rule, the others their defaults.

    >>> check_settings({"lr": "0.1", "layers": "784, 30, 10"})["layers"]
    [784, 30, 10]
    >>> check_settings({"learning_rate": 0.1})
    Traceback (most recent call last):
    ...
    digitnet.errors.BadSetting: learning_rate is not a setting; the settings are dataset, arch, ...
    """
    names = [r.name for r in settings.REGISTRY]
    for name in given:
        if name not in names:
            raise BadSetting(f"{name} is not a setting; the settings are {', '.join(names)}.")
    chosen = {}
    for r in settings.REGISTRY:
        value = given.get(r.name, r.default)
        value = r.rule(value) if r.name in given else value
        chosen[r.name] = list(value) if isinstance(value, tuple) else value
    return chosen


def from_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`train`'s keyword arguments for dotted ``digitnet fit`` options, as a sweep's spec
    or a preset's config names them.

    >>> from_options({"model.lr": 0.1, "trainer.limit_train_batches": 5, "seed_everything": 1})
    {'given': {'lr': 0.1, 'seed': 1}, 'trainer': {'limit_train_batches': 5}}
    >>> from_options({"test_after_fit": False, "data.data_dir": "d"})
    {'given': {}, 'trainer': {}, 'test': False, 'data_dir': 'd'}
    """
    by_option = {r.option: r.name for r in settings.REGISTRY}
    out: dict[str, Any] = {"given": {}, "trainer": {}}
    options = dict(options)
    if options.get("preset") is not None:  # the preset's options first, the others over them
        options = {**preset_options(options.pop("preset")), **options}
    options.pop("preset", None)
    for key, value in options.items():
        if key in by_option:
            out["given"][by_option[key]] = value
        elif key == "test_after_fit":
            out["test"] = value
        elif key == "data.data_dir":
            out["data_dir"] = value
        elif key.startswith("trainer."):
            out["trainer"][key.removeprefix("trainer.")] = value
        elif key in LINKED:
            raise BadSetting(f"{key} follows {LINKED[key]}; set that instead.")
        else:
            raise BadSetting(f"{key} is not a digitnet fit option this run can take.")
    return out


LINKED = {"model.dataset": "data.dataset", "data.seed": "seed_everything",
          "data.full_batch": "model.optimizer (gd is full batch)"}  # fmt: skip


def preset_options(name: str) -> dict[str, Any]:
    """A preset's settings (:mod:`digitnet.lecture.presets`) as dotted options.

    >>> preset_options("nielsen-ch1")["model.layers"]
    [784, 30, 10]
    """
    import yaml

    from digitnet.lecture import presets

    return options_of(yaml.safe_load(presets.get(name).path.read_text()))


def options_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """A LightningCLI config (a preset's YAML, sections nested) as dotted options.

    >>> options_of({"model": {"lr": 0.1}, "seed_everything": 3, "trainer": None})
    {'model.lr': 0.1, 'seed_everything': 3}
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in ("model", "data", "trainer"):
            out.update({f"{key}.{name}": v for name, v in (value or {}).items()})
        else:
            out[key] = value
    return out


def saved_config(
    chosen: Mapping[str, Any], trainer: Mapping[str, Any], data_dir: Any, test: bool
) -> str:
    """The run's ``config.yaml``, as ``digitnet fit`` saves one: the settings by section, so
    ``digitnet fit --ckpt_path RUN`` resumes it with the settings it was trained with. A Trainer
    argument given as an object (not plain values or a ``class_path`` mapping) is not saved."""
    import yaml

    sections: dict[str, Any] = {"seed_everything": chosen["seed"], "trainer": {}}
    for r in settings.REGISTRY:
        if r.section in ("model", "data") and r.name != "seed":
            sections.setdefault(r.section, {})[r.name] = chosen[r.name]
    sections["trainer"] = {"max_epochs": chosen["epochs"], "accelerator": chosen["device"]}
    sections["trainer"].update({k: v for k, v in trainer.items() if plain(v)})
    sections["data"]["data_dir"] = None if data_dir is None else str(data_dir)
    sections["test_after_fit"] = test
    return "# digitnet.train\n" + yaml.safe_dump(sections, sort_keys=False)


def plain(value: Any) -> bool:
    """Whether ``value`` is YAML's own (numbers, text, lists and mappings of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return False


def made(value: Any) -> Any:
    """A Trainer argument with each ``{"class_path": ..., "init_args": ...}`` made into its
    object (a callback or logger named in a spec), as LightningCLI makes them."""
    from lightning.pytorch.cli import instantiate_class

    if isinstance(value, list):
        return [made(v) for v in value]
    if isinstance(value, dict) and "class_path" in value:
        try:
            return instantiate_class((), value)
        except (ImportError, AttributeError, TypeError, ValueError) as error:
            raise BadSetting(f"{value['class_path']} cannot be made ({error}).") from None
    return value


RUN_DIR_VARIABLE = "DIGITNET_RUN_DIR"


def joined_run() -> Path | None:
    """The run folder of rank 0, in a DDP worker Lightning started (it runs the same script, so
    it calls :func:`train` too): the worker joins that run, whose folder only rank 0 writes."""
    if int(os.environ.get("LOCAL_RANK", "0")) > 0 and os.environ.get(RUN_DIR_VARIABLE):
        return Path(os.environ[RUN_DIR_VARIABLE])
    return None


def claim_run(run_dir: Path | None, chosen: Mapping[str, Any]) -> Path:
    """The new run's folder, made and claimed (:func:`claim_new_run`)."""
    try:
        if run_dir is None:
            run_dir = layout.create_run_dir(
                layout.default_root(), f"{chosen['dataset']}-{chosen['arch']}"
            )
        else:
            layout.check_name(run_dir.name)
            if run_dir.exists() and not run_dir.is_dir():
                raise RunError(f"{run_dir} is a file, not a run folder; pick another folder.")
            run_dir.mkdir(parents=True, exist_ok=True)
        claim_new_run(run_dir)
    except OSError as error:
        if run_dir is not None:
            remove_half_made(run_dir)
        raise RunError(
            f"cannot write the run folder {run_dir} ({error.strerror or error}); pick a folder "
            "you can write."
        ) from None
    return run_dir


def claim_new_run(run_dir: Path) -> None:
    """Make ``run_dir`` a run of this process before anything else is written in it: refused if
    it holds anything but what a dashboard launch leaves, locked, checked again (another process
    may have started it meanwhile), then marked with a ``status.json`` at once. A second process
    given the same name therefore always reads "in use" or "already exists", never "not a
    digitnet run" from a folder caught half-made."""
    runlock.check_new_run_folder(run_dir)  # a folder the dashboard made for this run is fine
    runlock.claim(run_dir)
    runlock.check_new_run_folder(run_dir)
    layout.write_status(
        run_dir, status="running", pid=os.getpid(), host=socket.gethostname(), started=time.time()
    )


def remove_half_made(run_dir: Path) -> None:
    """Remove a new run folder that holds nothing but what claiming it left (its lock, a
    ``status.json``, a temporary file, a ``config.yaml``): a refused or failed start leaves no
    folder behind."""
    runlock.release(run_dir)
    try:
        left = list(run_dir.iterdir())
        folder = RunFolder(run_dir)
        made_here = {runlock.LOCK_NAME, folder.status.name, folder.config.name}
        if all(p.name in made_here or p.name.endswith(".tmp") for p in left) and not any(
            p.name == folder.events.name for p in left
        ):
            for path in left:
                path.unlink(missing_ok=True)
            run_dir.rmdir()
    except OSError:
        pass


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
