"""Provides ``digitnet sweep SPEC.yaml``: a search over ``digitnet fit`` settings with Optuna.

A spec names the settings to search (``params``: a range or a list of choices each) and those
to keep fixed (``fit``), as ``digitnet fit`` options, dotted or nested::

    params:
      model.lr: {low: 0.01, high: 0.3, log: true}   # a number: low, high, and log or step
      model.layers: [[784, 16, 10], [784, 32, 10]]  # a list: one of its choices
    fit:
      trainer.max_epochs: 3
      data: {dataset: mnist}

Each trial is an ordinary run folder, ``<study>-<trial number>`` in the checkpoints folder, so the
dashboard, ``digitnet runs`` (``--filter study:<study>``), resume, predict and export work on it
unchanged. A trial reports its validation accuracy after every epoch; Optuna's median pruner
stops one that is behind the others' at the same epoch, never after its last (the run reads
``pruned``). Ctrl-C or SIGTERM stops the whole sweep after saving the running trial (its run reads
``cancelled`` and resumes with ``digitnet fit --ckpt_path``). The study is kept in a storage: by
default a journal file in the checkpoints folder (``<study>.optuna.log``), so a sweep started
again goes on where it was; ``--storage`` takes any Optuna storage URL (``sqlite:///sweeps.db``,
``postgresql://host/db``, a lab's database server) or ``journal:PATH`` (a journal file on a shared
file system), and several ``digitnet sweep`` processes pointed at one study, on one machine or
many, share its trials, each run once. A trial whose process died is marked failed in the study
(from the database's heartbeat, or for a journal at the next start, from its run folder).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from digitnet.cli.sweepspec import load_spec, suggest
from digitnet.errors import BadSetting, Cancelled, DigitnetError, RunError
from digitnet.runs import study as study_file
from digitnet.runs.files import RunFolder
from digitnet.runs.layout import check_name
from digitnet.text import printable

OBJECTIVE = "val_acc"  # maximised
IMPORTANCE_TRIALS = 8
"""Complete trials below which importance is withheld: with a setting that clearly mattered and
one that did not, Optuna's fANOVA ranked them right in 18 of 20 random studies of 8 trials (10 of
10 at 20); its default, PED-ANOVA, ranked a categorical setting that mattered last in 80 of 80,
at 4 to 30 trials."""
DEAD_AFTER = 60.0  # seconds a journal trial's run has read failed before the study says so
HEARTBEAT = 60  # seconds between a database trial's heartbeats; stale after GRACE without one
GRACE = 180


def open_storage(spec: str | None, root: Path, study: str) -> Any:
    """The study's storage: ``journal:PATH``, an Optuna URL, or by default a journal file in the
    checkpoints folder (:mod:`digitnet.runs.journal`). A database keeps a heartbeat for each
    running trial, so one whose process died is marked failed by the next sweep."""
    import optuna

    from digitnet.runs.journal import open_journal

    if spec is None or spec.startswith("journal:"):
        path = Path(spec[len("journal:") :]) if spec else root / f"{study}.optuna.log"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise BadSetting(
                f"cannot make the folder of the sweep's journal {path} ({error.strerror}); give "
                "--storage journal:PATH in a folder you can write."
            ) from None
        storage, note = open_journal(path)
        if note:
            print(note, file=sys.stderr, flush=True)
        return storage
    database = spec.startswith(("sqlite", "postgresql", "mysql", "oracle", "mssql"))
    reason = ""
    for attempt in (1, 2):
        try:
            if database:
                return optuna.storages.RDBStorage(
                    spec, heartbeat_interval=HEARTBEAT, grace_period=GRACE
                )
            return optuna.storages.get_storage(spec)
        except Exception as error:  # noqa: BLE001 - every backend fails its own way
            reason = " ".join(str(error).split())[:200] or type(error).__name__
            if attempt == 1 and database and "already exists" in reason:
                time.sleep(1.0)  # two sweeps made a new database's tables at once: once more
                continue
            break
    raise BadSetting(
        f"the sweep's storage {spec} cannot be opened ({reason}); give --storage "
        "journal:PATH or an Optuna storage URL such as sqlite:///sweeps.db."
    )


def fail_dead_trials(study: Any, root: Path) -> list[int]:
    """Mark failed each trial the study holds as running whose run has read ``failed`` for
    :data:`DEAD_AFTER` seconds: its process died (``kill -9``, a power cut) with its run folder's
    lock free. A trial that fails while alive is marked by its own sweep at once; one whose run
    folder is not made yet, or that trains, is left alone, so two sweeps on one study never mark
    each other's trials. The numbers of the trials marked."""
    import optuna

    from digitnet.runs import listing

    marked = []
    now = time.time()
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        name = trial.user_attrs.get("run")
        if not isinstance(name, str) or not (RunFolder(root / name).status).exists():
            continue
        info = listing.read_run(root / name)
        if info.status == "failed" and now - info.updated > DEAD_AFTER:
            try:
                study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            except (RuntimeError, ValueError):  # another sweep marked it meanwhile
                continue
            marked.append(trial.number)
    return marked


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
    root = Path(options.checkpoints_dir)
    study_name = check_study_name(options.study or spec.stem, options.trials)
    params, fixed = load_spec(spec, root)
    import optuna

    from digitnet.cli import experiments
    from digitnet.record.pruning import TrialPruning
    from digitnet.runs.quiet import quiet_known_noise

    quiet_known_noise()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a failed trial is our one line
    storage = open_storage(options.storage, root, study_name)
    try:
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            direction="maximize",
            load_if_exists=True,
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
        )
    except OSError as error:
        raise unwritable(study_name, error) from None
    for number in fail_dead_trials(study, root):
        print(f"trial {number}: its process had died; marked failed", flush=True)
    check_study_name(study_name, len(study.trials) + options.trials)
    base = {"test_after_fit": False, **fixed}
    ran: list[int] = []
    stopped: list[str] = []

    def objective(trial: Any) -> float:
        ran.append(trial.number)
        chosen = {key: suggest(trial, key, rule) for key, rule in params.items()}
        name = f"{study_name}-{trial.number}"
        trial.set_user_attr("run", name)
        shown = ", ".join(f"{k.split('.')[-1]} {study_file.shown(v)}" for k, v in chosen.items())
        print(f"trial {trial.number}: {shown} ...", flush=True)
        pruning = TrialPruning(trial, OBJECTIVE)
        try:
            result = experiments.fit({**base, **chosen}, name, root, [pruning])
        except Cancelled:  # Ctrl-C or SIGTERM: the run is saved; the sweep stops
            stopped.append(name)
            study.stop()
            raise
        except DigitnetError as error:
            print(f"trial {trial.number}: failed: {error}", flush=True)
            raise
        if result.status == "pruned":
            print(f"trial {trial.number}: pruned after epoch {pruning.pruned_after}", flush=True)
            raise optuna.TrialPruned()
        if result.status != "finished" or result.best_val_acc is None:
            print(f"trial {trial.number}: failed: its run ended {result.status}", flush=True)
            raise RunError(f"trial {trial.number} ({name}) ended {result.status}")
        print(f"trial {trial.number}: {100 * result.best_val_acc:.2f}%", flush=True)
        return result.best_val_acc

    def keep_summary(study: Any, trial: Any) -> None:  # after each trial, for the dashboard
        try:
            study_file.write(root, summarize(study))
        except OSError as error:
            print(f"digitnet: note: the study's summary was not written ({error}).", flush=True)

    previous = signal.signal(signal.SIGTERM, _interrupt)  # between trials, as Ctrl-C
    try:
        study.optimize(
            objective, n_trials=options.trials, catch=(DigitnetError,), callbacks=[keep_summary]
        )
    except KeyboardInterrupt:  # a second Ctrl-C, or one between two trials
        stopped.append("")
    except OSError as error:  # a full disk under the journal: the records it holds are kept
        raise unwritable(study_name, error) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    print()
    print(report(study, list(params)))
    if stopped:
        run = stopped[0]
        saved = f"; trial {run} was saved: resume it with 'digitnet fit --ckpt_path {run}'"
        raise Cancelled(
            f"sweep {study_name} stopped{saved if run else ''}; run 'digitnet sweep "
            f"{options.spec}' again to add trials."
        )
    states = {t.number: t.state for t in study.get_trials(deepcopy=False)}
    if not any(states.get(n) == optuna.trial.TrialState.COMPLETE for n in ran):
        pruned = sum(states.get(n) == optuna.trial.TrialState.PRUNED for n in ran)
        raise RunError(
            f"no trial of this sweep completed ({len(ran) - pruned} failed, {pruned} pruned); "
            "the lines above say why."
        )
    return 0


def unwritable(study: str, error: OSError) -> RunError:
    """One sentence for a study whose storage cannot be written (a full disk)."""
    return RunError(
        f"the study {study} cannot be written ({error.strerror or error}); its complete trials "
        "are kept: free some space, then run the sweep again to go on."
    )


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def check_study_name(name: str, trials: int) -> str:
    """A study's name, with room for its trials' names ``<study>-<number>``.

    >>> check_study_name("lr", 10)
    'lr'
    >>> check_study_name("x" * 99, 10)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    digitnet.errors.BadSetting: study name xxxxxxxxxxxxxxxxxxxx... (99 characters) leaves ...
    """
    check_name(name)
    try:
        check_name(f"{name}-{max(trials - 1, 0)}")
    except RunError:
        raise BadSetting(
            f"study name {name[:20]}... ({len(name)} characters) leaves no room for its trials' "
            f"names (<study>-{max(trials - 1, 0)}, at most 100 characters); shorten it with "
            "--study."
        ) from None
    return name


def report(study: Any, keys: list[str]) -> str:
    """The trials ranked by validation accuracy, then the summary's best settings and how much
    each searched setting mattered (:func:`summarize`)."""
    summary = summarize(study)
    trials, done = finished_trials(study)
    ranked = sorted(done, key=lambda t: -t.value) + [t for t in trials if t not in done]
    lines = [f"study {study.study_name}: {len(done)} of {len(trials)} trials complete"]
    header = ["trial", "run", "state", "val acc", *(key.split(".")[-1] for key in keys)]
    rows = [
        [
            str(t.number),
            t.user_attrs.get("run", "-"),
            t.state.name.lower(),
            "-" if t.value is None else f"{100 * t.value:.2f}",
            *(study_file.shown(t.params.get(key)) for key in keys),
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
    lines.append(study_file.importance_text(summary))
    return "\n".join(line for line in lines if line)


def finished_trials(study: Any) -> tuple[list[Any], list[Any]]:
    """The study's trials, and those of them that are complete (ran every epoch; pruned and
    failed ones are not)."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    return trials, [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]


def summarize(study: Any) -> dict[str, Any]:
    """What :mod:`digitnet.runs.study` keeps beside the runs: how many trials are complete, the
    best one and its settings, each trial's state, value and validation accuracy per epoch, and,
    from :data:`IMPORTANCE_TRIALS` complete trials on, how much each searched setting mattered
    (Optuna's fANOVA over the complete trials); below that, the sentence that says why not."""
    import optuna

    trials, done = finished_trials(study)
    summary: dict[str, Any] = {
        "study": study.study_name,
        "trials": len(trials),
        "finished": len(done),
        "history": [
            {
                "trial": t.number,
                "run": t.user_attrs.get("run", "-"),
                "state": t.state.name.lower(),
                "value": t.value,
                "params": {k.split(".")[-1]: study_file.plain(v) for k, v in t.params.items()},
                "epochs": [t.intermediate_values[e] for e in sorted(t.intermediate_values)],
            }
            for t in trials
        ],
    }
    if done:
        best = max(done, key=lambda t: t.value)
        summary["best"] = {
            "trial": best.number,
            "run": best.user_attrs.get("run", "-"),
            "val_acc": best.value,
            "params": {k.split(".")[-1]: study_file.shown(v) for k, v in best.params.items()},
        }
    searched = {
        k
        for t in done
        for k in t.params
        if len({study_file.shown(u.params.get(k)) for u in done}) > 1
    }
    if len(done) < IMPORTANCE_TRIALS or not searched:
        summary["importance_note"] = (
            f"importance needs {IMPORTANCE_TRIALS} complete trials, this study has {len(done)}"
            if searched or len(done) < IMPORTANCE_TRIALS
            else "importance needs settings that differ between complete trials"
        )
        return summary
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError, ImportError) as error:
        summary["importance_note"] = f"importance not measured ({error})"
    else:
        summary["importance"] = {k.split(".")[-1]: round(float(v), 4) for k, v in found.items()}
        summary["importance_trials"] = len(done)
        summary["importance_evaluator"] = "fANOVA"
    return summary


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_sweep(sys.argv[1:]))
