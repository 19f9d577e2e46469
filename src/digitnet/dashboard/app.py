"""Provides :class:`DashboardApp`: the run list on the left, the selected run's live view on the
right.

Everything shown comes from run folders (:mod:`digitnet.runs`); the app never imports torch. It
polls the folders once a second, reads only new event lines, draws only the tab in view, and
redraws a widget only when its data changed, so a long run costs it no more than a short one and a
watched run loses little CPU to it (about 1.5% of one core; see bench/dashboard_ab.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Group
from rich.progress_bar import ProgressBar as Bar
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import DataTable, Footer, Header, Label, Static, TabbedContent, TabPane

from digitnet.dashboard.screens.help import HelpScreen
from digitnet.dashboard.state import RunTail, RunView
from digitnet.dashboard.widgets.charts import AccuracyChart, LossChart
from digitnet.dashboard.widgets.confusion import ConfusionMatrix
from digitnet.dashboard.widgets.launch_form import LaunchForm
from digitnet.dashboard.widgets.run_list import STATUS_STYLE, RunList
from digitnet.dashboard.widgets.samples import SampleGrid
from digitnet.errors import DigitnetError
from digitnet.runs import layout, listing
from digitnet.runs import process as control

TABS = (
    "live",
    "epochs",
    "confusion",
    "samples",
    "details",
    "launch",
)  # TabPane ids are "tab-<name>"
# the event kinds each pane is drawn from (the confusion matrix takes its class names from samples)
PANE_EVENTS = {"epochs": ("epoch",), "confusion": ("val", "samples"), "samples": ("samples",)}


class DashboardApp(App):
    """The digitnet terminal dashboard over the run folders in ``root``."""

    TITLE = "digitnet"
    CHART_SECONDS = 2.0
    CSS = """
    #left { width: 30%; min-width: 24; max-width: 50; border-right: solid $primary; }
    #tabs { width: 1fr; }
    #left Label { padding: 0 1; text-style: bold; }
    #progress { height: 3; padding: 0 1; }
    #alert { color: $error; padding: 0 1; height: auto; max-height: 8; display: none; }
    #alert.shown { display: block; }
    LossChart, AccuracyChart { height: 1fr; min-height: 6; }
    #details { padding: 0 1; }
    """
    BINDINGS = [
        Binding("n", "new_run", "New run"),
        Binding("c", "cancel_run", "Cancel"),
        Binding("r", "resume_run", "Resume"),
        Binding("m", "compare", "Compare"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "focus_runs", "Runs", show=False),
        *[Binding(str(i + 1), f"show_tab('{tab}')", tab, show=False) for i, tab in enumerate(TABS)],
    ]

    def __init__(
        self,
        root: Path | None = None,
        clock: Callable[[], float] = time.time,
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__()
        # No sliding tab underline or smooth scrolling: each animation frame is a screen render,
        # about 40 of them per tab switch, CPU a watched run would lose. TEXTUAL_ANIMATIONS still
        # wins.
        self.animation_level = os.environ.get("TEXTUAL_ANIMATIONS", "none")  # type: ignore[assignment]
        self.root = Path(root) if root is not None else layout.default_root()
        self.clock, self.poll_seconds = clock, poll_seconds
        self.tails: dict[str, RunTail] = {}
        self.infos: dict[str, listing.RunInfo] = {}
        self.processes: list = []
        self._drawn: dict[str, tuple] = {}  # pane -> (run, events of the kind it shows)
        self._charts_at, self._chart_names = 0.0, []
        self._shown_text: dict[str, str] = {}
        self._epoch_rows: list[tuple] = []  # the rows the Epochs table shows

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="left"):
                yield Label("Runs")
                yield RunList(clock=self.clock, id="runs")
            with TabbedContent(initial="tab-live", id="tabs"):
                with TabPane("Live", id="tab-live"):
                    yield Static("no run selected: press n to start one", id="progress")
                    yield Static("", id="alert")
                    yield LossChart(id="loss")
                    yield AccuracyChart(id="acc")
                with TabPane("Epochs", id="tab-epochs"):
                    yield DataTable(id="epoch-table", cursor_type="row")
                with TabPane("Confusion", id="tab-confusion"):
                    with ScrollableContainer():
                        yield ConfusionMatrix("no validation pass yet", id="matrix", expand=False)
                with TabPane("Samples", id="tab-samples"):
                    yield SampleGrid(id="sample-grid")
                with TabPane("Details", id="tab-details"):
                    with VerticalScroll():
                        yield Static("", id="details")
                with TabPane("New run", id="tab-launch"):
                    yield LaunchForm(id="form")
        yield Footer()

    def on_mount(self) -> None:
        self.main = self.screen  # widgets are looked up here even while the help screen is on top
        self.main.query_one("#epoch-table", DataTable).add_columns(
            "epoch", "train loss", "val loss", "val acc", "seconds"
        )
        self.poll()
        self.set_interval(self.poll_seconds, self.poll)
        self.main.query_one(RunList).focus()

    # -- polling -------------------------------------------------------------------------------
    def poll(self) -> None:
        try:
            self._poll()
        except NoMatches:
            pass  # the app is shutting down and its widgets are gone

    def _poll(self) -> None:
        self.processes = [p for p in self.processes if p.poll() is None]  # reap the runs that ended
        found = listing.list_runs(self.root)
        self.infos = {run.name: run for run in found}
        run_list = self.main.query_one(RunList)
        run_list.show(found)
        selected = run_list.selected
        names = [n for n in [selected, *sorted(run_list.compared)] if n in self.infos]
        names = list(dict.fromkeys(names))
        for name in names:
            self.tails.setdefault(name, RunTail(self.root / name)).poll()
        info = self.infos.get(selected) if selected else None
        view = self.tails[info.name].view if info else RunView()
        # Only the pane in view is drawn; a hidden one catches up when its tab is opened. Every
        # pane remembers what it last showed (the runs, and how many of the events it draws from
        # each had), so a pane whose data did not change costs no redraw.
        pane = self.main.query_one(TabbedContent).active.removeprefix("tab-")
        if pane == "live":
            self._draw_live(names, info, view)
        elif pane == "details":
            self._update_if_changed(
                "#details", self._details(info, view) if info else "no run selected"
            )
        elif pane in PANE_EVENTS:
            shown = (
                info.name if info else None,
                *(view.counts.get(kind, 0) for kind in PANE_EVENTS[pane]),
            )
            if self._drawn.get(pane) != shown:
                self._drawn[pane] = shown
                getattr(self, f"_draw_{pane}")(view)

    def _draw_live(self, names: list[str], info: listing.RunInfo | None, view: RunView) -> None:
        if info is None:
            self._update_if_changed(
                "#progress", "no run selected: press n to start one", layout=False
            )
        else:
            text = Text.assemble(
                (info.name, "bold"),
                "  ",
                (info.status, STATUS_STYLE.get(info.status, "")),
                "  ",
                view.progress_text(live=info.status == "running"),
            )
            done = view.fraction_done()
            self._update_if_changed(
                "#progress", progress_lines(text, done), layout=False, key=f"{text} {done:.3f}"
            )
        if info is not None and info.status in ("failed", "diverged"):
            tail = "\n".join(listing.output_tail(info.path, 5, info.log_offset))
            alert = Text(
                f"{info.status}: {info.error}" + (f"\n{tail}" if tail else "")
            )  # not markup: from the run
            self._update_if_changed("#alert", alert)
            self.main.query_one("#alert").add_class("shown")
        else:
            self.main.query_one("#alert").remove_class("shown")
        # Charts are the costly part: redraw them at once when other runs are shown, and for new
        # points of a live run at most every CHART_SECONDS, so the dashboard takes little CPU from
        # training. Each chart redraws only if the points it shows changed.
        due = (
            names != self._chart_names
            or time.monotonic() - self._charts_at >= self.CHART_SECONDS
            or info is None
            or info.status != "running"
        )
        if due:
            self._chart_names, self._charts_at = names, time.monotonic()
            shown = [(name, self.tails[name].view) for name in names]
            self.main.query_one(LossChart).show_runs(shown)
            self.main.query_one(AccuracyChart).show_runs(shown)

    def _draw_epochs(self, view: RunView) -> None:
        table = self.main.query_one("#epoch-table", DataTable)
        rows = [
            (
                row.get("epoch", 0) + 1,
                _fmt(row.get("train_loss")),
                _fmt(row.get("val_loss")),
                _fmt(row.get("val_acc"), percent=True),
                _fmt(row.get("seconds"), digits=1),
            )
            for row in view.epoch_rows
        ]
        shown = self._epoch_rows
        if rows[: len(shown)] != shown or table.row_count != len(
            shown
        ):  # another run, or a resumed epoch re-run
            table.clear()
            shown = []
        table.add_rows(rows[len(shown) :])  # a live run only adds rows
        self._epoch_rows = rows

    def _draw_confusion(self, view: RunView) -> None:
        self.main.query_one(ConfusionMatrix).show(
            view.confusion, (view.samples or {}).get("classes")
        )

    def _draw_samples(self, view: RunView) -> None:
        self.main.query_one(SampleGrid).show(view.samples)

    def _update_if_changed(
        self, selector: str, content, layout: bool = True, key: str | None = None
    ) -> None:
        """Update a Static only when its text (or ``key``) changes. An update costs a layout pass
        of the whole screen unless ``layout=False``, which is right only for a widget of fixed
        size."""
        key = str(content) if key is None else key
        if self._shown_text.get(selector) != key:
            self._shown_text[selector] = key
            self.main.query_one(selector, Static).update(content, layout=layout)

    def _details(self, info: listing.RunInfo, view) -> Text:
        """Everything here comes from the run folder, so it is plain Text, never parsed as
        markup."""
        text = Text.assemble((info.name, "bold"), f"  {info.status}\nfolder: {info.path}")
        if info.error:
            text.append(f"\nerror: {info.error}", style="red")
        if view.test:
            text.append(
                f"\ntest: loss {_fmt(view.test.get('test_loss'))}, "
                f"accuracy {_fmt(view.test.get('test_acc'), True)}"
            )
        for section, values in view.config.items():
            if isinstance(values, dict):
                shown = ", ".join(
                    f"{k}={v}" for k, v in values.items() if not str(k).startswith("_")
                )
                text.append(f"\n{section}: {shown}")
        tail = listing.output_tail(info.path, 15)
        if tail:
            text.append("\n\noutput.log", style="bold")
            text.append(" (last lines)\n" + "\n".join(tail))
        return text

    # -- events and actions --------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#runs")
    def _selected(self) -> None:
        self.poll()

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_opened(self) -> None:
        self.poll()  # draw the pane now in view if it fell behind while hidden

    @on(LaunchForm.Start)
    def _start(self, message: LaunchForm.Start) -> None:
        try:
            name, process = control.launch(message.spec, self.root)
        except (DigitnetError, OSError) as error:
            self.notify(str(error), title="could not start", severity="error")
            return
        self.processes.append(process)
        self.notify(f"started {name}")
        self.poll()
        self.main.query_one(RunList).select(name)
        self.action_show_tab("live")
        self.main.query_one(RunList).focus()

    def _selected_info(self) -> listing.RunInfo | None:
        name = self.main.query_one(RunList).selected
        return self.infos.get(name) if name else None

    def action_new_run(self) -> None:
        self.action_show_tab("launch")
        self.main.query_one("#form").query_one("#dataset").focus()

    def action_cancel_run(self) -> None:
        info = self._selected_info()
        if info is None or info.status != "running":
            self.notify("select a running run to cancel", severity="warning")
            return
        control.cancel(info.path)
        self.notify(f"cancelling {info.name}: it stops after its current step")

    def action_resume_run(self) -> None:
        info = self._selected_info()
        if info is None or info.status == "running":
            self.notify("select a stopped run to resume", severity="warning")
            return
        try:
            self.processes.append(control.resume(info.path))
        except (DigitnetError, OSError) as error:
            self.notify(str(error), title="could not resume", severity="error")
            return
        self.notify(f"resuming {info.name}")
        self.action_show_tab("live")

    def action_compare(self) -> None:
        run_list = self.main.query_one(RunList)
        name = run_list.selected
        if name is None:
            return
        run_list.compared.symmetric_difference_update({name})
        run_list._shown = []  # redraw the marks
        self.poll()

    def action_show_tab(self, tab: str) -> None:
        self.main.query_one(TabbedContent).active = f"tab-{tab}"

    def action_focus_runs(self) -> None:
        self.main.query_one(RunList).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def progress_lines(text: Text, fraction: float) -> Group:
    """Where a run is, over a bar of how much of it is done: one widget, so one small repaint a
    second."""
    bar = Table.grid(expand=True)
    bar.add_column(ratio=1)
    bar.add_column(width=5, justify="right")
    bar.add_row(Bar(total=1.0, completed=fraction), f"{100 * fraction:.0f}%")
    return Group(text, bar)


def _fmt(value, percent: bool = False, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if percent else f"{value:.{digits}f}"
