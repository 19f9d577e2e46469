"""Provides ``digitnet fit|validate|test``: LightningCLI with run folders, safe resume and clear
errors.

``--ckpt_path`` takes ``last`` (the newest run), a run name, or a file. Before LightningCLI parses
anything, the checkpoint is loaded safely and its run's ``config.yaml`` (or, for a loose file, the
hyper-parameters stored in the checkpoint) becomes the base config, so the model is rebuilt with the
architecture it was trained with; options given on the command line still win.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")  # Lightning's own calls, not ours

from jsonargparse import ArgumentError
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from digitnet import checks, settings, untrusted
from digitnet.atomic import atomic_write_text, write_failed
from digitnet.cli.common import add_checkpoints_dir, resolve_checkpoint
from digitnet.cli.trainer import DigitTrainer
from digitnet.data.module import DigitDataModule
from digitnet.data.sources import default_data_dir
from digitnet.errors import BadSetting, Cancelled, DigitnetError, RunError
from digitnet.model import engine as engines
from digitnet.model.checkpoints import SafeCheckpointIO, check_weights, load_checkpoint
from digitnet.model.classifier import DigitClassifier
from digitnet.model.threads import cpu_threads
from digitnet.record.folder import run_folder
from digitnet.record.progress import UpdatesProgressBar
from digitnet.record.recorder import EPOCHS_DONE, RunRecorder
from digitnet.runs import layout, trust
from digitnet.runs import lock as runlock
from digitnet.runs.files import RunFolder
from digitnet.runs.quiet import quiet_known_noise


def _pop_option(argv: list[str], name: str) -> tuple[str | None, list[str]]:
    """Take ``--name value`` or ``--name=value`` out of ``argv``; return (value or None, the
    rest)."""
    index, value = _option(argv, name)
    if value is None:
        return None, argv
    width = 2 if argv[index] == name else 1
    return value, [*argv[:index], *argv[index + width :]]


def _option(argv: list[str], name: str) -> tuple[int, str | None]:
    """Find ``--name value`` or ``--name=value``; return (index of the flag or -1, value)."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return i, argv[i + 1]
        if arg.startswith(name + "="):
            return i, arg.split("=", 1)[1]
    return -1, None


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
    ``status.json``, a temporary file): a refused or failed start leaves no folder behind."""
    runlock.release(run_dir)
    try:
        left = list(run_dir.iterdir())
        made = {runlock.LOCK_NAME, RunFolder(run_dir).status.name}
        if all(p.name in made or p.name.endswith(".tmp") for p in left):
            for path in left:
                path.unlink(missing_ok=True)
            run_dir.rmdir()
    except OSError:
        pass


class SafeSaveConfig(SaveConfigCallback):
    """LightningCLI's ``config.yaml`` writer, writing through :func:`digitnet.atomic.atomic_file`:
    a planted link named ``config.yaml`` is replaced, never written through, and a kill leaves the
    previous file whole. (``SaveConfigCallback.setup`` writes with ``open``; this is its one
    place, with the parser's public ``dump``.)"""

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self.already_saved:
            return
        run_dir = Path(trainer.log_dir)  # on every rank: it is a collective broadcast
        if trainer.is_global_zero:
            text = self.parser.dump(self.config, skip_none=False)
            try:
                atomic_write_text(run_dir / self.config_filename, text)
            except OSError as error:
                raise write_failed(run_dir, error) from None
            self.save_config(trainer, pl_module, stage)
            self.already_saved = True
        self.already_saved = trainer.strategy.broadcast(self.already_saved)


class DigitCLI(LightningCLI):
    """LightningCLI for :class:`DigitClassifier` and :class:`DigitDataModule` with run folders."""

    def __init__(
        self,
        args: list[str],
        resume_dir: Path | None,
        checkpoint: dict | None = None,
        checkpoint_name: str = "",
        extra_callbacks: list | None = None,
    ) -> None:
        self.resume_dir = resume_dir
        self.extra_callbacks = extra_callbacks or []
        self.checkpoint, self.checkpoint_name = checkpoint, checkpoint_name
        self.run_dir: Path | None = None
        self.recorder: RunRecorder | None = None
        self.threads_before = torch.get_num_threads()  # before_fit may pick fewer for the fit
        super().__init__(
            DigitClassifier,
            DigitDataModule,
            trainer_class=DigitTrainer,  # the subcommands' help, in digitnet's words
            args=args,
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
            # the model summary is one line of digitnet's own (before_fit): Lightning's table has a
            # FLOPs column that reads 0 for every network here
            trainer_defaults={
                "max_epochs": settings.DEFAULTS["epochs"],
                "num_sanity_val_steps": 0,
                "enable_model_summary": False,
            },
            parser_kwargs={"exit_on_error": False},
            save_config_callback=SafeSaveConfig if args[0] == "fit" else None,
        )

    def add_arguments_to_parser(self, parser: Any) -> None:
        parser.add_argument(
            "--run_name", type=str | None, default=None, help="name of the new run's folder"
        )
        add_checkpoints_dir(parser)
        parser.add_argument(
            "--preset",
            type=str | None,
            default=None,
            help="a preset of the slides or the textbook, as --config with its file: "
            "quickstart, nielsen-ch1, nielsen-ch1-100, nielsen-ch3, cnn ('digitnet presets')",
        )
        parser.add_argument(
            "--test_after_fit",
            type=bool,
            default=True,
            help="after fit, test the best checkpoint on the 10,000 test images",
        )
        parser.link_arguments("data.dataset", "model.dataset")
        parser.link_arguments("seed_everything", "data.seed")
        # gradient descent: one update an epoch from the whole training split, as one batch
        parser.link_arguments("model.optimizer", "data.full_batch", compute_fn=is_full_batch)

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        config = self.config[self.subcommand]
        kwargs.setdefault("plugins", [])
        kwargs["plugins"] = [*kwargs["plugins"], SafeCheckpointIO()]
        if self.subcommand != "fit":
            kwargs["logger"] = False
            kwargs["enable_checkpointing"] = False
            return super().instantiate_trainer(**kwargs)
        root = Path(config.checkpoints_dir)
        if root.exists() and not root.is_dir():
            raise RunError(
                f"the checkpoints folder {root} is a file; point --checkpoints_dir or "
                "$DIGITNET_CHECKPOINTS to a folder."
            )
        try:
            if int(os.environ.get("LOCAL_RANK", "0")) > 0 and os.environ.get("DIGITNET_RUN_DIR"):
                self.run_dir = Path(
                    os.environ["DIGITNET_RUN_DIR"]
                )  # a DDP worker joins rank 0's run
            elif self.resume_dir is not None:  # claimed when --ckpt_path was resolved
                self.run_dir = self.resume_dir
            elif config.run_name:
                self.run_dir = root / layout.check_name(config.run_name)
                if self.run_dir.exists() and not self.run_dir.is_dir():
                    raise RunError(
                        f"{self.run_dir} is a file, not a run folder; pick another --run_name."
                    )
                self.run_dir.mkdir(parents=True, exist_ok=True)
                claim_new_run(self.run_dir)
            else:
                model = config.model
                self.run_dir = layout.create_run_dir(root, f"{config.data.dataset}-{model.arch}")
                claim_new_run(self.run_dir)
        except OSError as error:
            if self.resume_dir is None and getattr(self, "run_dir", None) is not None:
                remove_half_made(self.run_dir)  # a full disk: no folder holding only its lock
            raise RunError(
                f"cannot write the checkpoints folder {root} ({error.strerror or error}); run "
                "digitnet from a folder you can write, or point --checkpoints_dir or "
                "$DIGITNET_CHECKPOINTS to one."
            ) from None
        # inherited by the DDP workers Lightning starts
        os.environ["DIGITNET_RUN_DIR"] = str(self.run_dir)
        # the instantiated config: {"fit": {"trainer": ...}} here, as LightningCLI nests it
        trainer_config = self.config_init.get(self.subcommand, self.config_init).get("trainer", {})
        configured = [*(trainer_config.get("callbacks") or []), *self.extra_callbacks]
        if config.trainer.enable_progress_bar is not False and not any(
            isinstance(callback, ProgressBar) for callback in configured
        ):
            configured.append(UpdatesProgressBar())  # in mini-batches, whatever k is
        loggers = trainer_config.get("logger")
        loggers = (
            loggers
            if isinstance(loggers, list)
            else [loggers]
            if isinstance(loggers, Logger)
            else []
        )
        parts = run_folder(
            self.run_dir,
            config.trainer.log_every_n_steps or 50,
            list(configured),
            monitor="val_acc" if config.data.val_size else None,
            loggers=loggers,
        )
        self.recorder = next(c for c in parts["callbacks"] if isinstance(c, RunRecorder))
        parts["plugins"] = kwargs["plugins"]
        kwargs.update(parts)
        try:
            return super().instantiate_trainer(**kwargs)
        except BaseException:  # a Trainer setting was refused: leave no empty run folder behind
            if self.resume_dir is None:
                remove_half_made(self.run_dir)
            else:
                runlock.release(self.run_dir)
            raise

    def parse_arguments(self, parser: Any, args: Any) -> None:
        """Parse, then refuse a seed out of range in one sentence: LightningCLI seeds everything
        straight after parsing, and NumPy would refuse it with a traceback."""
        super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        seed = self.config[subcommand].get("seed_everything") if subcommand else None
        if seed is not None and not isinstance(seed, bool):
            checks.check_seed(seed, "--seed_everything")

    def before_instantiate_classes(self) -> None:
        """Refuse, in one sentence, what the Trainer would refuse with a traceback or ignore, before
        any run folder is made."""
        if self.subcommand in ("test", "validate") and self.checkpoint is None:
            raise BadSetting(
                f"digitnet {self.subcommand} needs --ckpt_path (last, a run name or a "
                "checkpoint file); without one it would evaluate an untrained network."
            )
        if self.subcommand != "fit":
            return
        config = self.config.fit
        trainer, model = config.trainer, config.model
        if trainer.gradient_clip_val:
            raise BadSetting(
                "--trainer.gradient_clip_val is not supported: digitnet's engines make several "
                "updates per Lightning step themselves; leave it unset (or lower --model.lr)."
            )
        if trainer.accumulate_grad_batches not in (None, 1):
            raise BadSetting(
                "--trainer.accumulate_grad_batches is not supported: each update uses one "
                "mini-batch; raise --data.batch_size instead, which averages the gradient over "
                "more images."
            )
        if trainer.max_epochs is not None and trainer.max_epochs < 1:
            raise BadSetting(  # 0 trains nothing; -1 (no limit) leaves the schedule no end
                f"--trainer.max_epochs must be at least 1, got {trainer.max_epochs}; the "
                "learning rate's schedule is laid over the epochs, so a run needs a number of them."
            )
        precision = str(trainer.precision or "32-true")
        chosen = engines.choose(model.engine, model.arch, precision)
        problem = engines.problem(chosen, model.arch, precision)
        if problem:
            raise BadSetting(problem)

    def _check_checkpoint_fits_model(self) -> None:
        """Name mismatched keys and shapes before Lightning tries to load them (it would only raise
        a traceback)."""
        if self.checkpoint is not None:
            check_weights(self.checkpoint, self.model, self.checkpoint_name)

    def before_fit(self) -> None:
        self._check_checkpoint_fits_model()
        if self.trainer.strategy.root_device.type == "cpu":
            data = self.datamodule
            batch = checks.TRAIN_SIZE - data.val_size if data.full_batch else data.batch_size
            threads = cpu_threads(self.model.flops_per_update(batch), torch.get_num_threads())
            self.threads_before = torch.get_num_threads()
            torch.set_num_threads(threads)  # after_fit (or run_lightning) puts it back
        if self.trainer.is_global_zero:
            print(self.summary(), flush=True)
        if self.checkpoint is not None:
            check_same_experiment(
                self.checkpoint.get("datamodule_hyper_parameters") or {},
                {key: self.datamodule.hparams.get(key) for key in settings.experiment("data")},
                "data",
                self.checkpoint_name,
            )
        done = (self.checkpoint or {}).get(EPOCHS_DONE)
        limit = self.trainer.max_epochs
        if isinstance(done, int) and limit is not None and limit >= 0 and done >= limit:
            raise RunError(
                f"run {self.run_dir.name} already finished {done} epochs; "
                f"raise --trainer.max_epochs above {done} to continue."
            )

    before_validate = before_test = _check_checkpoint_fits_model

    def after_fit(self) -> None:
        torch.set_num_threads(self.threads_before)  # the test after fit: every thread
        status = self.recorder.stop.final_status if self.recorder else None
        if status == "diverged":
            kept = (
                "Its last good checkpoint is kept."
                if untrusted.is_regular(RunFolder(self.run_dir).last_ckpt)
                else "It had saved no checkpoint yet."
            )
            raise RunError(
                f"run {self.run_dir.name} diverged: the loss became NaN or infinite; lower "
                f"--model.lr. {kept}"
            )
        if status == "stopped":  # a limit the user set: a note, not an error
            print(
                f"digitnet: run {self.run_dir.name} stopped at its --trainer.max_steps or "
                f"--trainer.max_time inside epoch {self.recorder.stop.epochs_done + 1}; resume it "
                f"with 'digitnet fit --ckpt_path {self.run_dir.name}' and a higher limit to go on.",
                file=sys.stderr,
            )
        if status == "cancelled":
            raise Cancelled(
                f"run {self.run_dir.name} was cancelled; resume it with "
                f"'digitnet fit --ckpt_path {self.run_dir.name}'."
            )
        if self.config.fit.test_after_fit:  # on every rank: the test pass is collective under DDP
            best = RunFolder(self.run_dir).best_ckpt
            results = self.trainer.test(
                self.model,
                datamodule=self.datamodule,
                ckpt_path=str(best) if best.is_file() else None,
                verbose=False,
            )
            found = results[0] if results else {}
            if self.trainer.is_global_zero and "test_acc" in found:
                images = int(found.get("test_images", len(self.datamodule.test_set[1])))
                print(
                    f"run {self.run_dir.name}: test accuracy {100 * found['test_acc']:.2f}%, "
                    f"loss {found['test_loss']:.4f}, on the {images:,} test images "
                    f"({best.name if best.is_file() else 'the last weights'})"
                )

    def summary(self) -> str:
        """One line on what this fit trains:
        ``run mnist-mlp-...: 784-512-512-10 relu, 668,672 weights and 1,034 biases, mnist, 10
        epochs``."""
        hp, data = self.model.hparams, self.datamodule.hparams
        weights = sum(p.numel() for p in self.model.parameters() if p.ndim > 1)
        biases = sum(p.numel() for p in self.model.parameters() if p.ndim <= 1)
        epochs = self.trainer.max_epochs
        resumed = self.checkpoint.get(EPOCHS_DONE) if self.checkpoint is not None else None
        where = f", resumed after epoch {resumed}" if isinstance(resumed, int) else ""
        batch = "full batch" if data.get("full_batch") else f"batch {data.get('batch_size', '?')}"
        return (
            f"run {self.run_dir.name}: {checks.describe_model(hp)}, {weights:,} weights and "
            f"{biases:,} biases, "
            f"{data.get('dataset', '?')}, {batch}, {epochs} "
            f"epoch{'' if epochs == 1 else 's'}{where}"
        )


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
        if key in saved and value is not None and not _same(saved[key], value):
            raise BadSetting(
                f"{source} was trained with {section}.{key} {saved[key]}; a resume continues "
                f"that experiment, so it cannot change to {value} ({settings.resume_rule()}); "
                f"start a new run for {section}.{key} {value}."
            )


def _same(saved: Any, value: Any) -> bool:
    """``saved == value``, reading a number given as text (``5e-2``, which YAML keeps a string)."""
    if isinstance(saved, (int, float)) and not isinstance(saved, bool) and isinstance(value, str):
        try:
            return float(value) == saved
        except ValueError:
            return False
    return saved == value


def _yaml_value(text: str) -> Any:
    """A command-line value as jsonargparse reads it: ``[784, 16, 10]`` a list, ``0.1`` a float."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


@dataclass
class Resolved:
    """The command line after ``--ckpt_path`` was resolved and the checkpoint loaded safely."""

    args: list[str]
    run_dir: Path | None = None  # the run folder a ``fit`` resumes in
    checkpoint: dict | None = None
    checkpoint_name: str = ""
    temporary_config: Path | None = (
        None  # written from a loose checkpoint's settings; removed after use
    )


def _resolve_resume(argv: list[str]) -> Resolved:
    """Resolve ``--ckpt_path`` and put the checkpoint's own config first.

    Lightning then also applies the checkpoint's model hyper-parameters over the command line, so a
    resumed model always has the architecture it was trained with.
    """
    spec, args = _pop_option(argv, "--ckpt_path")
    if spec is None or spec in ("null", "None"):
        return Resolved(argv)
    if not spec.strip():
        raise BadSetting("--ckpt_path is empty; give last, a run name or a checkpoint file.")
    _, root = _option(argv, "--checkpoints_dir")
    path, run_dir = resolve_checkpoint(spec, Path(root) if root else None)
    if run_dir is not None and argv[:1] == ["fit"]:
        # the run is ours before its checkpoint is read, so no other process changes it meanwhile
        runlock.claim(run_dir)
        layout.check_run_files(run_dir)
    # refuses unsafe, corrupt and truncated files before any work
    checkpoint = load_checkpoint(path)
    for key in ("hyper_parameters", "datamodule_hyper_parameters"):  # LightningCLI applies them too
        trust.check_hparams(checkpoint.get(key), f"{path} ({key})")
    if argv[:1] == ["fit"]:  # the model is rebuilt from the checkpoint: say so, never ignore
        given = {}
        for key in checkpoint.get("hyper_parameters") or {}:
            value = _option(argv, f"--model.{key}")[1]
            if value is not None:
                given[key] = _yaml_value(value)
        check_same_experiment(checkpoint.get("hyper_parameters") or {}, given, "model", str(path))
    args += ["--ckpt_path", str(path)]
    user_config = _option(argv, "--config")[1] is not None
    base: list[str] = []
    temporary = None
    if not user_config:
        if run_dir is not None and (RunFolder(run_dir).config).is_file():
            config = RunFolder(run_dir).config
            settings = read_yaml(config)
            # before anything is imported
            trust.check_config(settings, run_dir, str(config))
            if _option(argv, "--data.data_dir")[1] is None:
                check_data_dir_kept(settings, str(config))
            base = ["--config", str(config)]
            if isinstance(settings, dict) and "weights_only" in settings:
                # saved before digitnet stopped offering Lightning's --weights_only (it always
                # loads with weights_only=True): the same settings, less that key
                settings.pop("weights_only")
                temporary = _temporary_config(settings)
                base = ["--config", str(temporary)]
        else:
            saved = {
                "model": dict(checkpoint.get("hyper_parameters") or {}),
                "data": dict(checkpoint.get("datamodule_hyper_parameters") or {}),
            }
            saved["model"].pop("dataset", None)  # linked from data.dataset
            for section in saved.values():
                section.pop("_instantiator", None)  # Lightning's bookkeeping, not a setting
            temporary = _temporary_config(saved)
            base = ["--config", str(temporary)]
    command = args[0]
    return Resolved(
        [command, *base, *args[1:]],
        run_dir if command == "fit" else None,
        checkpoint,
        str(path),
        temporary,
    )


def _temporary_config(settings: dict) -> Path:
    """``settings`` in a temporary YAML file, for ``--config`` (run_lightning removes it)."""
    handle = tempfile.NamedTemporaryFile("w", prefix="digitnet-ckpt-", suffix=".yaml", delete=False)
    with handle:
        yaml.safe_dump(settings, handle)
    return Path(handle.name)


def check_data_dir_kept(settings: dict, source: str) -> None:
    """Refuse a resumed run's ``data.data_dir`` that is not where this user's data already is:
    a shared run folder must not choose where data is read from or written to.

    The data folder is the resumer's (``--data.data_dir``, ``$DIGITNET_DATA`` or ``data/``); a
    config that names another must be confirmed on the command line."""
    data = settings.get("data") if isinstance(settings.get("data"), dict) else {}
    named = data.get("data_dir")
    if named is None:
        return
    own = default_data_dir()
    if isinstance(named, str) and Path(named).expanduser().resolve() == own.resolve():
        return
    raise RunError(
        f"{source} sets data.data_dir to {named}; a resumed run reads and writes data only in "
        f"the folder of whoever resumes it ({own}), so pass --data.data_dir {named} to use that "
        "folder, or delete that line."
    )


def read_yaml(path: Path, follow: bool = False, error: type = RunError) -> Any:
    """A YAML config of at most 1 MiB from a regular file, its aliases expanding to at most
    100,000 values, or ``error`` in one sentence (a run folder's link or FIFO is refused)."""
    try:
        value = yaml.safe_load(untrusted.read_text(path, follow=follow))
    except UnicodeDecodeError as problem:
        raise error(
            f"{path} is not UTF-8 text ({problem.reason} at byte {problem.start}); save it as "
            "UTF-8."
        ) from None
    except (OSError, yaml.YAMLError, RecursionError) as problem:
        reason = getattr(problem, "strerror", None) or (str(problem).splitlines() or [""])[0][:120]
        raise error(
            f"{path} cannot be read as a YAML config ({reason}); fix or delete it."
        ) from None
    untrusted.check_expansion(value, str(path), error)
    return value


def check_user_configs(argv: list[str]) -> None:
    """Read every ``--config`` file the way :func:`read_yaml` does before jsonargparse sees it,
    so a file that is huge, a FIFO or an alias bomb is one sentence, not a hang."""
    for i, arg in enumerate(argv):
        value = argv[i + 1] if arg == "--config" and i + 1 < len(argv) else None
        if arg.startswith("--config="):
            value = arg.split("=", 1)[1]
        if value is not None and os.path.exists(value):
            read_yaml(Path(value), follow=True, error=BadSetting)
        elif value is not None:  # jsonargparse also takes the YAML text itself
            try:
                parsed = yaml.safe_load(value)
            except (yaml.YAMLError, RecursionError):
                continue  # jsonargparse says what is wrong with it
            untrusted.check_expansion(parsed, "--config", BadSetting)


def expand_preset(argv: list[str]) -> list[str]:
    """``--preset nielsen-ch1`` becomes ``--config <the preset's YAML file>`` (see
    :mod:`digitnet.lecture.presets`)."""
    name, rest = _pop_option(argv, "--preset")
    if name is None:
        return argv
    from digitnet.lecture import presets

    return [rest[0], "--config", str(presets.get(name).path), *rest[1:]]


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


def run_lightning(argv: list[str], callbacks: list | None = None) -> int:
    """Run ``digitnet fit|validate|test ARGV``; ``callbacks`` are added to a fit's Trainer (a
    sweep's pruning callback) without entering its saved config."""
    quiet_known_noise()
    argv = expand_preset(argv)
    check_user_configs(argv)
    held_before = runlock.held()
    threads_before = torch.get_num_threads()  # before_fit picks a fit's number of CPU threads
    resolved = Resolved(argv)
    try:
        resolved = _resolve_resume(argv)
        DigitCLI(
            resolved.args,
            resolved.run_dir,
            resolved.checkpoint,
            resolved.checkpoint_name,
            callbacks or [],
        )
    except ArgumentError as error:
        message = " ".join(str(error).split()).rstrip(".")
        raise BadSetting(f"{message}; run 'digitnet {argv[0]} --help' for the options.") from None
    except UnicodeDecodeError as error:
        raise BadSetting(
            f"a config file is not UTF-8 text ({error.reason} at byte {error.start}); "
            "save it as UTF-8."
        ) from None
    except MisconfigurationException as error:  # Lightning's own refusal of a Trainer setting
        raise BadSetting(trainer_refusal(str(error))) from None
    except (ValueError, TypeError) as error:
        cause = error.__cause__ or error.__context__
        if isinstance(cause, DigitnetError):
            raise cause from None
        if isinstance(cause, MisconfigurationException):
            raise BadSetting(trainer_refusal(str(cause))) from None
        raise
    finally:
        torch.set_num_threads(threads_before)
        if resolved.temporary_config is not None:
            resolved.temporary_config.unlink(missing_ok=True)
        for run_dir in runlock.held() - held_before:  # one call, one claim: a caller that runs
            runlock.release(run_dir)  # several fits in one process (reproduce) frees each run
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_lightning(sys.argv[1:]))
