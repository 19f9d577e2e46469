"""Provides :class:`ConfusionMatrix`: rows are true classes, columns predicted, from the latest
validation pass."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from digitnet.dashboard.state import RunView


def short(name: str) -> str:
    """A class name cut to 4 letters for a column head: ``T-shirt/top`` -> ``T-sh``, ``Ankle boot``
    -> ``Boot``."""
    return "Boot" if name == "Ankle boot" else name[:4]


class ConfusionMatrix(Static):
    """The latest validation pass's matrix of the selected run; redrawn when it changes."""

    data: reactive[tuple | None] = reactive(None, init=False)

    def on_mount(self) -> None:
        self.update("no validation pass yet")

    def show_view(self, view: RunView) -> None:
        classes = (view.samples or {}).get("classes")  # the class names come with the samples
        self.data = (view.confusion, classes) if view.confusion else None

    def watch_data(self, data: tuple | None) -> None:
        matrix, classes = data or (None, None)
        if not matrix:
            self.update("no validation pass yet")
            return
        classes = [short(c) for c in (classes or [str(i) for i in range(len(matrix))])]
        table = Table(
            title="rows: true class, columns: predicted",
            box=None,
            padding=(0, 0, 0, 1),
            show_edge=False,
        )
        table.add_column("", style="bold")
        for name in classes:
            table.add_column(name, justify="right")
        for i, row in enumerate(matrix):
            total = sum(row) or 1
            cells = []
            for j, count in enumerate(row):
                style = "bold green" if i == j else ("red" if count / total > 0.02 else "dim")
                cells.append(Text(str(count), style=style if count else "dim"))
            table.add_row(classes[i], *cells)
        self.update(table)
