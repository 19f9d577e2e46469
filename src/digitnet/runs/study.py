"""Provides a sweep's summary beside its runs: ``<study>.sweep.json`` in the checkpoints folder,
which ``digitnet sweep`` rewrites after every trial, and the one line ``digitnet runs`` and the
dashboard's Runs tab show above the trials' rows when the filter names the study::

    >>> for part in line({"study": "lr", "trials": 12, "finished": 9,
    ...         "best": {"run": "lr-1", "val_acc": 0.9635, "params": {"lr": "0.0298"}},
    ...         "importance": {"lr": 0.92, "layers": 0.08}, "importance_trials": 9,
    ...         "importance_evaluator": "fANOVA"}).split("; "):
    ...     print(part)
    study lr: 9 of 12 trials complete
    best lr-1 96.35% (lr 0.0298)
    importance (fANOVA, 9 complete trials): lr 0.92, layers 0.08

Below the complete trials importance needs, the summary says so instead of ranking::

    >>> importance_text({"importance_note": "importance needs 8 complete trials, this study has 2"})
    'importance needs 8 complete trials, this study has 2'

The file is read as any file of a run folder is (:func:`digitnet.runs.layout.read_json`: at most
1 MiB, no link, no FIFO), and a field of the wrong type is left out of the line, never shown as
whatever it holds. Imports neither torch, optuna nor textual.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitnet.atomic import atomic_write_text
from digitnet.runs.layout import NAME_RE, read_json
from digitnet.text import printable


def path(root: Path, study: str) -> Path:
    return Path(root) / f"{study}.sweep.json"


def write(root: Path, summary: dict[str, Any]) -> None:
    """Replace the study's summary at once: a reader sees the old one or the new one."""
    atomic_write_text(path(root, summary["study"]), json.dumps(summary, indent=1) + "\n")


def read(root: Path, study: str) -> dict[str, Any]:
    return read_json(path(root, study))


def named(text_filter: str) -> str | None:
    """The study a filter names, when it names exactly one.

    >>> named("study:lr"), named("tag:x study:lr"), named("lr"), named("study:a study:b")
    ('lr', 'lr', None, None)
    >>> named("study:../x"), named("study:/tmp/x")
    (None, None)
    """
    studies = [w[6:] for w in text_filter.split() if w.lower().startswith("study:")]
    if len(studies) != 1 or not NAME_RE.fullmatch(studies[0]):  # a name, never a path
        return None
    return studies[0]


def line(summary: dict[str, Any]) -> str:
    """The summary in one line, or ``""`` where there is none."""
    study = summary.get("study")
    if not isinstance(study, str):
        return ""
    parts = [f"study {printable(study)}"]
    trials, finished = summary.get("trials"), summary.get("finished")
    if _count(trials) and _count(finished):
        parts[0] += f": {finished} of {trials} trials complete"
    best = summary.get("best")
    if isinstance(best, dict) and isinstance(best.get("run"), str) and _rate(best.get("val_acc")):
        text = f"best {printable(best['run'])} {100 * best['val_acc']:.2f}%"
        params = best.get("params")
        if isinstance(params, dict) and params:
            text += f" ({_pairs(params)})"
        parts.append(text)
    parts.append(importance_text(summary))
    return "; ".join(part for part in parts if part)


def importance_text(summary: dict[str, Any]) -> str:
    """How much each searched setting mattered, with what it rests on, or why it is withheld."""
    importance = summary.get("importance")
    if isinstance(importance, dict) and importance:
        shown = {k: f"{v:.2f}" for k, v in importance.items() if _rate(v)}
        trials, evaluator = summary.get("importance_trials"), summary.get("importance_evaluator")
        basis = []
        if isinstance(evaluator, str):
            basis.append(printable(evaluator))
        if _count(trials):
            basis.append(f"{trials} complete trials")
        return (
            f"importance ({', '.join(basis)}): {_pairs(shown)}"
            if basis
            else (f"importance: {_pairs(shown)}")
        )
    note = summary.get("importance_note")
    return printable(note) if isinstance(note, str) else ""


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{printable(str(k))} {printable(str(v))}" for k, v in values.items())


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rate(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class Trial:
    """One trial as the study view draws it."""

    number: int
    state: str  # complete, pruned, fail, running
    value: float | None  # its objective (best validation accuracy), complete trials only
    params: dict[str, Any]
    epochs: list[float]  # its validation accuracy after each epoch


def trials(summary: dict[str, Any]) -> list[Trial]:
    """The trials of a summary's ``history``, each field checked (the file is untrusted: a
    wrong type leaves the trial or the value out, never a crash).

    >>> trials({"history": [{"trial": 0, "state": "complete", "value": 0.9, "params": {"lr": 0.1},
    ...         "epochs": [0.8, 0.9]}, {"trial": "x"}, {"trial": 1, "state": "pruned",
    ...         "value": None, "params": {}, "epochs": [0.5, "nan?"]}]})[1]
    Trial(number=1, state='pruned', value=None, params={}, epochs=[0.5])
    """
    history = summary.get("history")
    found = []
    for entry in history if isinstance(history, list) else []:
        if not isinstance(entry, dict) or not _count(entry.get("trial")):
            continue
        value = entry.get("value") if _rate(entry.get("value")) else None
        params = entry.get("params") if isinstance(entry.get("params"), dict) else {}
        epochs = entry.get("epochs") if isinstance(entry.get("epochs"), list) else []
        state = entry.get("state") if isinstance(entry.get("state"), str) else "?"
        found.append(
            Trial(
                entry["trial"],
                printable(state[:20]),
                value,
                {printable(str(k))[:40]: v for k, v in list(params.items())[:20]},
                [float(e) for e in epochs[:10_000] if _rate(e)],
            )
        )
    return found


def best_so_far(found: list[Trial]) -> list[tuple[int, float]]:
    """The best objective after each complete trial, in trial order.

    >>> best_so_far([Trial(0, "complete", 0.9, {}, []), Trial(1, "pruned", None, {}, []),
    ...              Trial(2, "complete", 0.8, {}, []), Trial(3, "complete", 0.95, {}, [])])
    [(0, 0.9), (2, 0.9), (3, 0.95)]
    """
    best, out = None, []
    for trial in sorted(found, key=lambda t: t.number):
        if trial.value is None:
            continue
        best = trial.value if best is None else max(best, trial.value)
        out.append((trial.number, best))
    return out


def importance_of(summary: dict[str, Any]) -> tuple[dict[str, float], str]:
    """The importance as numbers by setting, and what it rests on or why it is withheld.

    >>> importance_of({"importance": {"lr": 0.8, "x": "?"}, "importance_trials": 9,
    ...                "importance_evaluator": "fANOVA"})
    ({'lr': 0.8}, 'importance (fANOVA, 9 complete trials)')
    """
    found = summary.get("importance")
    shares = {
        printable(str(k))[:40]: float(v)
        for k, v in (found.items() if isinstance(found, dict) else [])
        if _rate(v)
    }
    text = importance_text(summary)
    return shares, text.split(":")[0] if shares else text


def plain(value: Any) -> Any:
    """A setting's value as JSON keeps it: a list Optuna stored as JSON text is a list again."""
    if isinstance(value, str) and value.startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def shown(value: Any) -> str:
    """A setting's value in a table: ``0.1491``, ``784-32-10`` (a list, or its JSON text).

    >>> shown(0.149123), shown("[784, 32, 10]"), shown([784, 16, 10]), shown(None)
    ('0.1491', '784-32-10', '784-16-10', '-')
    """
    if value is None:
        return "-"
    value = plain(value)
    if isinstance(value, list):
        return "-".join(str(v) for v in value)
    return f"{value:.4g}" if isinstance(value, float) else printable(str(value))
