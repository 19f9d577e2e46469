"""Provides the text panels of a run: progress, the error box, the epochs table and the details.

Each holds what it shows in a ``reactive``; Textual calls its ``watch_`` method only when that
value changes, so a panel is repainted only when its text does. Everything here that comes from
a run folder is shown as plain :class:`rich.text.Text`, never parsed as markup.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Group
from rich.progress_bar import ProgressBar as Bar
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from digitnet.dashboard.state import RunView
from digitnet.dashboard.widgets.run_list import STATUS_STYLE
from digitnet.runs import table
from digitnet.runs.listing import RunInfo
from digitnet.text import printable


def fmt(value, percent: bool = False, digits: int = 4) -> str:
    """``0.1235``, ``98.41%`` or ``-`` for a missing value."""
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if percent else f"{value:.{digits}f}"


class ProgressPanel(Static):
    """Where the selected run is (``name  status  epoch 3/10 ...``) over a bar of how much is done.

    Of fixed height, so an update repaints it alone, without a layout pass of the screen.
    """

    state: reactive[tuple[str, str, str, float] | None] = reactive(None, init=False)
    looked = False  # a look at the run folders has come back: "reading the runs" no more

    def on_mount(self) -> None:
        self.update("reading the runs ...")  # the first look has not come back yet

    def show_run(self, info: RunInfo | None, view: RunView) -> None:
        if info is None:
            if self.state is None and not self.looked:  # the first look found no run: say so
                self.watch_state(None)
            self.looked, self.state = True, None
            return
        self.looked = True
        done = round(view.fraction_done(), 3)
        self.state = (
            printable(info.name),
            info.status,
            view.progress_text(live=info.status == "running", status=info.status),
            done,
        )

    def watch_state(self, state: tuple[str, str, str, float] | None) -> None:
        if state is None:
            self.update("no run selected: press n to start one", layout=False)
            return
        name, status, progress, done = state
        # the spaces end the styled parts: some SVG renderers drop a part's leading spaces
        text = Text.assemble(
            (f"{name}  ", "bold"),
            (f"{status}  ", STATUS_STYLE.get(status, "")),
            progress,
            no_wrap=True,  # one line, over the bar, however narrow the pane
            overflow="ellipsis",
        )
        bar = Table.grid(expand=True)
        bar.add_column(ratio=1)
        bar.add_column(width=5, justify="right")
        bar.add_row(Bar(total=1.0, completed=done), f"{100 * done:.0f}%")
        self.update(Group(text, bar), layout=False)


class Alert(Static):
    """The error of a failed or diverged run and the last lines of its output; hidden otherwise."""

    message: reactive[str] = reactive("", init=False)

    def show_run(self, info: RunInfo | None, tail: list[str]) -> None:
        """``tail``: the last lines of the run's latest launch's output (read by the watcher)."""
        if (
            info is None
            or info.status == "running"
            or not (info.status in ("failed", "diverged") or info.error)
        ):
            self.message = ""
            return
        lines = "\n".join(printable(line) for line in tail)  # the run's own output: escaped
        self.message = f"{info.status}: {printable(info.error)}" + (f"\n{lines}" if lines else "")

    def watch_message(self, message: str) -> None:
        self.set_class(bool(message), "shown")
        self.update(Text(message))


class EpochTable(DataTable):
    """One row per finished epoch; a live run only adds rows, another run replaces them."""

    epochs: reactive[tuple[tuple, ...]] = reactive((), init=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)

    def on_mount(self) -> None:
        self.add_columns("epoch", "train loss", "val loss", "val acc", "seconds")

    def show_view(self, view: RunView) -> None:
        self.epochs = tuple(
            (
                row.get("epoch", 0) + 1,
                fmt(row.get("train_loss")),
                fmt(row.get("val_loss")),
                fmt(row.get("val_acc"), percent=True),
                fmt(row.get("seconds"), digits=1),
            )
            for row in view.epoch_rows
        )

    def watch_epochs(self, old: tuple[tuple, ...], new: tuple[tuple, ...]) -> None:
        if new[: len(old)] != old or self.row_count != len(old):
            self.clear()  # another run, or a resumed epoch run again
            old = ()
        self.add_rows(new[len(old) :])


class Details(Static):
    """The run's folder, error, test result, settings and the end of its output."""

    content: reactive[Text] = reactive(Text("no run selected"), init=False)

    def on_mount(self) -> None:
        self.update(self.content)

    def show_run(
        self, info: RunInfo | None, view: RunView, tail: list[str], pair: list[RunInfo]
    ) -> None:
        """The selected run, or, when exactly two runs are marked (``m``), the two side by
        side, differences first."""
        if len(pair) == 2:
            self.content = diff_text(*pair)
        else:
            self.content = details(info, view, tail) if info else Text("no run selected")

    def watch_content(self, content: Text) -> None:
        self.update(content)


def diff_text(a: RunInfo, b: RunInfo) -> Text:
    """Two runs' settings and results side by side, what differs first (in bold)."""
    rows = [("", printable(a.name), printable(b.name), False), *table.diff(a, b)]
    widths = [max(cell_len(str(row[i])) for row in rows) for i in range(3)]
    text = Text("Two runs marked: their settings side by side, what differs first\n\n")
    for what, left, right, differs in rows:
        line = f"{'≠' if differs else ' '} {what:{widths[0]}}  {printable(left):{widths[1]}}  "
        text.append(line + printable(right) + "\n", style="bold" if differs else "")
    return text


def details(info: RunInfo, view: RunView, tail: list[str]) -> Text:
    text = Text.assemble(
        (printable(info.name), "bold"), f"  {info.status}\nfolder: {printable(info.path)}"
    )
    if info.error:
        text.append(f"\nerror: {printable(info.error)}", style="red")
    if info.note or info.tags:
        text.append(f"\nnote: {printable(info.note)}", style="italic")
    if view.test:
        loss, acc = fmt(view.test.get("test_loss")), fmt(view.test.get("test_acc"), True)
        text.append(f"\ntest: loss {loss}, accuracy {acc}")
    for section, values in view.config.items():
        if isinstance(values, dict):
            shown = ", ".join(f"{k}={v}" for k, v in values.items() if not str(k).startswith("_"))
            text.append(f"\n{printable(section)}: {printable(shown)}")
    if tail:
        text.append("\n\noutput.log", style="bold")
        text.append(" (last lines)\n" + "\n".join(printable(line) for line in tail))
    return text
