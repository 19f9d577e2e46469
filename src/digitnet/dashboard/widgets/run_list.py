"""Provides :class:`RunList`: every run at a glance, even at 80x24.

One row per run: its status as a coloured mark, its name (cut in the middle when long, so the
date or counter at its end stays visible), its data set, its best validation accuracy and its
age. Sorted newest first, by best accuracy or by name (``s``), filtered by a text (``/``)::

    >>> cut_middle("mnist-mlp-20261126-022433", 14)
    'mnist-…-022433'
    >>> [STATUS_MARK[s] for s in ("running", "finished", "failed")]
    ['●', '✓', '✗']
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from digitnet.runs.listing import RunInfo, format_age
from digitnet.runs.table import matches
from digitnet.text import printable

STATUS_STYLE = {
    "running": "bold green",
    "finished": "cyan",
    "cancelled": "yellow",
    "stopped": "yellow",
    "pruned": "grey70",
    "failed": "bold red",
    "diverged": "bold magenta",
}
STATUS_MARK = {
    "running": "●",
    "finished": "✓",
    "cancelled": "■",
    "stopped": "‖",
    "pruned": "✂",
    "failed": "✗",
    "diverged": "~",
}
SORTS = ("age", "accuracy", "name")  # what ``s`` cycles through
FIXED = (
    2 + 1 + 6 + 5 + 3 + 1
)  # "● ", the space after the name, "mnist ", "97.1 ", "59m", scroll bar


def cut_middle(name: str, width: int) -> str:
    """``name`` in at most ``width`` columns, its middle replaced by ``…`` if it is longer (wide
    characters count two columns)."""
    if cell_len(name) <= width:
        return name
    head, tail = "", ""
    left, right = max(1, (width - 1) // 2), max(0, width - 1 - max(1, (width - 1) // 2))
    for c in name:
        if cell_len(head + c) > left:
            break
        head += c
    for c in reversed(name):
        if cell_len(tail + c) > right:
            break
        tail = c + tail
    return head + "…" + tail


def short_names(names: list[str], width: int, total: int | None = None) -> list[str]:
    """``names`` told apart in at most ``width`` characters each (and, given ``total``, in at
    most that many together): the ``-``-separated start they all share is dropped, a name that
    fits is never cut, the longest are cut first, in the middle, keeping more of their end (where
    a time or a counter usually differs); two that would still read alike are numbered::

        >>> short_names(["mnist-mlp-h32-lr0.1-0518", "mnist-mlp-h64-lr0.2-0519"], 10)
        ['h32…1-0518', 'h64…2-0519']
        >>> short_names(["mnist-mlp-20261202-0518"], 30)
        ['mnist-mlp-20261202-0518']
        >>> short_names(["a-dropout-1000", "a-lr-1e-3"], 40, total=19)
        ['dropout-1000', 'lr-1e-3']
        >>> short_names(["a-dropout-1000", "a-lr-1e-3"], 40, total=14)
        ['dr…1000', 'lr-1e-3']
        >>> short_names(["h32-lr0.1-seed-0518", "h32-lr0.2-seed-0518"], 6)
        ['1 l…18', '2 l…18']
    """
    parts = [name.split("-") for name in names]
    shared = 0
    while len(names) > 1 and all(len(p) > shared + 1 for p in parts):
        if len({p[shared] for p in parts}) > 1:
            break
        shared += 1
    shown = ["-".join(p[shared:]) for p in parts]
    widths = [min(len(text), width) for text in shown]
    if total is not None:
        while sum(widths) > total and max(widths) > 4:  # the longest give way first
            widths[widths.index(max(widths))] -= 1
    cut = [t if len(t) <= w else _cut_keeping_end(t, w) for t, w in zip(shown, widths)]
    if len(set(cut)) < len(cut):  # cut alike: a number tells them apart
        cut = [f"{i + 1} {_cut_keeping_end(t, max(3, w - 2)) if len(t) > w - 2 else t}"
               for i, (t, w) in enumerate(zip(shown, widths))]  # fmt: skip
    return cut


def _cut_keeping_end(text: str, width: int) -> str:
    head = max(1, (width - 1) // 3)
    return text[:head] + "…" + text[-(width - 1 - head) :]


def short_dataset(name: str) -> str:
    return {"fashion_mnist": "fashn"}.get(name, name[:5])


class RunList(DataTable):
    """One row per run; the cursor stays on the same run as rows come and go.

    ``listed`` (a ``reactive``) holds what the table shows; when only cells changed (an age, a
    status), only those cells are updated: rebuilding the table would cost a layout pass of the
    whole screen. ``sort_by`` and ``text_filter`` are reactive too: changing one shows the list
    again.
    """

    # a row cursor has no use for left and right: they move the charts' cursor
    BINDINGS = [
        Binding("left", "screen.cursor(-1)", "Cursor left", show=False),
        Binding("right", "screen.cursor(1)", "Cursor right", show=False),
    ]
    listed: reactive[tuple[tuple[str, tuple], ...]] = reactive((), init=False)
    sort_by: reactive[str] = reactive("age", init=False)
    text_filter: reactive[str] = reactive("", init=False)

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs) -> None:
        # no cell padding: each cell carries its one space, so names get the width at 80x24
        super().__init__(cursor_type="row", zebra_stripes=True, cell_padding=0, **kwargs)
        self.clock = clock
        self.compared: set[str] = set()
        self.runs: list[RunInfo] = []

    def on_mount(self) -> None:
        self.columns_keys = [
            self.add_column("  ", key="status"),
            self.add_column("run ", key="run"),
            self.add_column("data  ", key="data"),
            self.add_column("best ", key="best"),
            self.add_column("age", key="age"),
        ]

    @property
    def selected(self) -> str | None:
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def toggle_compare(self, name: str) -> None:
        """Mark ``name`` for comparison, or unmark it."""
        self.compared.symmetric_difference_update({name})

    def next_sort(self) -> str:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        return self.sort_by

    def show(self, runs: list[RunInfo]) -> None:
        self.runs = runs
        now, width = self.clock(), max(8, self.size.width - FIXED)
        shown = [run for run in runs if matches(run, self.text_filter)]
        if self.sort_by == "accuracy":
            shown.sort(
                key=lambda r: -1.0 if r.best_val_acc is None else r.best_val_acc, reverse=True
            )
        elif self.sort_by == "name":
            shown.sort(key=lambda r: r.name)
        self.listed = tuple((run.name, self._cells(run, now, width)) for run in shown)

    def watch_sort_by(self) -> None:
        self.show(self.runs)

    def watch_text_filter(self) -> None:
        self.show(self.runs)

    def on_resize(self) -> None:
        self.show(self.runs)  # names are cut to the width there is

    def watch_listed(self, old: tuple, new: tuple) -> None:
        if [name for name, _ in new] == [name for name, _ in old]:
            for (name, cells), (_, before) in zip(new, old):
                for column, value, was in zip(self.columns_keys, cells, before):
                    if value != was:
                        self.update_cell(name, column, value, update_width=True)
            return
        keep = self.selected
        self.clear()
        for name, cells in new:
            self.add_row(*cells, key=name)
        if keep is not None:
            self.select(keep)

    def select(self, name: str) -> None:
        try:
            self.move_cursor(row=self.get_row_index(name))
        except RowDoesNotExist:  # the run is gone (deleted by hand) or filtered out
            pass

    def _cells(self, run: RunInfo, now: float, width: int) -> tuple:
        mark = "▶" if run.name in self.compared else ""
        acc = run.best_val_acc
        best = "-" if acc is None else "100" if acc >= 0.9995 else f"{100 * acc:.1f}"
        # Text, never markup: these come from the run folder
        return (
            Text(STATUS_MARK.get(run.status, "?") + " ", style=STATUS_STYLE.get(run.status, "")),
            Text(mark + cut_middle(printable(run.name), width - len(mark)) + " "),
            Text(short_dataset(printable(run.dataset)) + " "),
            best + " ",
            format_age(now - run.updated),
        )
