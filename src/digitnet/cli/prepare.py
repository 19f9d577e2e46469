"""Provides ``run_lightning``, the ``digitnet fit|validate|test`` commands: what can be refused
is refused before Lightning is imported, then :mod:`digitnet.cli.lightning_cli` runs LightningCLI.

A bad start or resume is one sentence in well under a second where it used to take Lightning's
import (about 4 s here): a ``--run_name`` that is not a name, a config that is an alias bomb, a run
folder holding a link or a FIFO, a resumed ``config.yaml`` that names a class it may not or a data
folder of someone else's; another ``--model.*`` than the checkpoint's reads the checkpoint, so
torch is imported (about 1.5 s).

``--ckpt_path`` takes ``last`` (the newest run), a run name, or a file. Before LightningCLI parses
anything, the checkpoint is loaded safely and its run's ``config.yaml`` (or, for a loose file, the
hyper-parameters stored in the checkpoint) becomes the base config, so the model is rebuilt with the
architecture it was trained with; options given on the command line still win.

>>> option(["fit", "--run_name=a", "--ckpt_path", "last"], "--ckpt_path")
(2, 'last')
>>> pop_option(["fit", "--run_name=a", "--ckpt_path", "last"], "--run_name")
('a', ['fit', '--ckpt_path', 'last'])
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from digitnet import untrusted
from digitnet.cli.common import resolve_checkpoint
from digitnet.data.sources import default_data_dir
from digitnet.errors import BadSetting, RunError
from digitnet.runs import layout, trust
from digitnet.runs import lock as runlock
from digitnet.runs.files import RunFolder
from digitnet.training import steps


def pop_option(argv: list[str], name: str) -> tuple[str | None, list[str]]:
    """Take ``--name value`` or ``--name=value`` out of ``argv``; return (value or None, the
    rest)."""
    index, value = option(argv, name)
    if value is None:
        return None, argv
    width = 2 if argv[index] == name else 1
    return value, [*argv[:index], *argv[index + width :]]


def option(argv: list[str], name: str) -> tuple[int, str | None]:
    """Find ``--name value`` or ``--name=value``; return (index of the flag or -1, value)."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return i, argv[i + 1]
        if arg.startswith(name + "="):
            return i, arg.split("=", 1)[1]
    return -1, None


def yaml_value(text: str) -> Any:
    """A command-line value as jsonargparse reads it: ``[784, 16, 10]`` a list, ``0.1`` a float."""
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError):  # 2001-02-30 is no date: text, as here
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


def resolve_resume(argv: list[str]) -> Resolved:
    """Resolve ``--ckpt_path`` and put the checkpoint's own config first.

    Lightning then also applies the checkpoint's model hyper-parameters over the command line, so a
    resumed model always has the architecture it was trained with.
    """
    spec, args = pop_option(argv, "--ckpt_path")
    if spec is None or spec in ("null", "None"):
        return Resolved(argv)
    if not spec.strip():
        raise BadSetting("--ckpt_path is empty; give last, a run name or a checkpoint file.")
    _, root = option(argv, "--checkpoints_dir")
    path, run_dir = resolve_checkpoint(spec, Path(root) if root else None)
    if run_dir is not None and argv[:1] == ["fit"]:
        # the run is ours before its checkpoint is read, so no other process changes it meanwhile
        runlock.claim(run_dir)
        layout.check_run_files(run_dir)
    user_config = option(argv, "--config")[1] is not None
    config = RunFolder(run_dir).config if run_dir is not None else None
    settings, run_config = None, not user_config and config is not None and config.is_file()
    if run_config:  # needs no torch: first
        settings = read_yaml(config)
        trust.check_config(settings, run_dir, str(config))
        if option(argv, "--data.data_dir")[1] is None:
            check_data_dir_kept(settings, str(config))
    from digitnet.model.checkpoints import load_checkpoint  # torch, not Lightning

    # refuses unsafe, corrupt and truncated files before any work
    checkpoint = load_checkpoint(path)
    for key in ("hyper_parameters", "datamodule_hyper_parameters"):  # LightningCLI applies them too
        trust.check_hparams(checkpoint.get(key), f"{path} ({key})")
    if argv[:1] == ["fit"]:  # the model is rebuilt from the checkpoint: say so, never ignore
        given = {}
        for key in checkpoint.get("hyper_parameters") or {}:
            value = option(argv, f"--model.{key}")[1]
            if value is not None:
                given[key] = yaml_value(value)
        steps.check_same_experiment(
            checkpoint.get("hyper_parameters") or {}, given, "model", str(path)
        )
    args += ["--ckpt_path", str(path)]
    base: list[str] = []
    temporary = None
    if not user_config:
        if run_config:
            base = ["--config", str(config)]
            if isinstance(settings, dict) and "weights_only" in settings:
                # saved before digitnet stopped offering Lightning's --weights_only (it always
                # loads with weights_only=True): the same settings, less that key
                settings.pop("weights_only")
                temporary = temporary_config(settings)
                base = ["--config", str(temporary)]
        else:
            saved = {
                "model": dict(checkpoint.get("hyper_parameters") or {}),
                "data": dict(checkpoint.get("datamodule_hyper_parameters") or {}),
            }
            saved["model"].pop("dataset", None)  # linked from data.dataset
            for section in saved.values():
                section.pop("_instantiator", None)  # Lightning's bookkeeping, not a setting
            temporary = temporary_config(saved)
            base = ["--config", str(temporary)]
    command = args[0]
    return Resolved(
        [command, *base, *args[1:]],
        run_dir if command == "fit" else None,
        checkpoint,
        str(path),
        temporary,
    )


def temporary_config(settings: dict) -> Path:
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
            except (yaml.YAMLError, ValueError, RecursionError):
                continue  # jsonargparse says what is wrong with it
            untrusted.check_expansion(parsed, "--config", BadSetting)


def expand_preset(argv: list[str]) -> list[str]:
    """``--preset nielsen-ch1`` becomes ``--config <the preset's YAML file>`` (see
    :mod:`digitnet.lecture.presets`)."""
    name, rest = pop_option(argv, "--preset")
    if name is None:
        return argv
    from digitnet.lecture import presets

    return [rest[0], "--config", str(presets.get(name).path), *rest[1:]]


def check_run_name_option(argv: list[str]) -> None:
    """Refuse the ``--run_name`` of a new ``fit`` that is not a folder name
    (:func:`digitnet.runs.layout.check_name`) before anything is imported; a resume or an
    evaluation makes no folder, and a name from a ``--config`` file is checked when the folder is
    made. The last ``--run_name`` counts, as in jsonargparse."""
    if argv[:1] != ["fit"] or option(argv, "--ckpt_path")[1] is not None:
        return
    name = None
    while (found := pop_option(argv, "--run_name"))[0] is not None:
        name, argv = found
    if name is not None and yaml_value(name) == name:  # a plain name, as jsonargparse reads it
        layout.check_name(name)


def run_lightning(argv: list[str], callbacks: list | None = None) -> int:
    """Run ``digitnet fit|validate|test ARGV``; ``callbacks`` are added to a fit's Trainer (a
    sweep's pruning callback) without entering its saved config."""
    argv = expand_preset(argv)
    check_user_configs(argv)
    check_run_name_option(argv)
    held_before = runlock.held()
    resolved = Resolved(argv)
    try:
        resolved = resolve_resume(argv)
        from digitnet.cli.lightning_cli import start  # Lightning is imported here, not before

        start(resolved, callbacks or [])
    finally:
        if resolved.temporary_config is not None:
            resolved.temporary_config.unlink(missing_ok=True)
        for run_dir in runlock.held() - held_before:  # one call, one claim: a caller that runs
            runlock.release(run_dir)  # several fits in one process frees each run
    return 0
