"""Provides the checks that keep a run folder from running code or writing outside itself.

A run folder is shared like a document, so everything in it is untrusted. Its ``config.yaml`` is
applied by LightningCLI when the run is resumed, and jsonargparse imports whatever a config names:
``class_path: pkg.mod.Class`` anywhere, or a dotted string where an argument takes a class or a
function. Before a resumed config reaches the parser, :func:`check_config` walks it and refuses

- any class it names that is not allowed (digitnet's own classes and Lightning's
  built-in callbacks, loggers and profilers; ``LambdaCallback``, which runs named functions, is
  not among them), and any dotted name in the ``trainer`` section or in ``init_args``;
- any place a callback or logger writes (``dirpath``, ``save_dir``, ``default_root_dir``, ...)
  outside the run folder.

Example, for the run folder ``checkpoints/run``::

    >>> ok = {"trainer": {"callbacks": [{"class_path": "lightning.pytorch.callbacks.EarlyStopping",
    ...                                  "init_args": {"monitor": "val_acc"}}]}}
    >>> check_config(ok, Path("checkpoints/run"), "config.yaml")
    >>> evil = {"trainer": {"callbacks": [{"class_path": "checkpoints.evil.payload.Innocent"}]}}
    >>> check_config(evil, Path("checkpoints/run"), "config.yaml")
    Traceback (most recent call last):
    ...
    digitnet.errors.RunError: config.yaml names checkpoints.evil.payload.Innocent at ...

The whole sentence goes on: "... at trainer.callbacks[0].class_path, which digitnet never imports
from a run folder; delete that entry (or start a new run), or trust it by adding it to
$DIGITNET_ALLOW_CLASSES."

Classes a user trusts can be added, comma-separated, to ``$DIGITNET_ALLOW_CLASSES``: a setting of
the person running digitnet, never of the folder. Imports neither torch nor Lightning.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from digitnet import untrusted
from digitnet.errors import RunError

_CALLBACKS = (
    "EarlyStopping",
    "LearningRateMonitor",
    "ModelCheckpoint",
    "TQDMProgressBar",
    "RichProgressBar",
    "ModelSummary",
    "RichModelSummary",
    "Timer",
    "DeviceStatsMonitor",
    "StochasticWeightAveraging",
)
_LOGGERS = (
    "CSVLogger",
    "TensorBoardLogger",
    "MLFlowLogger",
    "WandbLogger",
    "CometLogger",
    "NeptuneLogger",
)
_PROFILERS = ("SimpleProfiler", "AdvancedProfiler", "PyTorchProfiler")
_DIGITNET = (
    "digitnet.DigitClassifier",
    "digitnet.model.classifier.DigitClassifier",
    "digitnet.DigitDataModule",
    "digitnet.data.module.DigitDataModule",
    "digitnet.record.recorder.RunRecorder",
    "lightning.pytorch.cli.instantiate_module",
)  # the last: LightningCLI's note in saved settings


_LIGHTNING = re.compile(
    r"^(lightning\.pytorch|pytorch_lightning)\.(callbacks|loggers|profilers)(\.[a-z_]+)*\.("
    + "|".join(_CALLBACKS + _LOGGERS + _PROFILERS)
    + r")$"
)  # a built-in class under its public module or the one defining it: lightning's own code only
DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")  # how an import path looks: a.b, a.b.C
WRITE_KEYS = (
    "dirpath",
    "save_dir",
    "default_root_dir",
    "root_dir",
    "log_dir",
    "dir",
    "logdir",
    "output_dir",
    "save_path",
)
NAME_KEYS = ("filename", "name", "version", "sub_dir", "prefix")


def allowed_classes() -> frozenset[str]:
    extra = {
        name.strip()
        for name in os.environ.get("DIGITNET_ALLOW_CLASSES", "").split(",")
        if name.strip()
    }
    return frozenset(_DIGITNET) | extra


def check_config(config: Any, run_dir: Path, source: str) -> None:
    """Raise :class:`RunError` naming the first class or write path in ``config`` that is not
    allowed."""
    if not isinstance(config, dict):
        raise RunError(
            f"{source} is not a config (a mapping of settings); start a new run instead."
        )
    untrusted.check_expansion(config, source, RunError)  # before any walk: a walk is bounded
    for key in ("config", "__path__"):
        if key in config:
            raise RunError(
                f"{source} includes another file through {key!r}, which a run folder may not do; "
                "delete that line."
            )
    _walk(config, "", run_dir.resolve(), source, allowed_classes(), in_code=False)


def _walk(
    value: Any, where: str, run_dir: Path, source: str, allowed: frozenset[str], in_code: bool
) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            here = f"{where}.{key}" if where else key
            if key in ("class_path", "_class_path", "_instantiator"):
                _check_name(item, here, source, allowed, named=True)
            elif key in WRITE_KEYS and isinstance(item, str):
                _check_inside(item, here, run_dir, source)
            elif (
                key in NAME_KEYS
                and isinstance(item, str)
                and ("/" in item or "\\" in item or ".." in item)
            ):
                raise RunError(
                    f"{source} sets {here} to {item!r}, a path that leaves the run folder; "
                    "delete that line."
                )
            else:
                _walk(
                    item,
                    here,
                    run_dir,
                    source,
                    allowed,
                    in_code or key in ("trainer", "init_args", "dict_kwargs"),
                )
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{where}[{i}]", run_dir, source, allowed, in_code)
    elif in_code and isinstance(value, str) and DOTTED.fullmatch(value):
        _check_name(value, where, source, allowed, named=False)


def _check_name(name: Any, where: str, source: str, allowed: frozenset[str], named: bool) -> None:
    if isinstance(name, str) and (
        name in allowed or _LIGHTNING.fullmatch(name) or (not named and not DOTTED.fullmatch(name))
    ):
        return
    raise RunError(
        f"{source} names {name} at {where}, which digitnet never imports from a run folder; "
        "delete that entry (or start a new run), or trust it by adding it to "
        "$DIGITNET_ALLOW_CLASSES."
    )


def _check_inside(path: str, where: str, run_dir: Path, source: str) -> None:
    resolved = Path(os.path.expanduser(path)).resolve()
    if resolved != run_dir and run_dir not in resolved.parents:
        raise RunError(
            f"{source} sets {where} to {path}, outside the run folder {run_dir}; "
            "a resumed run writes only into its own folder, so delete that line."
        )


def check_hparams(hparams: Any, source: str) -> dict[str, Any]:
    """A checkpoint's saved model settings: a mapping naming no class but digitnet's own."""
    if hparams is None:
        return {}
    if not isinstance(hparams, dict):
        raise RunError(
            f"{source} holds settings of the wrong type ({type(hparams).__name__}); "
            "it was not written by digitnet."
        )
    untrusted.check_expansion(hparams, source, RunError)
    _walk(hparams, "hyper_parameters", Path.cwd(), source, frozenset(_DIGITNET), in_code=True)
    return hparams
