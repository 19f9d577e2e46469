"""Provides ``DigitCLI``, LightningCLI with run folders and clear errors, and :func:`start`, which
runs it over a command line :mod:`digitnet.cli.prepare` has checked and resolved (a resumed run's
config first, its checkpoint loaded safely).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

os.environ.setdefault("JSONARGPARSE_DEPRECATION_WARNINGS", "off")  # Lightning's own calls, not ours

from jsonargparse import ArgumentError
from lightning.pytorch.callbacks import ProgressBar
from lightning.pytorch.cli import LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from digitnet import checks, settings
from digitnet.atomic import atomic_write_text, write_failed
from digitnet.cli.common import add_checkpoints_dir
from digitnet.cli.trainer import DigitTrainer
from digitnet.data.module import DigitDataModule
from digitnet.errors import BadSetting, DigitnetError, RunError
from digitnet.model.checkpoint_io import SafeCheckpointIO
from digitnet.model.checkpoints import check_weights
from digitnet.model.classifier import DigitClassifier
from digitnet.record.folder import run_folder
from digitnet.record.progress import UpdatesProgressBar
from digitnet.record.recorder import RunRecorder
from digitnet.runs import layout
from digitnet.runs import lock as runlock
from digitnet.runs.quiet import quiet_known_noise
from digitnet.training import claim, steps


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


def start(resolved: Any, callbacks: list) -> None:
    """LightningCLI over the ``Resolved`` command line :mod:`digitnet.cli.prepare` checked (that
    module imports this one lazily, so not the other way); its refusals are one sentence
    (:class:`~digitnet.errors.BadSetting`)."""
    quiet_known_noise()
    threads_before = torch.get_num_threads()  # before_fit picks a fit's number of CPU threads
    argv = resolved.args
    try:
        DigitCLI(argv, resolved.run_dir, resolved.checkpoint, resolved.checkpoint_name, callbacks)
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
