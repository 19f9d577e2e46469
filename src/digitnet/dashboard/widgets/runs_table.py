"""Provides :class:`RunsTable`: the Runs tab, every run with the settings that tell them apart.

The same table as ``digitnet runs`` (:mod:`digitnet.runs.table`): status, name, data set, only
the settings that differ between the runs shown, epochs, best validation and test accuracy,
training time and tags. Click a column's header to sort by it (again: the other way); the run
list's filter (``/``: part of a name or data set, ``tag:NAME``, ``study:NAME``) applies here too;
Enter on a row selects that run in the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable

from digitnet.dashboard.widgets.run_list import STATUS_MARK, STATUS_STYLE
from digitnet.runs import study as studies
from digitnet.runs import table
from digitnet.runs.listing import RunInfo
from digitnet.text import printable


class RunsTable(DataTable):
    """One row per run, the columns of :func:`digitnet.runs.table.columns_for`."""

    @dataclass
    class Chosen(Message):
        """Enter (or a click) on a run's row."""

        name: str

    # (columns, rows): redrawn only when they change
    shown: reactive[tuple] = reactive(((), ()), init=False)
    sort: reactive[tuple[str | None, bool]] = reactive((None, False), init=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.runs: list[RunInfo] = []
        self.text_filter = ""

    def show(self, runs: list[RunInfo], text_filter: str) -> None:
        """Show ``runs`` (newest first; a study's trials best first) that pass ``text_filter``,
        sorted as chosen."""
        self.runs, self.text_filter = runs, text_filter
        shown = [run for run in runs if table.matches(run, text_filter)]
        column, backwards = self.sort
        if column is None and studies.named(text_filter):  # a study's trials: best first
            column = "best"
        if column is not None:
            shown.sort(key=lambda run: table.value(run, column), reverse=backwards)
        columns = table.columns_for(shown)
        rows = tuple((run.name, tuple(self._cell(run, c) for c in columns)) for run in shown)
        self.shown = (tuple(columns), rows)

    def _cell(self, run: RunInfo, column: str) -> Text | str:
        if column == "status":
            mark = STATUS_MARK.get(run.status, "?")
            return Text(f"{mark} {run.status}", style=STATUS_STYLE.get(run.status, ""))
        return Text(printable(table.cell(run, column)))  # from a run folder: never markup

    def watch_shown(self, old: tuple, new: tuple) -> None:
        columns, rows = new
        keep = self.cursor_row
        self.clear(columns=columns != old[0])
        if columns != old[0]:
            for column in columns:
                self.add_column(table.header(column), key=column)
        for name, cells in rows:
            self.add_row(*cells, key=name)
        if rows:
            self.move_cursor(row=min(keep, len(rows) - 1))

    def watch_sort(self) -> None:
        self.show(self.runs, self.text_filter)

    @on(DataTable.HeaderSelected)
    def _sort_by(self, event: DataTable.HeaderSelected) -> None:
        column = event.column_key.value
        current, backwards = self.sort
        self.sort = (column, not backwards if current == column else False)

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        self.post_message(self.Chosen(event.row_key.value))
