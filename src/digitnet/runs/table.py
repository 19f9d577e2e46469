"""Provides the runs table: which settings tell runs apart, their rows, sorting, filtering, diffs.

``digitnet runs``, ``digitnet runs diff`` and the dashboard's Runs tab all build on it. A run's
settings are the flat ``section.name`` values it was trained with
(:func:`digitnet.runs.layout.flat_settings`: ``status.json`` holds them; older runs' come from the
start event of their ``events.jsonl``).

The table shows only the settings that differ between the runs shown, so it stays narrow: two
runs that differ in their learning rate only get one settings column, ``lr``::

    >>> differing([{"model.lr": 0.013, "data.batch_size": 64},
    ...            {"model.lr": 0.027, "data.batch_size": 64}])
    ['model.lr']

Imports neither torch nor textual.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from digitnet.runs.listing import RunInfo, format_age
from digitnet.settings import columns

FULL_TEST_SET = 10_000  # MNIST's and FashionMNIST's official test images

# what every row has, before and after the settings: the figures a user ranks by first
COLUMNS = ("status", "name", "best", "test", "time", "data", "epochs")
RESULTS = ("tags",)
FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


def differing(settings: list[dict[str, Any]]) -> list[str]:
    """The keys of the registry's columns (:func:`digitnet.settings.columns`) whose values are
    not the same in every one of ``settings`` (a key a run lacks counts as a value of its own)."""
    if len(settings) < 2:
        return []
    return [key for key in columns() if len({json.dumps(s.get(key)) for s in settings}) > 1]


def cell(run: RunInfo, column: str) -> str:
    """One cell of ``run``'s row as text: ``column`` is one of :data:`COLUMNS`, :data:`RESULTS` or
    a key of the registry's columns."""
    if column in columns():
        value = run.settings.get(column)
        return "-" if value is None else _short(value)
    if column == "status":
        return run.status
    if column == "name":
        return run.name
    if column == "data":
        return run.dataset
    if column == "epochs":
        return f"{run.epoch}/{run.max_epochs}" if run.max_epochs else str(run.epoch)
    if column == "best":
        return "-" if run.best_val_acc is None else f"{100 * run.best_val_acc:.2f}"
    if column == "test":
        if run.test_acc is None:
            return "-"
        part = run.test_images not in (None, FULL_TEST_SET)  # limit_test_batches: say on what
        return f"{100 * run.test_acc:.2f}" + (f" on {run.test_images:,}" if part else "")
    if column == "time":
        return "-" if run.seconds is None else duration(run.seconds)
    if column == "tags":
        return " ".join(f"#{tag}" for tag in run.tags)
    raise KeyError(column)


def value(run: RunInfo, column: str) -> Any:
    """What a column sorts by: numbers as numbers, missing ones last; equal numbers in the order
    the runs ended, so of two trials at the same best score the first ranks first, as a study's
    best trial is the first to reach it."""
    if column in columns():
        found = run.settings.get(column)
        return (found is None, found if isinstance(found, (int, float)) else str(found))
    numbers = {
        "best": run.best_val_acc,
        "test": run.test_acc,
        "time": run.seconds,
        "epochs": run.epoch,
    }
    if column in numbers:
        found = numbers[column]
        return (found is None, -(found or 0), run.updated)  # best first
    return (False, cell(run, column).lower())


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h03m``.

    >>> duration(42.4), duration(185), duration(7380)
    ('42s', '3m05s', '2h03m')
    """
    seconds = int(round(max(0.0, seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def matches(run: RunInfo, text: str) -> bool:
    """Whether ``run`` passes the filter ``text``: every word must be a part of its name or data
    set, or ``tag:NAME`` one of its tags, or ``study:NAME`` its sweep's study.

    >>> from pathlib import Path
    >>> run = RunInfo("lr-sweep-3", Path("."), "finished", dataset="mnist", tags=["baseline"])
    >>> [matches(run, f) for f in ("sweep", "tag:baseline", "tag:base", "study:lr-sweep", "x")]
    [True, True, False, True, False]
    >>> matches(run, "study:lr"), matches(RunInfo("lr-sweep-3-0", Path("."), "x"), "study:lr-sweep")
    (False, False)
    """
    for word in text.lower().split():
        if word.startswith("tag:"):
            if word[4:] not in (tag.lower() for tag in run.tags):
                return False
        elif word.startswith("study:"):  # a trial: <study>-<number>, not another study's
            study, _, number = run.name.lower().rpartition("-")
            if study != word[6:] or not number.isdigit():
                return False
        elif word not in run.name.lower() and word not in run.dataset.lower():
            return False
    return True


def columns_for(runs: list[RunInfo]) -> list[str]:
    """The table's columns for ``runs``: the fixed ones, the settings that differ, the results."""
    return [*COLUMNS, *differing([run.settings for run in runs]), *RESULTS]


def header(column: str) -> str:
    return columns().get(column, column)


def render(runs: list[RunInfo], now: float, fmt: str = "table", width: int | None = None) -> str:
    """The table as text (``table``, within ``width`` terminal columns), JSON (one object per
    run, every setting) or CSV."""
    columns = columns_for(runs)
    if fmt == "json":
        return json.dumps([as_record(run, now) for run in runs], indent=1)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([header(c) for c in columns])
        for run in runs:
            writer.writerow([csv_cell(cell(run, c)) for c in columns])
        return buffer.getvalue().rstrip("\n")
    return table_text(runs, columns, now, width)


def as_record(run: RunInfo, now: float) -> dict[str, Any]:
    """A run for scripts: every field, numbers as numbers (accuracies from 0 to 1)."""
    return {
        "name": run.name,
        "status": run.status,
        "dataset": run.dataset,
        "epoch": run.epoch,
        "max_epochs": run.max_epochs,
        "best_val_acc": run.best_val_acc,
        "test_acc": run.test_acc,
        "test_images": run.test_images,
        "seconds": run.seconds,
        "age_seconds": round(max(0.0, now - run.updated), 1),
        "tags": run.tags,
        "note": run.note,
        "settings": run.settings,
    }


def csv_cell(text: str) -> str:
    r"""A cell safe to open in a spreadsheet: control characters escaped as in the table, a cell
    a spreadsheet would read as a formula quoted with ``'`` (the usual CSV-injection rule), and
    the table's ``-`` for nothing left empty.

    >>> csv_cell("=HYPERLINK(1)"), csv_cell("@SUM(A1)"), csv_cell("-"), csv_cell("-0.5")
    ("'=HYPERLINK(1)", "'@SUM(A1)", '', '-0.5')
    >>> print(csv_cell("a\x1b[2Jb"), csv_cell("\rx"))
    a\x1b[2Jb '\rx
    """
    from digitnet.text import printable

    if text == "-":
        return ""
    if text.startswith(FORMULA) and not _number(text):
        text = "'" + text
    return printable(text)


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def table_text(
    runs: list[RunInfo], columns: list[str], now: float, width: int | None = None
) -> str:
    """Columns padded to their widest cell (in terminal columns), text escaped: run folders are
    untrusted. Within ``width`` terminal columns, the columns that do not fit are left out, and
    the last line says how many."""
    from digitnet.text import cell_width, fit_cells, printable

    rows = [[header(c) for c in columns], *([printable(cell(r, c)) for c in columns] for r in runs)]
    widths = [min(40, max(cell_width(row[i]) for row in rows)) for i in range(len(columns))]
    shown = len(columns)
    if width is not None:
        used = -1
        for i, w in enumerate(widths):
            if used + 1 + w > width and i >= 2:  # status and name always
                shown = i
                break
            used += 1 + w
    lines = []
    for row in rows:
        cells = zip(row[:shown], widths[:shown])
        lines.append(" ".join(fit_cells(text, w) for text, w in cells).rstrip())
    more = len(columns) - shown
    left = f" ({more} more column{'s' if more > 1 else ''}: a wider terminal or --format csv)"
    end = f"{len(runs)} run{'' if len(runs) == 1 else 's'}; {_ages(runs, now)}"
    lines.append(end + (left if more else ""))
    return "\n".join(lines)


def _ages(runs: list[RunInfo], now: float) -> str:
    if not runs:
        return "none"
    newest = max(run.updated for run in runs)
    return f"the newest changed {format_age(now - newest)} ago"


def diff(a: RunInfo, b: RunInfo) -> list[tuple[str, str, str, bool]]:
    """``a`` and ``b`` side by side: (what, a's, b's, whether they differ), differences first,
    then the same settings, then the results.

    >>> from pathlib import Path
    >>> one = RunInfo("a", Path("."), "finished", settings={"model.lr": 0.05, "data.seed": 0})
    >>> two = RunInfo("b", Path("."), "finished", settings={"model.lr": 0.1, "data.seed": 0})
    >>> diff(one, two)[0], diff(one, two)[1]
    (('lr', '0.05', '0.1', True), ('seed', '0', '0', False))
    """
    keys = [key for key in columns() if key in a.settings or key in b.settings]
    rows = [(header(k), cell(a, k), cell(b, k), cell(a, k) != cell(b, k)) for k in keys]
    rows.sort(key=lambda row: not row[3])
    results = [
        (name, cell(a, name), cell(b, name), cell(a, name) != cell(b, name))
        for name in ("data", "status", "epochs", "best", "test", "time", "tags")
    ]
    return rows + results
