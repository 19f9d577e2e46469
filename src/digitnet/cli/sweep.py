"""Provides ``digitnet sweep SPEC.yaml``: a search over ``digitnet fit`` settings with Optuna.

A spec names the settings to search (``params``: a range or a list of choices each) and those
to keep fixed (``fit``), as dotted ``digitnet fit`` options::

    params:
      model.lr: {low: 0.01, high: 0.3, log: true}   # a number: low, high, and log or step
      model.layers: [[784, 16, 10], [784, 32, 10]]  # a list: one of its choices
    fit:
      trainer.max_epochs: 3
      data.dataset: mnist

Each trial is an ordinary run folder, ``<study>-<trial number>`` in the checkpoints folder, so the
dashboard, ``digitnet runs`` (``--filter study:<study>``), resume, predict and export work on it
unchanged. A trial reports its validation accuracy after every epoch; Optuna's median pruner
stops one that is behind the others' at the same epoch (the run reads ``pruned``). The study is
kept in a storage: by default a journal file in the checkpoints folder (``<study>.optuna.log``),
so a sweep stopped with Ctrl-C goes on where it was when started again; ``--storage`` takes any
Optuna storage URL (``sqlite:///sweeps.db``, a database server) or ``journal:PATH`` (a journal file
on a shared file system), and several ``digitnet sweep`` processes pointed at one study, on one
machine or many, share its trials, each run once.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

from digitnet.errors import BadSetting, DigitnetError
from digitnet.runs import study as study_file
from digitnet.runs.layout import check_name, printable
from digitnet.runs.search import as_args

OBJECTIVE = "val_acc"  # maximised


def load_spec(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The spec's ``params`` and ``fit``, checked: one sentence for the first problem, before
    any trial starts."""
    from digitnet.cli.lightning_cli import _read_yaml

    spec = _read_yaml(path, follow=True, error=BadSetting)
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
    for key in [*spec["params"], *fixed]:
        if key not in known:
            near = sorted(k for k in known if k.split(".")[-1] == str(key).split(".")[-1])
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise BadSetting(f"{path} names {key!r}, which is not a digitnet fit option{hint}.")
    both = set(spec["params"]) & set(fixed)
    if both:
        raise BadSetting(f"{path} both searches and fixes {sorted(both)[0]}; keep one.")
    for key, rule in spec["params"].items():
        check_rule(key, rule, path)
    return spec["params"], fixed


def check_rule(key: str, rule: Any, path: Path) -> None:
    if isinstance(rule, list):
        if not rule:
            raise BadSetting(f"{path}: {key} has no choices; give at least one.")
        return
    if not isinstance(rule, dict) or set(rule) - {"low", "high", "log", "step"}:
        raise BadSetting(
            f"{path}: {key} must be a list of choices or {{low, high}} with log or step, got "
            f"{rule!r}."
        )
    low, high = rule.get("low"), rule.get("high")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if not numbers or not all(math.isfinite(v) for v in (low, high)):
        raise BadSetting(f"{path}: {key} needs numbers low and high, got {low!r} and {high!r}.")
    if low > high:
        raise BadSetting(f"{path}: {key} has low {low} above high {high}; swap them.")
    if rule.get("log") and low <= 0:
        raise BadSetting(f"{path}: {key} is searched on a log scale, so low must be above 0.")


def fit_options() -> set[str]:
    """Every dotted option ``digitnet fit`` takes: the model's, the data's and the Trainer's
    constructor arguments, and ``seed_everything``."""
    import lightning as L

    from digitnet.data.module import DigitDataModule
    from digitnet.model.classifier import DigitClassifier

    options = {"seed_everything"}
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


def open_storage(spec: str | None, root: Path, study: str) -> Any:
    """The study's storage: ``journal:PATH``, an Optuna URL, or by default a journal file in the
    checkpoints folder."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    try:
        if spec is None or spec.startswith("journal:"):
            path = Path(spec[len("journal:") :]) if spec else root / f"{study}.optuna.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        return optuna.storages.get_storage(spec)
    except Exception as error:  # noqa: BLE001 - every backend fails its own way: one sentence
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise BadSetting(
            f"the sweep's storage {spec or 'journal file'} cannot be opened ({reason}); give "
            "--storage journal:PATH or an Optuna storage URL such as sqlite:///sweeps.db."
        ) from None


def run_sweep(argv: list[str]) -> int:
    from digitnet.cli.commands import parser_for
    from digitnet.cli.common import add_checkpoints_dir

    parser = parser_for("sweep", __doc__.split("\n\n")[0].removeprefix("Provides "))
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__.split("\n", 1)[1]
    parser.add_argument("spec", help="the spec: a YAML file with params: and fit:")
    parser.add_argument("--trials", type=int, default=10, help="trials this process runs (10)")
    parser.add_argument("--study", default=None, help="the study's name (default: the spec's)")
    parser.add_argument(
        "--storage",
        default=None,
        help="journal:PATH or an Optuna URL (default: a journal file in the checkpoints folder)",
    )
    add_checkpoints_dir(parser)
    options = parser.parse_args(argv)
    if options.trials < 1:
        raise BadSetting(f"--trials must be at least 1, got {options.trials}.")
    spec = Path(options.spec)
    study_name = check_name(options.study or spec.stem)
    params, fixed = load_spec(spec)
    root = Path(options.checkpoints_dir)
    import optuna

    from digitnet.cli import experiments
    from digitnet.runs.pruning import TrialPruning
    from digitnet.runs.quiet import quiet_known_noise

    quiet_known_noise()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(options.storage, root, study_name)
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="maximize",
        load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    base = as_args({"test_after_fit": False, **fixed})

    def objective(trial: Any) -> float:
        chosen = {key: suggest(trial, key, rule) for key, rule in params.items()}
        name = f"{study_name}-{trial.number}"
        trial.set_user_attr("run", name)
        shown = ", ".join(f"{k.split('.')[-1]} {_shown(v)}" for k, v in chosen.items())
        print(f"trial {trial.number}: {shown} ...", flush=True)
        pruning = TrialPruning(trial, OBJECTIVE)
        result = experiments.fit([*base, *as_args(chosen)], name, root, [pruning])
        if result.status == "pruned":
            print(f"trial {trial.number}: pruned after epoch {pruning.pruned_after}", flush=True)
            raise optuna.TrialPruned()
        if result.status != "finished" or result.best_val_acc is None:
            raise BadSetting(f"trial {trial.number} ({name}) ended {result.status}")
        print(f"trial {trial.number}: {100 * result.best_val_acc:.2f}%", flush=True)
        return result.best_val_acc

    def keep_summary(study: Any, trial: Any) -> None:  # after each trial, for the dashboard
        try:
            study_file.write(root, summarize(study))
        except OSError as error:
            print(f"digitnet: note: the study's summary was not written ({error}).", flush=True)

    study.optimize(
        objective, n_trials=options.trials, catch=(DigitnetError,), callbacks=[keep_summary]
    )
    print()
    print(report(study, list(params)))
    return 0


def report(study: Any, keys: list[str]) -> str:
    """The trials ranked by validation accuracy, then the summary's best settings and how much
    each searched setting mattered (:func:`summarize`)."""
    summary = summarize(study)
    trials, done = finished_trials(study)
    ranked = sorted(done, key=lambda t: -t.value) + [t for t in trials if t not in done]
    lines = [f"study {study.study_name}: {len(done)} of {len(trials)} trials finished"]
    header = ["trial", "run", "state", "val acc", *(key.split(".")[-1] for key in keys)]
    rows = [
        [
            str(t.number),
            t.user_attrs.get("run", "-"),
            t.state.name.lower(),
            "-" if t.value is None else f"{100 * t.value:.2f}",
            *(_shown(t.params.get(key)) for key in keys),
        ]
        for t in ranked
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(printable(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    if "best" in summary:
        best = summary["best"]
        settings = ", ".join(f"{k} {v}" for k, v in best["params"].items())
        lines.append(f"best: trial {best['trial']} ({best['run']}), "
                     f"{100 * best['val_acc']:.2f}%: {settings}")  # fmt: skip
    if "importance" in summary:
        shown = ", ".join(f"{k} {v:.2f}" for k, v in summary["importance"].items())
        lines.append(f"importance (Optuna's PED-ANOVA, sums to 1): {shown}")
    elif "importance_error" in summary:
        lines.append(f"importance: not measured ({summary['importance_error']})")
    return "\n".join(lines)


def finished_trials(study: Any) -> tuple[list[Any], list[Any]]:
    """The study's trials, and those of them that finished (pruned and failed ones did not)."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    return trials, [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]


def summarize(study: Any) -> dict[str, Any]:
    """What :mod:`digitnet.runs.study` keeps beside the runs: how many trials finished, the best
    one and its settings, and, once two have finished, how much each searched setting mattered
    (Optuna's default importance evaluator, PED-ANOVA, which needs no more packages)."""
    import optuna

    trials, done = finished_trials(study)
    summary: dict[str, Any] = {
        "study": study.study_name,
        "trials": len(trials),
        "finished": len(done),
    }
    if done:
        best = max(done, key=lambda t: t.value)
        summary["best"] = {
            "trial": best.number,
            "run": best.user_attrs.get("run", "-"),
            "val_acc": best.value,
            "params": {k.split(".")[-1]: _shown(v) for k, v in best.params.items()},
        }
    if len(done) >= 2:
        try:
            with warnings.catch_warnings():  # too few trials to tell apart is said anyway
                warnings.simplefilter("ignore")
                found = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError, ImportError) as error:
            summary["importance_error"] = str(error)
        else:
            summary["importance"] = {k.split(".")[-1]: round(v, 4) for k, v in found.items()}
    return summary


def _shown(value: Any) -> str:
    """A setting's value in a table: ``0.1491``, ``784-32-10`` (a list, or its JSON text)."""
    if value is None:
        return "-"
    if isinstance(value, str) and value.startswith("["):
        value = json.loads(value)
    if isinstance(value, list):
        return "-".join(str(v) for v in value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_sweep(sys.argv[1:]))
