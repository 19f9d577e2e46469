"""Provides :class:`MainScreen`: the run list on the left, the selected run on the right.

Every ``poll_seconds`` a worker thread reads the run folders (:class:`FolderWatcher`: the run
list, and the new event lines of the runs on screen) and posts what it found as a
:class:`MainScreen.Read` message; the screen folds the events into each run's
:class:`~digitnet.dashboard.state.RunView` and shows the tab in view. Each widget holds what it
shows in a ``reactive`` and redraws only when that changes, so a long run costs the dashboard no
more than a short one; a hidden tab catches up when it is opened. The charts, the costly part,
take new points of a live run at most every ``CHART_SECONDS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, TabbedContent, TabPane
from textual.worker import Worker

from digitnet.dashboard.screens.ask import AskName, Confirm
from digitnet.dashboard.state import RunView
from digitnet.dashboard.watcher import FolderWatcher, Snapshot
from digitnet.dashboard.widgets.charts import AccuracyChart, LossChart
from digitnet.dashboard.widgets.confusion import ConfusionMatrix
from digitnet.dashboard.widgets.console import Console
from digitnet.dashboard.widgets.draw import DrawPane
from digitnet.dashboard.widgets.launch_form import LaunchForm
from digitnet.dashboard.widgets.panels import Alert, Details, EpochTable, ProgressPanel
from digitnet.dashboard.widgets.run_list import RunList
from digitnet.dashboard.widgets.samples import SampleGrid
from digitnet.dashboard.widgets.system import SystemPanel
from digitnet.dashboard.widgets.weights import WeightsGrid
from digitnet.errors import DigitnetError
from digitnet.runs import process as control
from digitnet.runs.layout import check_name
from digitnet.runs.listing import RunInfo
from digitnet.runs.manage import delete_run, rename_run
from digitnet.untrusted import is_regular

TABS = (
    "live",
    "epochs",
    "confusion",
    "samples",
    "details",
    "console",
    "weights",
    "draw",
    "launch",
)  # TabPane ids: "tab-<name>"


class MainScreen(Screen):
    """The dashboard's screen over the run folders in ``root``."""

    CHART_SECONDS = 2.0
    BINDINGS = [
        Binding("n", "new_run", "New run"),
        Binding("c", "cancel_run", "Cancel"),
        Binding("r", "resume_run", "Resume"),
        Binding("m", "compare", "Compare"),
        Binding("e", "rename_run", "Rename"),
        Binding("d", "delete_run", "Delete"),
        Binding("s", "sort", "Sort"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "focus_runs", "Runs", show=False),
        *[Binding(str(i + 1), f"show_tab('{tab}')", tab, show=False) for i, tab in enumerate(TABS)],
    ]

    class Read(Message):
        """What look number ``number`` at the run folders found."""

        def __init__(self, snapshot: Snapshot, number: int) -> None:
            super().__init__()
            self.snapshot, self.number = snapshot, number

    def __init__(
        self, watcher: FolderWatcher, clock: Callable[[], float], poll_seconds: float
    ) -> None:
        super().__init__()
        self.watcher, self.clock, self.poll_seconds = watcher, clock, poll_seconds
        self.runs: dict[str, RunInfo] = {}
        self.views: dict[str, RunView] = {}
        self.reader: Worker | None = None
        self.again = False  # a look was asked for while a read was going
        self.looks_started = 0  # looks begun; the newest one shown is looks_shown
        self.looks_shown = 0
        self.charts_at = 0.0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="left"):
                yield Label("Runs · newest first", id="runs-title")
                yield Input(placeholder="filter: name or data set", id="filter")
                yield RunList(clock=self.clock, id="runs")
            with TabbedContent(initial="tab-live", id="tabs"):
                with TabPane("Live", id="tab-live"):
                    yield ProgressPanel(id="progress")
                    yield SystemPanel(id="system")
                    yield Alert(id="alert")
                    yield LossChart(id="loss")
                    yield AccuracyChart(id="acc")
                with TabPane("Epochs", id="tab-epochs"):
                    yield EpochTable(id="epoch-table")
                with TabPane("Confusion", id="tab-confusion"):
                    with ScrollableContainer():
                        yield ConfusionMatrix(id="matrix", expand=False)
                with TabPane("Samples", id="tab-samples"):
                    yield SampleGrid(id="sample-grid")
                with TabPane("Details", id="tab-details"):
                    with VerticalScroll():
                        yield Details(id="details")
                with TabPane("Console", id="tab-console"):
                    yield Console(id="console")
                with TabPane("Weights", id="tab-weights"):
                    with VerticalScroll():
                        yield WeightsGrid(id="weights")
                with TabPane("Draw", id="tab-draw"):
                    yield DrawPane(id="draw")
                with TabPane("New run", id="tab-launch"):
                    yield LaunchForm(id="form")
        yield Footer()

    def on_mount(self) -> None:
        self.apply(self.watcher.read([]))  # the first screen shows the runs at once
        self.apply(self.watcher.read(self.watched()))
        self.set_interval(self.poll_seconds, self.look)
        self.query_one(RunList).focus()

    # -- reading, in a worker thread -------------------------------------------------------------
    def look(self) -> None:
        """Start a read of the run folders; if one is still going, another follows it."""
        if self.reader is not None and not self.reader.is_finished:
            self.again = True
            return
        self.again = False
        self.looks_started += 1
        self.reader = self.read_folders(self.watched(), self.console_run(), self.looks_started)

    @work(thread=True, group="folders")
    def read_folders(self, watched: list[str], console: str | None, number: int) -> None:
        self.post_message(self.Read(self.watcher.read(watched, console), number))

    def on_main_screen_read(self, message: Read) -> None:
        try:
            self.apply(message.snapshot)
        except NoMatches:
            return  # the app is closing and its widgets are gone
        self.looks_shown = message.number
        if self.again:
            self.look()

    def console_run(self) -> str | None:
        """The run whose output.log is read: the selected one, while the Console tab is open."""
        if self.query_one(TabbedContent).active != "tab-console":
            return None
        return self.query_one(RunList).selected

    def watched(self) -> list[str]:
        """The runs whose events are read: the selected one and those marked for compare."""
        run_list = self.query_one(RunList)
        return list(dict.fromkeys(n for n in [run_list.selected, *sorted(run_list.compared)] if n))

    # -- showing ---------------------------------------------------------------------------------
    def apply(self, snapshot: Snapshot) -> None:
        control.reap(self.app.processes)
        self.runs = {run.name: run for run in snapshot.runs}
        fresh = False  # a run seen for the first time: its charts are drawn at once
        for name, events in snapshot.events.items():
            fresh = fresh or name not in self.views
            view = self.views.setdefault(name, RunView())
            for event in events:
                view.apply(event)
        self.query_one(RunList).show(snapshot.runs)
        if snapshot.console is not None and snapshot.console in self.runs:
            has_log = is_regular(self.runs[snapshot.console].path / "output.log")
            self.query_one(Console).show_output(snapshot.console, snapshot.output, has_log)
        self.show(charts_now=fresh)

    def show(self, charts_now: bool = False) -> None:
        """Show the selected run in the tab in view (a hidden tab catches up when it is opened)."""
        info = self.selected_info()
        view = self.views.get(info.name, RunView()) if info else RunView()
        pane = self.query_one(TabbedContent).active.removeprefix("tab-")
        if pane == "live":
            self.query_one(ProgressPanel).show_run(info, view)
            self.query_one(SystemPanel).show_run(info, view)
            self.query_one(Alert).show_run(info)
            running = info is not None and info.status == "running"
            if charts_now or not running or time.monotonic() - self.charts_at >= self.CHART_SECONDS:
                self.charts_at = time.monotonic()
                shown = [(name, self.views.get(name, RunView())) for name in self.watched()]
                self.query_one(LossChart).show_runs(shown)
                self.query_one(AccuracyChart).show_runs(shown)
        elif pane == "epochs":
            self.query_one(EpochTable).show_view(view)
        elif pane == "confusion":
            self.query_one(ConfusionMatrix).show_view(view)
        elif pane == "samples":
            self.query_one(SampleGrid).show_view(view)
        elif pane == "draw":
            self.query_one(DrawPane).show_run(info)
        elif pane == "weights":
            self.query_one(WeightsGrid).show_run(info, view)
        elif pane == "details":
            self.query_one(Details).show_run(info, view)

    def selected_info(self) -> RunInfo | None:
        name = self.query_one(RunList).selected
        return self.runs.get(name) if name else None

    # -- events and actions ----------------------------------------------------------------------
    @on(RunList.RowHighlighted, "#runs")
    def _selected(self) -> None:
        self.refresh_watched()

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_opened(self) -> None:
        if self.query_one(TabbedContent).active != "tab-draw":
            self.query_one(DrawPane).leave()  # its helper process runs only while it is open
        self.show(charts_now=True)
        if self.console_run() is not None:
            self.look()  # the console's lines now, not at the next tick

    def refresh_watched(self) -> None:
        """Show what is known of the runs now watched, and read their new events at once."""
        self.show(charts_now=True)
        self.look()

    @on(LaunchForm.Start)
    def _start(self, message: LaunchForm.Start) -> None:
        try:
            name, process = control.launch(message.spec, self.watcher.root)
        except (DigitnetError, OSError) as error:
            self.notify(str(error), title="could not start", severity="error")
            return
        self.app.processes.append(process)
        self.notify(f"started {name}")
        self.apply(self.watcher.read([]))
        self.query_one(RunList).select(name)
        self.action_show_tab("live")
        self.query_one(RunList).focus()

    def action_new_run(self) -> None:
        self.action_show_tab("launch")
        self.query_one("#form").query_one("#dataset").focus()

    def action_cancel_run(self) -> None:
        info = self.selected_info()
        if info is None or info.status != "running":
            self.notify("select a running run to cancel", severity="warning")
            return
        try:
            control.cancel(info.path)
        except (DigitnetError, OSError) as error:
            self.notify(str(error), title="could not cancel", severity="error")
            return
        self.notify(f"cancelling {info.name}: it stops after its current step")

    def action_resume_run(self) -> None:
        info = self.selected_info()
        if info is None or info.status == "running":
            self.notify("select a stopped run to resume", severity="warning")
            return
        try:
            self.app.processes.append(control.resume(info.path))
        except (DigitnetError, OSError) as error:
            self.notify(str(error), title="could not resume", severity="error")
            return
        self.notify(f"resuming {info.name}")
        self.action_show_tab("live")

    def action_compare(self) -> None:
        run_list = self.query_one(RunList)
        if run_list.selected is None:
            return
        run_list.toggle_compare(run_list.selected)
        run_list.show(list(self.runs.values()))
        self.refresh_watched()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"

    def stopped_selection(self) -> RunInfo | None:
        """The selected run if it is not running (a running one is changed by no one but itself)."""
        info = self.selected_info()
        if info is not None and info.status == "running":
            self.notify(f"{info.name} is running: cancel it first (c)", severity="warning")
            return None
        return info

    def action_delete_run(self) -> None:
        info = self.stopped_selection()
        if info is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                delete_run(self.watcher.root, info.name)
            except (DigitnetError, OSError) as error:
                self.notify(str(error), title="could not delete", severity="error")
                return
            self.forget(info.name)
            self.notify(f"deleted {info.name}")

        question = f"Delete run {info.name}, with its checkpoints and logs?"
        self.app.push_screen(Confirm(question, yes="Delete"), answered)

    def action_rename_run(self) -> None:
        info = self.stopped_selection()
        if info is None:
            return

        def answered(new: str | None) -> None:
            if not new or new == info.name:
                return
            try:
                rename_run(self.watcher.root, info.name, new)
            except (DigitnetError, OSError) as error:
                self.notify(str(error), title="could not rename", severity="error")
                return
            self.forget(info.name)
            self.apply(self.watcher.read([]))
            self.query_one(RunList).select(new)
            self.notify(f"renamed {info.name} to {new}")

        self.app.push_screen(AskName(f"New name for {info.name}:", info.name, check_name), answered)

    def forget(self, name: str) -> None:
        """Drop what was read of a run that was renamed or deleted, and show the list again."""
        self.views.pop(name, None)
        self.watcher.forget(name)
        self.query_one(RunList).compared.discard(name)
        self.apply(self.watcher.read([]))

    def action_sort(self) -> None:
        by = self.query_one(RunList).next_sort()
        title = {"age": "newest first", "accuracy": "best accuracy first", "name": "by name"}[by]
        self.query_one("#runs-title", Label).update(f"Runs · {title}")

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(RunList).text_filter = event.value

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(RunList).focus()

    def action_focus_runs(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus:  # Esc in the filter box: no filter
            box.value = ""
            box.remove_class("shown")
        self.query_one(RunList).focus()
