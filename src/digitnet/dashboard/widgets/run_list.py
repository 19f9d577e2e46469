"""Provides :class:`RunList`, the table of every run with its status, data set, model, best accuracy
and age."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.widgets import DataTable

from digitnet.runs.listing import RunInfo, format_age

STATUS_STYLE = {
    "running": "bold green",
    "finished": "cyan",
    "cancelled": "yellow",
    "failed": "bold red",
    "diverged": "bold magenta",
}


class RunList(DataTable):
    """One row per run, newest first; the cursor stays on the same run as rows come and go."""

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.clock = clock
        self.compared: set[str] = set()
        self._shown: list[tuple] = []

    def on_mount(self) -> None:
        self.columns_keys = self.add_columns(
            "status", "run", "best", "age", "data", "model"
        )  # what matters most first

    @property
    def selected(self) -> str | None:
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def show(self, runs: list[RunInfo]) -> None:
        now = self.clock()
        rows = [(run.name, self._cells(run, now)) for run in runs]
        if rows == self._shown:
            return
        if [name for name, _ in rows] == [name for name, _ in self._shown]:
            # the same runs in the same order: change only the cells that changed (ages tick every
            # second); rebuilding the table would cost a layout pass of the whole screen
            for (name, cells), (_, old) in zip(rows, self._shown):
                for column, value, before in zip(self.columns_keys, cells, old):
                    if value != before:
                        self.update_cell(name, column, value, update_width=True)
            self._shown = rows
            return
        keep = self.selected
        self.clear()
        for name, cells in rows:
            self.add_row(*cells, key=name)
        self._shown = rows
        if keep is not None:
            self.select(keep)

    def select(self, name: str) -> None:
        try:
            self.move_cursor(row=self.get_row_index(name))
        except Exception:  # the run is gone (deleted by hand)
            pass

    def _cells(self, run: RunInfo, now: float) -> tuple:
        mark = "▶ " if run.name in self.compared else ""
        best = f"{100 * run.best_val_acc:.2f}" if run.best_val_acc is not None else "-"
        return (
            Text(run.status, style=STATUS_STYLE.get(run.status, "")),
            Text(mark + run.name, overflow="ellipsis"),
            best,
            format_age(now - run.updated),
            Text(run.dataset.replace("fashion_mnist", "fashion")),
            Text(run.summary),
        )  # Text, never markup: these come from the run folder
