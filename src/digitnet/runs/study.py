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
from pathlib import Path
from typing import Any

from digitnet.atomic import atomic_write_text
from digitnet.runs.layout import NAME_RE, printable, read_json


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
