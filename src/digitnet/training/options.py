"""Provides the settings of a run as :func:`~digitnet.training.api.train` takes them: by the
registry's names, checked by its rules (:func:`check_settings`), from the dotted ``digitnet fit``
options of a sweep's spec or a preset (:func:`from_options`), and back as the run's
``config.yaml`` (:func:`saved_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from digitnet import settings
from digitnet.errors import BadSetting


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
        if key in by_option:  # the setting's rule reads a value given as text
            out["given"][by_option[key]] = value
        elif key == "test_after_fit":
            out["test"] = as_value(value)
        elif key == "data.data_dir":
            out["data_dir"] = value
        elif key.startswith("trainer."):
            out["trainer"][key.removeprefix("trainer.")] = as_value(value)
        elif key in LINKED:
            raise BadSetting(f"{key} follows {LINKED[key]}; set that instead.")
        else:
            raise BadSetting(f"{key} is not a digitnet fit option this run can take.")
    return out


def as_value(value: Any) -> Any:
    """A value given as text read as the command line reads it: ``"0.5"`` a number, ``"false"``
    false; other text stays text.

    >>> as_value("0.5"), as_value("false"), as_value("64-true"), as_value([1])
    (0.5, False, '64-true', [1])
    """
    import yaml

    if not isinstance(value, str):
        return value
    try:
        read = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    return read if isinstance(read, (bool, int, float)) else value


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
    kept = {k: written(v) for k, v in trainer.items() if plain(v)}
    if isinstance(kept.get("callbacks"), dict):  # one callback: LightningCLI reads back a list
        kept["callbacks"] = [kept["callbacks"]]
    sections["trainer"].update(kept)
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


SHORT_NAMES = ("lightning.pytorch.callbacks", "lightning.pytorch.loggers")
"""Where a ``class_path`` without a module is looked for, as LightningCLI takes
``LearningRateMonitor`` for ``lightning.pytorch.callbacks.LearningRateMonitor``."""


def made(value: Any) -> Any:
    """A Trainer argument with each ``{"class_path": ..., "init_args": ...}`` made into its
    object (a callback or logger named in a spec, its own arguments made first), as LightningCLI
    makes them; one that cannot be made is one sentence.

    >>> made([{"class_path": "LearningRateMonitor", "init_args": {"logging_interval": "epoch"}}])
    [<lightning.pytorch.callbacks.lr_monitor.LearningRateMonitor object at ...>]
    >>> made({"class_path": "EarlyStopping", "init_args": {"monitor": "val_acc", "mode": "maxx"}})
    Traceback (most recent call last):
    ...
    digitnet.errors.BadSetting: EarlyStopping cannot be made (`mode` can be min, max, got maxx).
    """
    if isinstance(value, list):
        return [made(v) for v in value]
    if not (isinstance(value, dict) and "class_path" in value):
        return value
    path = str(value["class_path"])
    try:
        kind = find_class(path)[1]
        arguments = value.get("init_args") or {}
        return kind(**{key: made(v) for key, v in dict(arguments).items()})
    except Exception as error:  # noqa: BLE001 - any class's own refusal, as one sentence
        reason = " ".join(str(error).split()) or type(error).__name__
        raise BadSetting(f"{path} cannot be made ({reason}).") from None


def find_class(path: str) -> tuple[str, type]:
    """A ``class_path``'s whole path and class: a short name is looked for in
    :data:`SHORT_NAMES`.

    >>> find_class("Timer")[0]
    'lightning.pytorch.callbacks.Timer'
    """
    import importlib

    places = [path.rpartition(".")] if "." in path else [(m, ".", path) for m in SHORT_NAMES]
    for module, _, name in places:
        kind = getattr(importlib.import_module(module), name, None)
        if kind is not None:
            return f"{module}.{name}", kind
    raise AttributeError(f"no {path} in {', '.join(m for m, _, _ in places)}")


def written(value: Any) -> Any:
    """A Trainer argument as ``config.yaml`` keeps it: each ``class_path`` whole (a resume
    trusts Lightning's own classes by their whole path), one callback mapping as a list of one.

    >>> written({"class_path": "Timer", "init_args": {"duration": "00:01:00:00"}})
    {'class_path': 'lightning.pytorch.callbacks.Timer', 'init_args': {'duration': '00:01:00:00'}}
    """
    if isinstance(value, list):
        return [written(v) for v in value]
    if isinstance(value, dict) and "class_path" in value:
        arguments = {k: written(v) for k, v in dict(value.get("init_args") or {}).items()}
        return {**value, "class_path": find_class(str(value["class_path"]))[0]} | (
            {"init_args": arguments} if arguments else {}
        )
    return value
