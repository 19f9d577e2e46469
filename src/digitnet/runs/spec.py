"""Provides :class:`LaunchSpec`, the dashboard's New-run form as a model: one text field for each
setting the registry shows in the form (:mod:`digitnet.settings`), a run name and a sweep's
trials.

The form, the tests and the command line meet here: a spec checks each field with its setting's
rule and turns into the ``digitnet fit`` arguments that the training process runs with, so a run
launched from the dashboard is the same code path as one typed in a shell::

    >>> LaunchSpec(dataset="fashion_mnist", epochs="3").to_args("f-run")[:6]
    ['fit', '--run_name', 'f-run', '--data.dataset', 'fashion_mnist', '--model.arch']

Imports neither torch nor textual.
"""

from __future__ import annotations

from typing import Any

from digitnet import checks, settings
from digitnet.errors import BadSetting, DigitnetError
from digitnet.runs import search
from digitnet.runs.layout import NAME_RE, check_name

# for a run nobody watches in its own terminal: no progress bar or model table in its output
QUIET_OPTIONS = {"trainer.enable_progress_bar": False, "trainer.enable_model_summary": False}
QUIET = search.as_args(QUIET_OPTIONS)  # --trainer.enable_progress_bar false ...
EXTRA = {"name": "", "trials": "10"}  # blank name: made from the settings, see describe()


def check_run_name(name: str) -> str:
    """A run name, or :class:`BadSetting` in one sentence (the form shows it under the field)."""
    try:
        return check_name(name)
    except DigitnetError as error:
        raise BadSetting(str(error)) from None


def rule(field: str) -> Any:
    """The rule that checks one value of form field ``field``."""
    if field == "name":
        return lambda v: v and check_run_name(v)
    if field == "trials":
        return lambda v: checks.check_positive_int("trials", v)
    return settings.row(field).rule


def options() -> dict[str, str]:
    """Each setting field of the form and the dotted ``digitnet fit`` option it sets."""
    return {r.name: r.option for r in settings.rows(form=True)}


class LaunchSpec:
    """The form's fields, as text, pre-filled with the defaults of ``digitnet fit``; one field
    for each setting the registry shows in the form, in its order, then ``name`` and
    ``trials``. ``LaunchSpec(lr="0.1")`` changes one; ``spec.lr`` reads it."""

    def __init__(self, **given: str) -> None:
        names = self.field_names()
        unknown = [key for key in given if key not in names]
        if unknown:
            raise TypeError(f"LaunchSpec has no field {unknown[0]!r}")
        texts = {r.name: r.text for r in settings.rows(form=True)} | EXTRA
        object.__setattr__(self, "fields", {n: str(given.get(n, texts[n])) for n in names})

    def __getattr__(self, name: str) -> str:
        try:
            return self.__dict__["fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: str) -> None:
        if name not in self.__dict__["fields"]:
            raise AttributeError(f"LaunchSpec has no field {name!r}")
        self.__dict__["fields"][name] = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LaunchSpec) and other.as_dict() == self.as_dict()

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.as_dict().items() if v != LaunchSpec().fields[k]}
        return f"LaunchSpec({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    @classmethod
    def field_names(cls) -> list[str]:
        return [r.name for r in settings.rows(form=True)] + list(EXTRA)

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__["fields"])

    @classmethod
    def from_run(cls, saved: dict, dataset: str, epochs: int | None) -> LaunchSpec:
        """The form filled with a run's settings (as :func:`digitnet.runs.layout.flat_settings`
        keeps them), to start a new run from an old one's; what the run does not say stays the
        default.

        >>> spec = LaunchSpec.from_run({"model.layers": "784-30-10", "model.lr": 3.0}, "mnist", 30)
        >>> spec.layers, spec.lr, spec.epochs, spec.activation
        ('784, 30, 10', '3.0', '30', 'relu')
        """
        spec = cls(dataset=dataset if dataset in checks.DATASETS else settings.DEFAULTS["dataset"])
        fields = {r.key: r.name for r in settings.rows(form=True) if r.name != "dataset"}
        for key, value in saved.items():
            name = fields.get(key)
            if name is None or settings.row(name).speed:  # the machine's, not the run's
                continue
            if name == "layers" and isinstance(value, str):
                value = value.replace("-", ", ")
            setattr(spec, name, str(value).lower() if isinstance(value, bool) else str(value))
        if epochs:
            spec.epochs = str(epochs)
        return spec

    def errors(self) -> dict[str, str]:
        """Map each bad field to its one-sentence problem; empty when the spec can start."""
        return self._checked()[2]

    def is_sweep(self) -> bool:
        """Whether a field holds a range or choices (``0.01..0.3``, ``32 | 64``): a sweep."""
        return any(search.is_search(getattr(self, name)) for name in settings.searchable())

    def values(self) -> dict[str, Any]:
        """The fields holding one value, checked and typed (raises BadSetting if one is bad)."""
        return self._valid()[0]

    def rules(self) -> dict[str, Any]:
        """The searched fields' rules (:func:`digitnet.runs.search.parse`), checked."""
        return self._valid()[1]

    def _valid(self) -> tuple[dict[str, Any], dict[str, Any]]:
        values, rules, problems = self._checked()
        if problems:
            raise BadSetting(next(iter(problems.values())))
        return values, rules

    def _checked(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
        """Each field read once: its typed value, or its rule where it is searched, or its
        problem. ``trials`` counts only for a sweep, whose trials' names must be valid too."""
        values: dict[str, Any] = {}
        rules: dict[str, Any] = {}
        problems: dict[str, str] = {}
        sweep = self.is_sweep()
        for name, text in self.as_dict().items():
            if name == "trials" and not sweep:
                continue
            try:
                found = search.parse(name, text)
                if found is None:
                    values[name] = rule(name)(text)
                else:
                    rules[name] = found
            except BadSetting as error:
                problems[name] = str(error)
        if sweep and values.get("name") and "trials" in values:
            last = f"{values['name']}-{values['trials'] - 1}"
            if not NAME_RE.fullmatch(last):
                problems["name"] = (
                    f"a sweep's trials are named <run name>-<n>, and {last} is too long for a run "
                    "name (at most 100 characters); shorten the name."
                )
        return values, rules, problems

    def to_args(self, run_name: str) -> list[str]:
        """The ``digitnet fit`` arguments for this spec (raises BadSetting if a field is bad)."""
        if self.is_sweep():
            raise BadSetting("this spec searches settings: start it as a sweep, not a run.")
        values = self.values()
        given = {option: values[name] for name, option in options().items()}
        return ["fit", "--run_name", run_name, *search.as_args(given), *QUIET]

    def sweep_spec(self) -> dict[str, Any]:
        """The ``digitnet sweep`` spec of this form: the searched fields as ``params``, the
        others as ``fit``.

        >>> LaunchSpec(lr="0.01..0.3", batch_size="32 | 64").sweep_spec()["params"]
        {'model.lr': {'low': 0.01, 'high': 0.3, 'log': True}, 'data.batch_size': [32, 64]}
        """
        values, rules = self._valid()
        fit = options()
        return {
            "params": {fit[name]: found for name, found in rules.items()},
            "fit": {
                **{option: values[name] for name, option in fit.items() if name in values},
                **QUIET_OPTIONS,
            },
        }

    def describe(self) -> str:
        """The start of a default run name: data set and model, then what differs from the
        defaults, each as its setting's mark (a searched setting is not named; a sweep ends in
        ``sweep``).

        >>> LaunchSpec().describe()
        'mnist-mlp'
        >>> LaunchSpec(dataset="fashion_mnist", layers="784, 30, 10", activation="sigmoid",
        ...            loss="mse", lr="3.0", batch_size="10").describe()
        'fashion-mlp-h30-sigmoid-mse-lr3-b10'
        >>> LaunchSpec(lr="0.01..0.3", weight_decay="0.001").describe()
        'mnist-mlp-wd0.001-sweep'
        """
        base, mine = LaunchSpec().values(), self.values()
        parts = [{"fashion_mnist": "fashion"}.get(self.dataset, self.dataset), self.arch]
        for row in settings.rows(form=True):
            if row.mark is None or row.name not in mine or mine[row.name] == base[row.name]:
                continue
            if row.name == "layers" and self.arch != "mlp":
                continue
            parts.append(row.mark(mine[row.name]))
        return "-".join(parts + (["sweep"] if self.is_sweep() else []))
