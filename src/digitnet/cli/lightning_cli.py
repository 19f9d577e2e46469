"""Provides ``digitnet fit|validate|test``: LightningCLI with run folders, safe resume and clear
errors.

``--ckpt_path`` takes ``last`` (the newest run), a run name, or a file. Before LightningCLI parses
anything, the checkpoint is loaded safely and its run's ``config.yaml`` (or, for a loose file, the
hyper-parameters stored in the checkpoint) becomes the base config, so the model is rebuilt with the
architecture it was trained with; options given on the command line still win.
"""

from __future__ import annotations

import os
import sys
import tempfile
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
from digitnet.errors import BadSetting, DigitnetError, RunError
from digitnet.model.checkpoints import SafeCheckpointIO, check_weights, load_checkpoint
from digitnet.model.classifier import DigitClassifier
from digitnet.record.folder import run_folder
from digitnet.record.progress import UpdatesProgressBar
from digitnet.record.recorder import RunRecorder
from digitnet.runs import layout, trust
from digitnet.runs import lock as runlock
from digitnet.runs.files import RunFolder
from digitnet.runs.quiet import quiet_known_noise
from digitnet.training import claim, steps


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
        parser.link_arguments("model.optimizer", "data.full_batch", compute_fn=steps.is_full_batch)

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
            if claim.joined_run() is not None:  # a DDP worker joins rank 0's run
                self.run_dir = claim.joined_run()
            elif self.resume_dir is not None:  # claimed when --ckpt_path was resolved
                self.run_dir = self.resume_dir
            elif config.run_name:
                self.run_dir = root / layout.check_name(config.run_name)
                if self.run_dir.exists() and not self.run_dir.is_dir():
                    raise RunError(
                        f"{self.run_dir} is a file, not a run folder; pick another --run_name."
                    )
                self.run_dir.mkdir(parents=True, exist_ok=True)
                claim.claim_new_run(self.run_dir)
            else:
                model = config.model
                self.run_dir = layout.create_run_dir(root, f"{config.data.dataset}-{model.arch}")
                claim.claim_new_run(self.run_dir)
        except OSError as error:
            if self.resume_dir is None and getattr(self, "run_dir", None) is not None:
                claim.remove_half_made(self.run_dir)  # a full disk: no folder holding only its lock
            raise RunError(
                f"cannot write the checkpoints folder {root} ({error.strerror or error}); run "
                "digitnet from a folder you can write, or point --checkpoints_dir or "
                "$DIGITNET_CHECKPOINTS to one."
            ) from None
        # inherited by the DDP workers Lightning starts
        os.environ[claim.RUN_DIR_VARIABLE] = str(self.run_dir)
        # the instantiated config: {"fit": {"trainer": ...}} here, as LightningCLI nests it
        trainer_config = self.config_init.get(self.subcommand, self.config_init).get("trainer", {})
        given = trainer_config.get("callbacks") or []
        given = given if isinstance(given, list) else [given]  # one callback, not in a list
        configured = [*given, *self.extra_callbacks]
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
            config.trainer.log_every_n_steps or settings.LOG_EVERY,
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
                claim.remove_half_made(self.run_dir)
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
        steps.check_fit(trainer.as_dict(), trainer.max_epochs, model.engine, model.arch)

    def _check_checkpoint_fits_model(self) -> None:
        """Name mismatched keys and shapes before Lightning tries to load them (it would only raise
        a traceback)."""
        if self.checkpoint is not None:
            check_weights(self.checkpoint, self.model, self.checkpoint_name)

    def before_fit(self) -> None:
        try:
            self.threads_before = steps.begin(
                self.trainer,
                self.model,
                self.datamodule,
                self.run_dir,
                self.checkpoint,
                self.checkpoint_name,
            )
        except BaseException:  # refused before anything was trained: a new run leaves no folder
            if self.resume_dir is None and claim.joined_run() is None:
                claim.remove_half_made(self.run_dir)
            raise

    before_validate = before_test = _check_checkpoint_fits_model

    def after_fit(self) -> None:
        steps.end(
            self.trainer,
            self.model,
            self.datamodule,
            self.run_dir,
            self.recorder,
            self.config.fit.test_after_fit,
            self.threads_before,
        )


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
        steps.check_same_experiment(
            checkpoint.get("hyper_parameters") or {}, given, "model", str(path)
        )
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
        raise BadSetting(steps.trainer_refusal(str(error))) from None
    except (ValueError, TypeError) as error:
        cause = error.__cause__ or error.__context__
        if isinstance(cause, DigitnetError):
            raise cause from None
        if isinstance(cause, MisconfigurationException):
            raise BadSetting(steps.trainer_refusal(str(cause))) from None
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
