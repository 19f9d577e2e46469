"""Provides :func:`load_spec`: a sweep's spec (``params:`` to search, ``fit:`` to keep) read,
dotted and checked before any trial starts, and :func:`suggest`, one trial's value of a setting.

A spec names ``digitnet fit`` options, dotted or nested alike::

    params:
      model.lr: {low: 0.01, high: 0.3, log: true}   # a number: low, high, and log or step
      model.layers: [[784, 16, 10], [784, 32, 10]]  # a list: one of its choices
    fit:
      trainer: {max_epochs: 3}                      # the same as trainer.max_epochs: 3
      test_after_fit: false
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path
from typing import Any

from digitnet.errors import BadSetting, RunError

TOP_LEVEL = {"seed_everything", "test_after_fit", "preset"}  # digitnet fit's own options
NAMED_BY_THE_SWEEP = {"run_name", "checkpoints_dir", "ckpt_path"}


def load_spec(path: Path, root: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The spec's ``params`` and ``fit``, dotted and checked: one sentence for the first problem,
    before any trial starts. A spec inside the checkpoints folder ``root`` (the copy a sweep
    started from the dashboard keeps there) is untrusted: its settings go through a run config's
    trust rules (:mod:`digitnet.runs.trust`)."""
    from digitnet.cli.prepare import read_yaml

    spec = read_yaml(path, follow=True, error=BadSetting)
    if not isinstance(spec, dict) or not isinstance(spec.get("params"), dict) or not spec["params"]:
        raise BadSetting(
            f"{path} must be a mapping with 'params:' (the settings to search, a range or a list "
            "of choices each) and, if you like, 'fit:' (the fixed ones); see 'digitnet sweep "
            "--help'."
        )
    fixed = spec.get("fit") or {}
    if not isinstance(fixed, dict):
        raise BadSetting(f"{path}: 'fit:' must map dotted fit options to values.")
    unknown = [key for key in set(spec) - {"params", "fit"}]
    if unknown:
        raise BadSetting(f"{path} has {unknown[0]!r}; a spec holds only 'params:' and 'fit:'.")
    known = fit_options()
    params = dotted(spec["params"], known, path, searched=True)
    fixed = dotted(fixed, known, path)
    both = set(params) & set(fixed)
    if both:
        raise BadSetting(f"{path} both searches and fixes {sorted(both)[0]}; keep one.")
    for key, rule in params.items():
        check_rule(key, rule, path)
    if root is not None and inside(path, root):
        check_trusted(params, fixed, path, root)
    return params, fixed


def dotted(
    settings: dict[str, Any], known: set[str], path: Path, searched: bool = False, where: str = ""
) -> dict[str, Any]:
    """Nested sections as dotted options: ``{trainer: {max_epochs: 2}}`` and
    ``{trainer.max_epochs: 2}`` are the same spec. A searched setting's rule is a list or a
    mapping of low and high, so a mapping is read as a section only where it is no rule.

    >>> known = {"trainer.max_epochs", "model.lr", "test_after_fit"}
    >>> dotted({"trainer": {"max_epochs": 2}, "test_after_fit": False}, known, Path("s.yaml"))
    {'trainer.max_epochs': 2, 'test_after_fit': False}
    >>> dotted({"model": {"lr": {"low": 0.01, "high": 0.1}}}, known, Path("s.yaml"), True)
    {'model.lr': {'low': 0.01, 'high': 0.1}}
    """
    out: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{where}.{key}" if where else str(key)
        if name in known:
            out[name] = value
        elif isinstance(value, dict) and any(k.startswith(name + ".") for k in known):
            out.update(dotted(value, known, path, searched, name))
        elif name.split(".")[-1] in NAMED_BY_THE_SWEEP:
            raise BadSetting(
                f"{path} sets {name}, which the sweep sets for each trial (its run is "
                "<study>-<trial number> in the checkpoints folder); delete that line."
            )
        else:
            near = sorted(k for k in known if k.split(".")[-1] == name.split(".")[-1])
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise BadSetting(f"{path} names {name!r}, which is not a digitnet fit option{hint}.")
    return out


def check_trusted(params: dict[str, Any], fixed: dict[str, Any], path: Path, root: Path) -> None:
    """A spec in the checkpoints folder may name only what a run's ``config.yaml`` may: no class
    but digitnet's and Lightning's own, no write path outside a trial's folder."""
    from digitnet.runs.trust import check_config

    nested: dict[str, Any] = {}
    for key, value in [*fixed.items(), *params.items()]:
        *sections, last = key.split(".")
        here = nested
        for section in sections:
            here = here.setdefault(section, {})
        here[last] = value
    try:
        check_config(nested, Path(root) / f"{path.stem}-0", str(path))
    except RunError as error:
        raise BadSetting(str(error).replace("a resumed run", "a sweep's trial")) from None


def inside(path: Path, root: Path) -> bool:
    """Whether ``path`` lies in the folder ``root``, links resolved."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
        return True
    except ValueError:
        return False


def check_rule(key: str, rule: Any, path: Path) -> None:
    """One sentence for a searched setting's rule that Optuna would refuse with a traceback.

    >>> check_rule("model.lr", {"low": 1e-300, "high": 1e300, "log": True}, Path("s.yaml"))
    >>> check_rule("model.batch", {"low": 1, "high": 10**400, "log": True}, Path("s.yaml"))
    Traceback (most recent call last):
    digitnet.errors.BadSetting: s.yaml: model.batch needs numbers low and high, got 1 and 1000...
    >>> check_rule("model.lr", {"low": 0.1, "high": 0.3, "step": -0.1}, Path("s.yaml"))
    Traceback (most recent call last):
    digitnet.errors.BadSetting: s.yaml: model.lr needs a step above 0, got -0.1.
    """
    if isinstance(rule, list):
        if not rule:
            raise BadSetting(f"{path}: {key} has no choices; give at least one.")
        return
    if not isinstance(rule, dict) or set(rule) - {"low", "high", "log", "step"}:
        raise BadSetting(
            f"{path}: {key} must be a list of choices or {{low, high}} with log or step, got "
            f"{rule!r}."
        )
    low, high, step = rule.get("low"), rule.get("high"), rule.get("step")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    try:
        numbers = numbers and all(math.isfinite(float(v)) for v in (low, high))
    except OverflowError:  # a whole number past a float's range: 10**400
        numbers = False
    if not numbers:
        raise BadSetting(f"{path}: {key} needs numbers low and high, got {low!r} and {high!r}.")
    if low > high:
        raise BadSetting(f"{path}: {key} has low {low} above high {high}; swap them.")
    if rule.get("log"):
        if low <= 0:
            raise BadSetting(f"{path}: {key} is searched on a log scale, so low must be above 0.")
        if step is not None:
            raise BadSetting(f"{path}: {key} has both log and step; keep one.")
        if not all(math.isfinite(math.log(float(v))) for v in (low, high)):
            raise BadSetting(f"{path}: {key}'s range is too wide for a log scale; narrow it.")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0:
            raise BadSetting(f"{path}: {key} needs a step above 0, got {step!r}.")
        if not math.isfinite(float(step)) or (high > low and step > high - low):
            raise BadSetting(f"{path}: {key}'s step {step} is wider than its range; narrow it.")
    if not math.isfinite(float(high) - float(low)):
        raise BadSetting(f"{path}: {key}'s range is too wide; narrow it.")


def fit_options() -> set[str]:
    """Every dotted option ``digitnet fit`` takes: the model's, the data's and the Trainer's
    constructor arguments, and ``seed_everything``."""
    import lightning as L

    from digitnet.data.module import DigitDataModule
    from digitnet.model.classifier import DigitClassifier

    options = set(TOP_LEVEL)
    sections = (("model", DigitClassifier), ("data", DigitDataModule), ("trainer", L.Trainer))
    for section, cls in sections:
        names = inspect.signature(cls.__init__).parameters
        options |= {f"{section}.{name}" for name in names if name != "self"}
    return options


def suggest(trial: Any, key: str, rule: Any) -> Any:
    """One trial's value of ``key``: a choice (lists are stored as JSON text: Optuna's choices
    are plain values), or a number in the range."""
    if isinstance(rule, list):
        return json.loads(trial.suggest_categorical(key, [json.dumps(c) for c in rule]))
    low, high = rule["low"], rule["high"]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
        if rule.get("log"):  # whole numbers on a log scale: batch sizes 16..256
            return trial.suggest_int(key, low, high, log=True)
        return trial.suggest_int(key, low, high, step=int(rule.get("step", 1)))
    if rule.get("step"):
        return trial.suggest_float(key, low, high, step=rule["step"])
    return trial.suggest_float(key, low, high, log=bool(rule.get("log")))
