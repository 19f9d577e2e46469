"""Provides :class:`RunList`, the table of every run with its status, data set, model, best accuracy
and age."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from digitnet.runs.listing import RunInfo, format_age

STATUS_STYLE = {
    "running": "bold green",
    "finished": "cyan",
    "cancelled": "yellow",
    "failed": "bold red",
    "diverged": "bold magenta",
}


class RunList(DataTable):
    """One row per run, newest first; the cursor stays on the same run as rows come and go.

    ``listed`` (a ``reactive``) holds what the table shows; when only cells changed (an age, a
    status), only those cells are updated: rebuilding the table would cost a layout pass of the
    whole screen.
    """

    listed: reactive[tuple[tuple[str, tuple], ...]] = reactive((), init=False)

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.clock = clock
        self.compared: set[str] = set()

    def on_mount(self) -> None:
        # what matters most first
        self.columns_keys = self.add_columns("status", "run", "best", "age", "data", "model")

    @property
    def selected(self) -> str | None:
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def toggle_compare(self, name: str) -> None:
        """Mark ``name`` for comparison, or unmark it."""
        self.compared.symmetric_difference_update({name})

    def show(self, runs: list[RunInfo]) -> None:
        now = self.clock()
        self.listed = tuple((run.name, self._cells(run, now)) for run in runs)

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
        except RowDoesNotExist:  # the run is gone (deleted by hand)
            pass

    def _cells(self, run: RunInfo, now: float) -> tuple:
        mark = "▶ " if run.name in self.compared else ""
        best = f"{100 * run.best_val_acc:.2f}" if run.best_val_acc is not None else "-"
        # Text, never markup: these come from the run folder
        return (
            Text(run.status, style=STATUS_STYLE.get(run.status, "")),
            Text(mark + run.name, overflow="ellipsis"),
            best,
            format_age(now - run.updated),
            Text(run.dataset.replace("fashion_mnist", "fashion")),
            Text(run.summary),
        )
