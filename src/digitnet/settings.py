"""Provides the settings registry: every setting of a run, once, as one row.

A row says what everything else needs to know of a setting: its name and the section it belongs
to (the model's or the data module's constructor, or the Trainer), its default, the rule that
checks a value, its label in the dashboard's New-run form, its column in the runs table, whether
and how a sweep may search it, whether a resume may change it, and whether it is a speed setting
(it changes how fast a run goes, never what it computes: never an experiment setting, never a
reason to refuse a resume). The defaults of the constructors, the form's fields and choices, the
runs table's columns, the sweep's searchable fields and the resume rules are all read from here::

    >>> row("lr").option, row("lr").default, row("lr").column, row("lr").search
    ('model.lr', 0.05, 'lr', 'log')
    >>> row("seed").option  # fit takes it as seed_everything, which the data module's seed follows
    'seed_everything'
    >>> [r.name for r in REGISTRY if r.speed]
    ['engine', 'cuda_graph', 'steps_per_call', 'device']
    >>> DEFAULTS["layers"], DEFAULTS["epochs"]
    ((784, 512, 512, 10), 10)

Adding a hyper-parameter is one row here and its argument in the constructor of its section
(``DigitClassifier`` or ``DigitDataModule``, whose default reads ``DEFAULTS``). This module
imports neither torch nor Textual: the dashboard checks its form with the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from digitnet import checks
from digitnet.checks import DATASETS

DEVICES = ("auto", "cpu", "cuda")  # the form's choices; fit and train() take Lightning's others
ACCELERATORS = (*DEVICES, "gpu", "mps", "tpu", "hpu")
LOG_EVERY = 50  # updates between two logged training losses, unless --trainer.log_every_n_steps
LOSS_MARKS = {"cross_entropy": "ce", "mse": "mse", "sigmoid_cross_entropy": "sce"}


@dataclass(frozen=True)
class Setting:
    """One setting. ``search`` is None (one value only), ``"choices"`` (``a | b``), ``"range"``
    (``low..high`` on a linear scale, or choices) or ``"log"`` (a range on a log scale where low is
    above 0). ``mark`` gives the part of a run's default name when the value differs from the
    default (``lr3``, ``b10``). ``option`` is how ``digitnet fit`` takes it, where that is not
    ``section.name``."""

    name: str
    section: str  # "model", "data" or "trainer"
    default: Any
    rule: Callable[[Any], Any]
    label: str = ""
    column: str | None = None
    choices: tuple[str, ...] | None = None
    search: str | None = None
    resume: bool = False  # a resume may change it
    speed: bool = False  # speed only (a resume may change it too)
    form: bool = True
    mark: Callable[[Any], str] | None = None
    fit_option: str | None = None

    @property
    def option(self) -> str:
        """The dotted ``digitnet fit`` option: ``model.lr``, ``trainer.max_epochs``."""
        return self.fit_option or f"{self.section}.{self.name}"

    @property
    def key(self) -> str:
        """The key of the run's saved settings (``status.json``): ``model.lr``, ``data.seed``."""
        return f"{self.section}.{self.name}"

    @property
    def text(self) -> str:
        """The default as the form shows it: ``784, 512, 512, 10``, ``0.05``."""
        if isinstance(self.default, tuple):
            return ", ".join(map(str, self.default))
        return "" if self.default is None else str(self.default)


def _choice(name: str, choices: tuple[str, ...]) -> Callable[[Any], str]:
    return lambda v: checks.check_choice(name, v, choices)


def _choices(name: str, choices: tuple[str, ...], **kwargs: Any) -> dict[str, Any]:
    return {"rule": _choice(name, choices), "choices": choices, **kwargs}


def _flag(name: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "false"):
            return text == "true"
        raise checks.BadSetting(f"{name} must be true or false, got {value!r}.")

    return check


def _optional_positive(name: str) -> Callable[[Any], int | None]:
    return lambda v: None if v in (None, "", "null") else checks.check_positive_int(name, v)


def _number(v: Any) -> str:
    return f"{v:g}"


REGISTRY: tuple[Setting, ...] = (
    Setting("dataset", "data", "mnist", label="data set", **_choices("dataset", DATASETS)),
    Setting("arch", "model", "mlp", label="arch", column="arch", **_choices("arch", checks.ARCHS)),
    Setting(
        "layers",
        "model",
        (784, 512, 512, 10),  # the slides' network
        checks.parse_layers,
        label="layer sizes",
        column="layers",
        search="choices",
        mark=lambda v: "h" + "x".join(str(n) for n in v[1:-1]),
    ),
    Setting(
        "activation",
        "model",
        "relu",
        column="act",
        mark=str,
        **_choices("activation", checks.ACTIVATIONS),
    ),
    Setting(
        "loss",
        "model",
        "cross_entropy",
        column="loss",
        mark=lambda v: LOSS_MARKS.get(v, v),
        **_choices("loss", checks.LOSSES),
    ),
    Setting(
        "optimizer",
        "model",
        "sgd",
        column="opt",
        mark=str,
        **_choices("optimizer", checks.OPTIMIZERS),
    ),
    Setting(
        "lr",
        "model",
        0.05,
        checks.check_lr,
        label="learning rate",
        column="lr",
        search="log",
        mark=lambda v: f"lr{_number(v)}",
    ),
    Setting(
        "momentum",
        "model",
        0.9,
        lambda v: checks.check_non_negative("momentum", v),
        column="mom",
        search="range",
        mark=lambda v: f"m{_number(v)}",
    ),
    Setting(
        "weight_decay",
        "model",
        0.0,
        lambda v: checks.check_non_negative("weight_decay", v),
        label="weight decay",
        column="wd",
        search="log",
        mark=lambda v: f"wd{_number(v)}",
    ),
    Setting(
        "schedule",
        "model",
        "cosine",
        column="sched",
        mark=lambda v: v.replace("_", ""),
        **_choices("schedule", checks.SCHEDULES),
    ),
    Setting(
        "init",
        "model",
        "default",
        column="init",
        mark=lambda v: v.replace("_", ""),
        **_choices("init", checks.INITS),
    ),
    # pixels to zero mean, unit variance
    Setting("normalize", "model", True, _flag("normalize"), column="norm", form=False),
    Setting(
        "engine", "model", "auto", speed=True, form=False, **_choices("engine", checks.ENGINES)
    ),
    Setting(
        "cuda_graph",
        "model",
        "auto",
        speed=True,
        form=False,
        **_choices("cuda_graph", checks.CUDA_GRAPHS),
    ),
    Setting(
        "batch_size",
        "data",
        64,
        lambda v: checks.check_positive_int("batch_size", v),
        label="batch size",
        column="batch",
        search="log",
        mark=lambda v: f"b{v}",
    ),
    # training images held out for validation: the textbook's 50,000 / 10,000
    Setting("val_size", "data", 10_000, checks.check_val_size, column="val", form=False),
    Setting("shuffle", "data", True, _flag("shuffle"), form=False),
    Setting(
        "steps_per_call",
        "data",
        None,
        _optional_positive("steps_per_call"),
        speed=True,
        form=False,
    ),
    Setting(
        "epochs",
        "trainer",
        10,
        lambda v: checks.check_positive_int("epochs", v),
        resume=True,
        fit_option="trainer.max_epochs",
    ),
    Setting(
        "seed",
        "data",
        0,
        checks.check_seed,
        column="seed",
        search="choices",
        fit_option="seed_everything",
    ),
    Setting(
        "device",
        "trainer",
        "auto",
        speed=True,
        fit_option="trainer.accelerator",
        rule=_choice("device", ACCELERATORS),
        choices=DEVICES,
    ),
)


def row(name: str) -> Setting:
    """The row of setting ``name``."""
    return next(r for r in REGISTRY if r.name == name)


def rows(section: str | None = None, form: bool | None = None) -> list[Setting]:
    """The rows, in order: of one ``section``, and shown in the form or not, where given."""
    return [
        r
        for r in REGISTRY
        if (section is None or r.section == section) and (form is None or r.form == form)
    ]


# every setting's default, by name: the constructors' signatures read it at import
DEFAULTS = {r.name: r.default for r in REGISTRY}


_columns: tuple[tuple[Setting, ...], dict[str, str]] = ((), {})


def columns() -> dict[str, str]:
    """The runs table's setting columns: saved key -> header (``model.lr`` -> ``lr``). Asked for
    every cell of a table of thousands of runs, so made once for each registry (not changed)."""
    global _columns
    registry, found = _columns
    if registry is not REGISTRY:
        found = {r.key: r.column for r in REGISTRY if r.column}
        _columns = (REGISTRY, found)
    return found


def searchable() -> dict[str, Callable[[Any], Any]]:
    """The form fields a sweep may search, each with its rule."""
    return {r.name: r.rule for r in REGISTRY if r.search and r.form}


def ranges() -> tuple[str, ...]:
    """The searchable fields that take a range, not only choices."""
    return tuple(r.name for r in REGISTRY if r.search in ("range", "log"))


def log_scale() -> tuple[str, ...]:
    """The fields whose range is searched on a log scale (where low is above 0)."""
    return tuple(r.name for r in REGISTRY if r.search == "log")


def experiment(section: str) -> tuple[str, ...]:
    """The settings of ``section`` that make the experiment: a resume must keep them."""
    return tuple(r.name for r in rows(section) if not (r.resume or r.speed))


def may_change(section: str, name: str) -> bool:
    """Whether a resume may change ``section.name``: the Trainer's settings, the speed settings
    and anything the registry does not hold (a path, a derived flag)."""
    found = [r for r in rows(section) if r.name == name]
    return not found or found[0].resume or found[0].speed


def resume_rule() -> str:
    """What a resume may change, in words, for the sentence that refuses one."""
    speed = ", ".join(f"--{r.option}" for r in REGISTRY if r.speed and r.section != "trainer")
    return (
        "a resume may change the trainer's settings (--trainer.max_epochs, accelerator, devices, "
        f"...), --data.data_dir and the speed settings ({speed}; --data.steps_per_call at an "
        "epoch's end)"
    )
