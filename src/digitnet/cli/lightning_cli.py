"""Provides ``digitnet fit|validate|test``: LightningCLI with run folders, safe resume and clear
errors.

``--ckpt_path`` takes ``last`` (the newest run), a run name, or a file. Before LightningCLI parses
anything, the checkpoint is loaded safely and its run's ``config.yaml`` (or, for a loose file, the
hyper-parameters stored in the checkpoint) becomes the base config, so the model is rebuilt with the
architecture it was trained with; options given on the command line still win.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")  # Lightning's own calls, not ours

from jsonargparse import ArgumentError
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from digitnet.cli.common import add_checkpoints_dir, resolve_checkpoint
from digitnet.data.module import DigitDataModule
from digitnet.errors import BadSetting, DigitnetError, RunError
from digitnet.model import engine as engines
from digitnet.model.checkpoints import SafeCheckpointIO, check_weights, load_checkpoint
from digitnet.model.classifier import DigitClassifier
from digitnet.runs import layout, trust
from digitnet.runs import lock as runlock
from digitnet.runs.folder import run_folder
from digitnet.runs.recorder import EPOCHS_DONE, RunRecorder


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


class DigitCLI(LightningCLI):
    """LightningCLI for :class:`DigitClassifier` and :class:`DigitDataModule` with run folders."""

    def __init__(
        self,
        args: list[str],
        resume_dir: Path | None,
        checkpoint: dict | None = None,
        checkpoint_name: str = "",
    ) -> None:
        self.resume_dir = resume_dir
        self.checkpoint, self.checkpoint_name = checkpoint, checkpoint_name
        self.run_dir: Path | None = None
        self.recorder: RunRecorder | None = None
        super().__init__(
            DigitClassifier,
            DigitDataModule,
            args=args,
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
            trainer_defaults={"max_epochs": 10, "num_sanity_val_steps": 0},
            parser_kwargs={"exit_on_error": False},
            save_config_callback=SaveConfigCallback if args[0] == "fit" else None,
        )

    def add_arguments_to_parser(self, parser: Any) -> None:
        parser.add_argument(
            "--run_name", type=str | None, default=None, help="name of the new run's folder"
        )
        add_checkpoints_dir(parser)
        parser.add_argument(
            "--test_after_fit",
            type=bool,
            default=True,
            help="after fit, test the best checkpoint on the 10,000 test images",
        )
        parser.link_arguments("data.dataset", "model.dataset")
        parser.link_arguments("seed_everything", "data.seed")

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
            elif self.resume_dir is not None:
                self.run_dir = self.resume_dir
                runlock.claim(self.run_dir)  # one process at a time trains in a run folder
            elif config.run_name:
                self.run_dir = root / layout.check_name(config.run_name)
                if self.run_dir.exists() and not self.run_dir.is_dir():
                    raise RunError(
                        f"{self.run_dir} is a file, not a run folder; pick another --run_name."
                    )
                self.run_dir.mkdir(parents=True, exist_ok=True)
                # a folder the dashboard made for this run is fine
                runlock.check_new_run_folder(self.run_dir)
                runlock.claim(self.run_dir)
                # again: another process may have started it meanwhile
                runlock.check_new_run_folder(self.run_dir)
            else:
                model = config.model
                self.run_dir = layout.create_run_dir(root, f"{config.data.dataset}-{model.arch}")
                runlock.claim(self.run_dir)
        except OSError as error:
            raise RunError(
                f"cannot write the checkpoints folder {root} ({error.strerror or error}); run "
                "digitnet from a folder you can write, or point --checkpoints_dir or "
                "$DIGITNET_CHECKPOINTS to one."
            ) from None
        # inherited by the DDP workers Lightning starts
        os.environ["DIGITNET_RUN_DIR"] = str(self.run_dir)
        trainer_config = self._get(self.config_init, "trainer", default={})
        configured = trainer_config.get("callbacks") or []
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
            runlock.release(self.run_dir)
            if self.resume_dir is None and {p.name for p in self.run_dir.iterdir()} <= {
                runlock.LOCK_NAME
            }:
                (self.run_dir / runlock.LOCK_NAME).unlink(missing_ok=True)
                self.run_dir.rmdir()
            raise

    def before_instantiate_classes(self) -> None:
        """Refuse, in one sentence, what the Trainer would refuse with a traceback or ignore, before
        any run folder is made."""
        if self.subcommand in ("test", "validate") and self.checkpoint is None:
            raise BadSetting(
                f"digitnet {self.subcommand} needs --ckpt_path (last, a run name or a checkpoint "
                "file); "
                "without one it would evaluate an untrained network."
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
                "mini-batch; "
                "raise --data.batch_size instead, which averages the gradient over more images."
            )
        if trainer.max_epochs is not None and trainer.max_epochs < -1:
            raise BadSetting(
                "--trainer.max_epochs must be at least 1 (or -1 for no limit), got "
                f"{trainer.max_epochs}."
            )
        precision = str(trainer.precision or "32-true")
        problem = engines.problem(
            engines.choose(model.engine, model.arch, model.optimizer, precision),
            model.arch,
            model.optimizer,
            precision,
        )
        if problem:
            raise BadSetting(problem)

    def _check_checkpoint_fits_model(self) -> None:
        """Name mismatched keys and shapes before Lightning tries to load them (it would only raise
        a traceback)."""
        if self.checkpoint is not None:
            check_weights(self.checkpoint, self.model, self.checkpoint_name)

    def before_fit(self) -> None:
        self._check_checkpoint_fits_model()
        done = (self.checkpoint or {}).get(EPOCHS_DONE)
        limit = self.trainer.max_epochs
        if isinstance(done, int) and limit is not None and limit >= 0 and done >= limit:
            raise RunError(
                f"run {self.run_dir.name} already finished {done} epochs; raise "
                "--trainer.max_epochs "
                f"above {done} to continue."
            )

    before_validate = before_test = _check_checkpoint_fits_model

    def after_fit(self) -> None:
        status = self.recorder.final_status if self.recorder else None
        if status == "diverged":
            raise RunError(
                f"run {self.run_dir.name} diverged: the loss became NaN or infinite; lower "
                "--model.lr. "
                "Its last good checkpoint is kept."
            )
        if status == "cancelled":
            raise RunError(
                f"run {self.run_dir.name} was cancelled; resume it with "
                f"'digitnet fit --ckpt_path {self.run_dir.name}'."
            )
        if self.config.fit.test_after_fit:  # on every rank: the test pass is collective under DDP
            best = self.run_dir / "best.ckpt"
            self.trainer.test(
                self.model,
                datamodule=self.datamodule,
                ckpt_path=str(best) if best.is_file() else None,
            )


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
    # refuses unsafe, corrupt and truncated files before any work
    checkpoint = load_checkpoint(path)
    for key in ("hyper_parameters", "datamodule_hyper_parameters"):  # LightningCLI applies them too
        trust.check_hparams(checkpoint.get(key), f"{path} ({key})")
    args += ["--ckpt_path", str(path)]
    user_config = _option(argv, "--config")[1] is not None
    base: list[str] = []
    temporary = None
    if not user_config:
        if run_dir is not None and (run_dir / "config.yaml").is_file():
            config = run_dir / "config.yaml"
            # before anything is imported
            trust.check_config(_read_yaml(config), run_dir, str(config))
            base = ["--config", str(config)]
        else:
            saved = {
                "model": dict(checkpoint.get("hyper_parameters") or {}),
                "data": dict(checkpoint.get("datamodule_hyper_parameters") or {}),
            }
            saved["model"].pop("dataset", None)  # linked from data.dataset
            for section in saved.values():
                section.pop("_instantiator", None)  # Lightning's bookkeeping, not a setting
            handle = tempfile.NamedTemporaryFile(
                "w", prefix="digitnet-ckpt-", suffix=".yaml", delete=False
            )
            yaml.safe_dump(saved, handle)
            handle.close()
            temporary = Path(handle.name)
            base = ["--config", handle.name]
    command = args[0]
    return Resolved(
        [command, *base, *args[1:]],
        run_dir if command == "fit" else None,
        checkpoint,
        str(path),
        temporary,
    )


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0][:120]
        raise RunError(
            f"{path} cannot be read as a YAML config ({reason}); fix or delete it."
        ) from None


NOISE = ("Tip:", "to estimate number of stepping batches", "Seed set to")


def quiet_known_noise() -> None:
    """Drop Lightning's advertisements and warnings that do not apply to digitnet's own set-up
    (once)."""
    if getattr(quiet_known_noise, "done", False):
        return
    quiet_known_noise.done = True
    for pattern in (
        r".*isinstance\(treespec, LeafSpec\)",
        r"You have overridden `on_after_batch_transfer`",
        r"Checkpoint directory .* exists and is not empty",
        r".*does not have many workers",
        r"Experiment logs directory .* exists",
        r"LightningCLI's args parameter is intended",
        r"Be aware that when using `ckpt_path`, callbacks used to create the checkpoint",
    ):
        warnings.filterwarnings("ignore", message=pattern)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(
            lambda record: not any(text in record.getMessage() for text in NOISE)
        )
    # "Seed set to 0"
    logging.getLogger("lightning.fabric.utilities.seed").setLevel(logging.WARNING)


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


def run_lightning(argv: list[str]) -> int:
    quiet_known_noise()
    argv = expand_preset(argv)
    held_before = runlock.held()
    resolved = Resolved(argv)
    try:
        resolved = _resolve_resume(argv)
        DigitCLI(resolved.args, resolved.run_dir, resolved.checkpoint, resolved.checkpoint_name)
    except ArgumentError as error:
        message = " ".join(str(error).split())
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
        if resolved.temporary_config is not None:
            resolved.temporary_config.unlink(missing_ok=True)
        for run_dir in runlock.held() - held_before:  # one call, one claim: a caller that runs
            runlock.release(run_dir)  # several fits in one process (reproduce) frees each run
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_lightning(sys.argv[1:]))
