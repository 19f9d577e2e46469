"""Provides :class:`DashboardApp`: the run list on the left, the selected run's live view on the right.

Everything shown comes from run folders (:mod:`digitnet.runs`); the app never imports torch. It
polls the folders twice a second, reads only new event lines, and redraws a widget only when its
data changed, so a long run costs it no more than a short one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, Static, TabbedContent, TabPane

from digitnet import launch, runs
from digitnet.dashboard.screens.help import HelpScreen
from digitnet.dashboard.state import RunTail
from digitnet.dashboard.widgets.charts import AccuracyChart, LossChart
from digitnet.dashboard.widgets.confusion import ConfusionMatrix
from digitnet.dashboard.widgets.launch_form import LaunchForm
from digitnet.dashboard.widgets.run_list import STATUS_STYLE, RunList
from digitnet.dashboard.widgets.samples import SampleGrid
from digitnet.errors import DigitnetError

TABS = ("live", "epochs", "confusion", "samples", "details", "launch")  # TabPane ids are "tab-<name>"


class DashboardApp(App):
    """The digitnet terminal dashboard over the run folders in ``root``."""

    TITLE = "digitnet"
    CHART_SECONDS = 2.0
    CSS = """
    #left { width: 30%; min-width: 24; max-width: 50; border-right: solid $primary; }
    #tabs { width: 1fr; }
    #left Label { padding: 0 1; text-style: bold; }
    #progress { height: 2; padding: 0 1; }
    #bar { padding: 0 1; height: 1; }
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

    def __init__(self, root: Path | None = None, clock: Callable[[], float] = time.time,
                 poll_seconds: float = 0.5) -> None:
        super().__init__()
        self.root = Path(root) if root is not None else runs.default_root()
        self.clock, self.poll_seconds = clock, poll_seconds
        self.tails: dict[str, RunTail] = {}
        self.infos: dict[str, runs.RunInfo] = {}
        self.current: str | None = None
        self.processes: list = []
        self._drawn: tuple = ()
        self._charts_at = 0.0
        self._shown_text: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="left"):
                yield Label("Runs")
                yield RunList(clock=self.clock, id="runs")
            with TabbedContent(initial="tab-live", id="tabs"):
                with TabPane("Live", id="tab-live"):
                    yield Static("no run selected: press n to start one", id="progress")
                    yield ProgressBar(total=1.0, show_eta=False, show_percentage=True, id="bar")
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
        self.main.query_one("#epoch-table", DataTable).add_columns("epoch", "train loss", "val loss", "val acc", "seconds")
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
        found = runs.list_runs(self.root)
        self.infos = {run.name: run for run in found}
        run_list = self.main.query_one(RunList)
        run_list.show(found)
        selected = run_list.selected
        names = [n for n in [selected, *sorted(run_list.compared)] if n in self.infos]
        names = list(dict.fromkeys(names))
        for name in names:
            self.tails.setdefault(name, RunTail(self.root / name)).poll()
        self.current = selected
        state = tuple((n, self.tails[n].view.version) for n in names)
        info = self.infos.get(selected) if selected else None
        # Charts are the costly part: redraw them when the selection changes at once, and for new
        # points of a live run at most every CHART_SECONDS, so the dashboard takes little CPU from training.
        changed = state != self._drawn
        same_runs = [n for n, _ in state] == [n for n, _ in self._drawn]
        due = not same_runs or time.monotonic() - self._charts_at >= self.CHART_SECONDS or info is None \
            or info.status != "running"
        if changed or info is not None:
            self.draw(names, info, redraw_charts=changed and due)
            if changed and due:
                self._drawn, self._charts_at = state, time.monotonic()

    def draw(self, names: list[str], info: runs.RunInfo | None, redraw_charts: bool) -> None:
        progress = self.main.query_one("#progress", Static)
        alert = self.main.query_one("#alert", Static)
        if info is None:
            progress.update("no run selected: press n to start one")
            alert.remove_class("shown")
            return
        view = self.tails[info.name].view
        progress.update(Text.assemble((info.name, "bold"), "  ", (info.status, STATUS_STYLE.get(info.status, "")),
                                      "  ", view.progress_text()))
        self.main.query_one("#bar", ProgressBar).update(progress=view.fraction_done())
        if info.status in ("failed", "diverged"):
            tail = "\n".join(runs.output_tail(info.path, 5))
            self._update_if_changed("#alert", f"{info.status}: {info.error}" + (f"\n{tail}" if tail else ""))
            alert.add_class("shown")
        else:
            alert.remove_class("shown")
        self._update_if_changed("#details", self._details(info, view))
        if not redraw_charts:
            return
        shown = [(name, self.tails[name].view) for name in names]
        self.main.query_one(LossChart).show_runs(shown)
        self.main.query_one(AccuracyChart).show_runs(shown)
        table = self.main.query_one("#epoch-table", DataTable)
        table.clear()
        for row in view.epoch_rows:
            table.add_row(row.get("epoch", 0) + 1, _fmt(row.get("train_loss")), _fmt(row.get("val_loss")),
                          _fmt(row.get("val_acc"), percent=True), _fmt(row.get("seconds"), digits=1))
        classes = (view.samples or {}).get("classes")
        self.main.query_one(ConfusionMatrix).show(view.confusion, classes)
        self.main.query_one(SampleGrid).show(view.samples)

    def _update_if_changed(self, selector: str, content) -> None:
        """Update a Static only when its text changes: an update of an auto-height widget costs a
        layout pass of the whole screen, the dashboard's largest steady cost while a run trains."""
        if self._shown_text.get(selector) != str(content):
            self._shown_text[selector] = str(content)
            self.main.query_one(selector, Static).update(content)

    def _details(self, info: runs.RunInfo, view) -> str:
        lines = [f"[b]{info.name}[/b]  {info.status}", f"folder: {info.path}"]
        if info.error:
            lines.append(f"[red]error: {info.error}[/red]")
        if view.test:
            lines.append(f"test: loss {_fmt(view.test.get('test_loss'))}, accuracy {_fmt(view.test.get('test_acc'), True)}")
        for section, values in view.config.items():
            if isinstance(values, dict):
                shown = ", ".join(f"{k}={v}" for k, v in values.items() if not k.startswith("_"))
                lines.append(f"{section}: {shown}")
        tail = runs.output_tail(info.path, 15)
        if tail:
            lines += ["", "[b]output.log[/b] (last lines)", *[line.replace("[", "\\[") for line in tail]]
        return "\n".join(lines)

    # -- events and actions --------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#runs")
    def _selected(self) -> None:
        self.poll()

    @on(LaunchForm.Start)
    def _start(self, message: LaunchForm.Start) -> None:
        try:
            name, process = launch.launch(message.spec, self.root)
        except (DigitnetError, OSError) as error:
            self.notify(str(error), title="could not start", severity="error")
            return
        self.processes.append(process)
        self.notify(f"started {name}")
        self.poll()
        self.main.query_one(RunList).select(name)
        self.action_show_tab("live")
        self.main.query_one(RunList).focus()

    def _selected_info(self) -> runs.RunInfo | None:
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
        launch.cancel(info.path)
        self.notify(f"cancelling {info.name}: it stops after its current step")

    def action_resume_run(self) -> None:
        info = self._selected_info()
        if info is None or info.status == "running":
            self.notify("select a stopped run to resume", severity="warning")
            return
        try:
            self.processes.append(launch.resume(info.path))
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
        self._drawn = ()
        self.poll()

    def action_show_tab(self, tab: str) -> None:
        self.main.query_one(TabbedContent).active = f"tab-{tab}"

    def action_focus_runs(self) -> None:
        self.main.query_one(RunList).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def _fmt(value, percent: bool = False, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if percent else f"{value:.{digits}f}"
