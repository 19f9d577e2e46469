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
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, TabbedContent, TabPane
from textual.worker import Worker

from digitnet import checks
from digitnet.dashboard.controller import RunControl
from digitnet.dashboard.screens.ask import AskName, Confirm
from digitnet.dashboard.state import RunView
from digitnet.dashboard.watcher import FolderWatcher, Snapshot
from digitnet.dashboard.widgets.charts import PALETTE, ChartsPane, Shown
from digitnet.dashboard.widgets.confusion import ConfusionMatrix
from digitnet.dashboard.widgets.console import Console
from digitnet.dashboard.widgets.draw import DrawCanvas, DrawPane
from digitnet.dashboard.widgets.launch_form import LaunchForm
from digitnet.dashboard.widgets.panels import Alert, Details, EpochTable, ProgressPanel
from digitnet.dashboard.widgets.run_list import RunList
from digitnet.dashboard.widgets.runs_table import RunsTable
from digitnet.dashboard.widgets.samples import SampleGrid
from digitnet.dashboard.widgets.study import StudyView
from digitnet.dashboard.widgets.system import SystemPanel
from digitnet.dashboard.widgets.weights import WeightsGrid
from digitnet.errors import DigitnetError
from digitnet.runs import study as studies
from digitnet.runs.layout import check_name, check_notes, split_note
from digitnet.runs.listing import RunInfo
from digitnet.runs.spec import LaunchSpec
from digitnet.text import printable

# TabPane ids ("tab-<name>"), their labels, and the short labels a narrow pane (80x24) shows
TABS = {
    "live": ("Live", "Live"),
    "epochs": ("Epochs", "Ep"),
    "confusion": ("Confusion", "Conf"),
    "samples": ("Samples", "Imgs"),
    "details": ("Details", "Info"),
    "console": ("Console", "Log"),
    "weights": ("Weights", "Wts"),
    "draw": ("Draw", "Draw"),
    "launch": ("New run", "New"),
    "runs": ("Runs", "All"),  # no number: the a key
}
MOST_COMPARED = 8  # runs overlaid at once: one colour each
FAST_LOOK, FAST_FOR = 0.25, 12.0  # seconds: looks after Start, until the run has shown itself
# the actions that start or change a run: not offered where the dashboard only watches
CHANGES = {"new_run", "cancel_run", "resume_run", "rename_run", "delete_run", "clone_run"}
CHANGES |= {"note_run", "stop_sweep"}


def check_note(text: str) -> None:
    """The note field's check: the rules of :func:`digitnet.runs.layout.write_notes`."""
    note, tags = split_note(text)
    check_notes(note, tags)


class MainScreen(Screen):
    """The dashboard's screen over the run folders in ``root``."""

    CHART_SECONDS = 2.0
    BINDINGS = [
        Binding("n", "new_run", "New"),
        Binding("c", "cancel_run", "Cancel"),
        Binding("r", "resume_run", "Resume"),
        Binding("m", "compare", "Compare"),
        Binding("e", "rename_run", "Rename", show=False),  # at 80 columns the footer holds
        Binding("d", "delete_run", "Delete", show=False),  # the rest; ? lists every key
        Binding("g", "next_chart", "Chart"),
        Binding("a", "show_tab('runs')", "All runs", show=False),
        Binding("k", "clone_run", "Clone", show=False),
        Binding("t", "note_run", "Note", show=False),
        Binding("s", "sort", "Sort"),
        Binding("v", "study_view", "Study view", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "focus_runs", "Runs", show=False),
        Binding("l", "log_scale", "Log scale", show=False),
        Binding("x", "x_axis", "X axis", show=False),
        Binding("left_square_bracket", "smooth(-1)", "Less smoothing", show=False),
        Binding("right_square_bracket", "smooth(1)", "More smoothing", show=False),
        Binding("plus,equals_sign", "zoom(0.5)", "Zoom in", show=False),
        Binding("minus", "zoom(2.0)", "Zoom out", show=False),
        Binding("shift+left", "pan(-0.25)", "Pan left", show=False),
        Binding("shift+right", "pan(0.25)", "Pan right", show=False),
        Binding("0", "reset_view", "Whole run", show=False),
        Binding("comma", "cursor(-1)", "Cursor left", show=False),
        Binding("full_stop", "cursor(1)", "Cursor right", show=False),
        *[
            Binding(str(i + 1), f"show_tab('{tab}')", labels[0], show=False)
            for i, (tab, labels) in enumerate(list(TABS.items())[:9])
        ],
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
        self.run_colors: dict[str, str] = {}  # each run keeps its colour for the session
        self.tails: dict[str, tuple] = {}  # run -> (its output's last lines, its launch's last)
        self.weights_of: dict[str, object] = {}  # run -> its weights.npy, as the watcher read it
        self.listed_minute = -1
        self.pending: str | None = None  # a run to select once a look lists it
        self.study_line = ""  # the summary of the sweep the filter names, as the last look read it
        self.study_trials: list = []  # its trials and importance, for the study view
        self.study_importance: tuple[dict, str] = ({}, "")
        self.control = RunControl(watcher.root, [])  # starts and changes runs; see on_mount

    def on_unmount(self) -> None:
        self.control.close()

    def compose(self) -> ComposeResult:
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
                    yield ChartsPane(id="charts")
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
                with TabPane("Runs", id="tab-runs"):
                    with Vertical():
                        yield Label("", id="study-line")
                        yield StudyView(id="study-view")
                        yield RunsTable(id="runs-table")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.control.processes = self.app.processes  # the app's: they outlive a screen
        if self.app.read_only:
            self.query_one(TabbedContent).hide_tab("tab-launch")
        self.look()  # the first look lists the runs; the next reads the selected one's events
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
        tab = self.query_one(TabbedContent).active
        weights = self.query_one(RunList).selected if tab == "tab-weights" else None
        # a sweep's trials in the Runs tab: its summary line, read with the folders
        study = studies.named(self.query_one(RunList).text_filter) if tab == "tab-runs" else None
        self.reader = self.read_folders(
            self.watched(), self.console_run(), weights, study, self.looks_started
        )

    @work(thread=True, group="folders")
    def read_folders(
        self,
        watched: list[str],
        console: str | None,
        weights: str | None,
        study: str | None,
        number: int,
    ) -> None:
        snapshot = self.watcher.read(watched, console, weights, study)
        self.post_message(self.Read(snapshot, number))

    def on_main_screen_read(self, message: Read) -> None:
        try:
            self.apply(message.snapshot)
        except NoMatches:
            return  # the app is closing and its widgets are gone
        self.looks_shown = message.number
        if self.again or message.number == 1:  # the first look listed the runs: now their events
            self.look()

    def tell(self, message: str, **options: Any) -> None:
        """A notification, its text shown as it is: names and sentences from run folders are
        never read as markup (``[/]`` in a log line would otherwise break the toast)."""
        self.notify(message, markup=False, **options)

    def report_sweeps(self) -> None:
        """Say when a sweep started here ends (its trials are runs, each reporting its own end).
        The study's files are read by a worker, never on the screen's thread."""
        for name, returncode in self.control.ended_sweeps():
            self.read_sweep_end(name, returncode)

    @work(thread=True, group="files")
    def read_sweep_end(self, name: str, returncode: int) -> None:
        text, severity = self.control.sweep_end(name, returncode)
        self.app.call_from_thread(self.tell, text, title="sweep", severity=severity)

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
        self.report_sweeps()
        self.control.reap()
        self.study_line = snapshot.study
        self.study_trials, self.study_importance = snapshot.trials, snapshot.importance
        self.runs = {run.name: run for run in snapshot.runs}
        fresh = False  # a run seen for the first time: its charts are drawn at once
        for name, events in snapshot.events.items():
            fresh = fresh or name not in self.views
            view = self.views.setdefault(name, RunView())
            for event in events:
                view.apply(event)
        if snapshot.tail is not None:
            self.tails[snapshot.tail[0]] = snapshot.tail[1:]
        if snapshot.weights is not None:
            self.weights_of[snapshot.weights[0]] = snapshot.weights[1]
        minute = int(self.clock() // 60)  # the ages in the list change by the minute at most
        if snapshot.runs_changed or minute != self.listed_minute:
            self.listed_minute = minute
            run_list = self.query_one(RunList)
            run_list.show(snapshot.runs)
            if self.pending is not None and self.pending in self.runs:
                run_list.select(self.pending)
                self.pending = None
        if snapshot.console is not None and snapshot.console in self.runs:
            self.query_one(Console).show_output(snapshot.console, snapshot.output, snapshot.has_log)
        self.show(charts_now=fresh)

    def show(self, charts_now: bool = False) -> None:
        """Show the selected run in the tab in view (a hidden tab catches up when it is opened)."""
        info = self.selected_info()
        view = self.views.get(info.name, RunView()) if info else RunView()
        pane = self.query_one(TabbedContent).active.removeprefix("tab-")
        if pane == "live":
            self.query_one(ProgressPanel).show_run(info, view)
            self.query_one(SystemPanel).show_run(info, view)
            since = self.tails.get(info.name, ((), ()))[1] if info else ()
            self.query_one(Alert).show_run(info, list(since))
            running = info is not None and info.status == "running"
            if charts_now or not running or time.monotonic() - self.charts_at >= self.CHART_SECONDS:
                self.charts_at = time.monotonic()
                self.query_one(ChartsPane).show(self.shown_runs())
        elif pane == "epochs":
            self.query_one(EpochTable).show_view(view)
        elif pane == "confusion":
            self.query_one(ConfusionMatrix).show_view(view)
        elif pane == "samples":
            self.query_one(SampleGrid).show_view(view)
        elif pane == "draw":
            self.query_one(DrawPane).show_run(info)
        elif pane == "weights" and (info is None or info.name in self.weights_of):
            weights = self.weights_of.get(info.name) if info else None
            self.query_one(WeightsGrid).show_run(info, view, weights)
        elif pane == "details":
            tail = self.tails.get(info.name, ((), ()))[0] if info else ()
            compared = sorted(self.query_one(RunList).compared)
            pair = [self.runs[n] for n in compared if n in self.runs]
            self.query_one(Details).show_run(info, view, list(tail), pair if len(pair) == 2 else [])
        elif pane == "runs":
            runs = sorted(self.runs.values(), key=lambda r: r.updated, reverse=True)
            text_filter = self.query_one(RunList).text_filter
            self.query_one(RunsTable).show(runs, text_filter)
            summary = self.study_line if studies.named(text_filter) else ""
            label = self.query_one("#study-line", Label)
            label.update(Text(summary))
            label.display = bool(summary)
            study = self.query_one(StudyView)
            study.display = bool(summary) and bool(self.study_trials)
            if study.display:
                study.show(self.study_trials, *self.study_importance)

    def shown_runs(self) -> list[Shown]:
        """The watched runs for the charts, the selected one last (drawn on top), each in the
        colour it got when first shown: it keeps it for the session unless a run already on the
        charts has it, so the runs shown together (up to 8 marked and the selected one) always
        differ."""
        names = self.watched()
        names = [*names[1:], *names[:1]]
        taken: set[str] = set()
        for name in names:
            colour = self.run_colors.get(name)
            if colour is None or colour in taken:
                unused = [c for c in PALETTE if c not in taken]
                fresh = [c for c in unused if c not in self.run_colors.values()]
                colour = (fresh or unused)[0]
                self.run_colors[name] = colour
            taken.add(colour)
        return [
            Shown(name, self.views.get(name, RunView()), self.run_colors[name]) for name in names
        ]

    def selected_info(self) -> RunInfo | None:
        name = self.query_one(RunList).selected
        return self.runs.get(name) if name else None

    # -- events and actions ----------------------------------------------------------------------
    @on(RunList.RowHighlighted, "#runs")
    def _selected(self) -> None:
        self.refresh_watched()

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_opened(self) -> None:
        active = self.query_one(TabbedContent).active
        if active != "tab-draw":
            self.query_one(DrawPane).leave()  # its helper process runs only while it is open
        else:
            self.query_one(DrawCanvas).focus()  # arrows and space draw at once
        if active == "tab-launch" and not self.app.read_only:
            # a run's start-up, done while the form is filled in (a process: in a worker)
            self.act(self.control.prepare, "no warm start", lambda _: None)
        self.show(charts_now=True)
        if self.query_one(TabbedContent).active in ("tab-console", "tab-weights"):
            self.look()  # the console's lines or the weights now, not at the next tick

    def refresh_watched(self) -> None:
        """Show what is known of the runs now watched, and read their new events at once."""
        self.show(charts_now=True)
        self.look()

    @on(LaunchForm.Start)
    def _start(self, message: LaunchForm.Start) -> None:
        if not self.may_change("start runs"):
            return
        spec = message.spec
        self.act(lambda: self.control.start(spec), "could not start", self.started)

    def started(self, outcome: tuple[str, bool]) -> None:
        """A run or a sweep started: say so and show it."""
        name, sweep = outcome
        if sweep:  # its trials, ranked in the table as they finish
            self.tell(f"started sweep {name}: its runs are {name}-0, {name}-1, ...")
            self.query_one("#filter", Input).value = f"study:{name}"
            self.query_one(RunsTable).sort = ("best", False)  # ranked, the best first
            self.action_show_tab("runs")
            return
        self.tell(f"started {name}")
        self.pending = name
        self.look()
        # the new run's first events on screen a quarter second after they are written, not at
        # the next poll: looks are reads of what changed, cheap while a run starts
        self.set_interval(FAST_LOOK, self.look, repeat=round(FAST_FOR / FAST_LOOK))
        self.action_show_tab("live")
        self.query_one(RunList).focus()

    def action_new_run(self) -> None:
        """The New-run form with the defaults (``k`` fills it from the selected run)."""
        self.action_show_tab("launch")
        self.query_one(LaunchForm).fill(LaunchSpec())
        self.query_one("#form").query_one("#dataset").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """In a dashboard that only watches, what would start or change a run is not offered:
        its keys do nothing and leave the footer (the New-run tab is hidden too)."""
        if self.app.read_only and (
            action in CHANGES or (action == "show_tab" and parameters == ("launch",))
        ):
            return False
        return True

    def action_cancel_run(self) -> None:
        if not self.may_change("cancel runs"):
            return
        info = self.selected_info()
        if info is None or info.status != "running":
            self.tell("select a running run to cancel", severity="warning")
            return
        self.act(
            lambda: self.control.cancel(info),
            "could not cancel",
            lambda _: self.tell(f"cancelling {info.name}: it stops after its current step"),
        )

    def action_resume_run(self) -> None:
        """Resume the selected run in place; one that finished its epochs is asked how many to
        train to first (a resume with the same limit would be refused)."""
        if not self.may_change("resume runs"):
            return
        info = self.selected_info()
        if info is None or info.status == "running":
            self.tell("select a stopped run to resume", severity="warning")
            return
        done = info.epoch
        if info.status != "finished" or info.max_epochs is None or done < info.max_epochs:
            self.resume(info, None)
            return

        def answered(value: str | None) -> None:
            if value:
                self.resume(info, int(value))

        question = f"{info.name} finished its {done} epochs. Train it on to how many epochs?"
        self.app.push_screen(
            AskName(question, str(2 * done), lambda v: checks.check_more_epochs(v, done)), answered
        )

    def resume(self, info: RunInfo, max_epochs: int | None) -> None:
        def resumed(_: None) -> None:
            self.tell(f"resuming {info.name}")
            self.action_show_tab("live")

        self.act(lambda: self.control.resume(info, max_epochs), "could not resume", resumed)

    def action_compare(self) -> None:
        run_list = self.query_one(RunList)
        if run_list.selected is None:
            return
        if run_list.selected not in run_list.compared and len(run_list.compared) >= MOST_COMPARED:
            self.tell(
                f"{MOST_COMPARED} runs are compared already: unmark one (m) first",
                severity="warning",
            )
            return
        run_list.toggle_compare(run_list.selected)
        run_list.show(list(self.runs.values()))
        self.refresh_watched()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"
        self.call_after_refresh(self.keep_focus_in_view)

    def keep_focus_in_view(self) -> None:
        """No hidden widget keeps the keyboard: when the focused one left the screen (its tab
        closed, a dialog gave focus back to a hidden filter), the run list takes it."""
        focused = self.focused
        if focused is None or not focused.display or not focused.region.area:
            self.query_one(RunList).focus()

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self.keep_focus_in_view)

    def may_change(self, what: str) -> bool:
        """False, after saying why, when this dashboard only watches (``--read_only``, and the
        web dashboard unless started with ``--allow_actions``)."""
        if self.app.read_only:
            self.tell(
                f"this dashboard only watches: it does not {what}; start it without --read_only "
                "(or --web with --allow_actions) for that",
                severity="warning",
            )
        return not self.app.read_only

    def stopped_selection(self) -> RunInfo | None:
        """The selected run if it is not running (a running one is changed by no one but itself)."""
        info = self.selected_info()
        if info is not None and info.status == "running":
            self.tell(f"{info.name} is running: cancel it first (c)", severity="warning")
            return None
        return info

    def action_delete_run(self) -> None:
        if not self.may_change("delete runs"):
            return
        info = self.stopped_selection()
        if info is None:
            return

        def deleted(_: None) -> None:
            self.forget(info.name)
            self.tell(f"deleted {info.name}")

        def answered(yes: bool | None) -> None:
            if yes:  # a run of 1 GB of checkpoints takes a while: never on the screen's thread
                self.act(lambda: self.control.delete(info.name), "could not delete", deleted)

        question = f"Delete run {info.name}, with its checkpoints and logs?"
        self.app.push_screen(Confirm(question, yes="Delete"), answered)

    @work(thread=True, group="files")
    def act(self, do: Callable[[], Any], failed: str, then: Callable[[Any], None]) -> None:
        """Do ``do`` (one of the controller's: it touches files or starts a process) in a worker,
        then ``then`` with what it returned on the screen's thread; its one sentence, titled
        ``failed``, where it raised."""
        try:
            done = do()
        except (DigitnetError, OSError) as error:
            self.app.call_from_thread(self.tell, str(error), title=failed, severity="error")
            return
        self.app.call_from_thread(then, done)

    def action_rename_run(self) -> None:
        if not self.may_change("rename runs"):
            return
        info = self.stopped_selection()
        if info is None:
            return

        def renamed(new: str) -> None:
            self.forget(info.name)
            self.pending = new
            self.tell(f"renamed {info.name} to {new}")

        def answered(new: str | None) -> None:
            if new and new != info.name:
                self.act(lambda: self.control.rename(info, new) or new, "could not rename", renamed)

        self.app.push_screen(AskName(f"New name for {info.name}:", info.name, check_name), answered)

    def forget(self, name: str) -> None:
        """Drop what was read of a run that was renamed or deleted, and show the list again."""
        self.views.pop(name, None)
        self.watcher.forget(name)
        self.query_one(RunList).compared.discard(name)
        self.look()

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
        if event.value:  # an active filter is always in view (Esc clears it)
            event.input.add_class("shown")
        self.show()
        self.look()  # a study named: its summary line is read with the folders

    @on(RunsTable.Chosen)
    def _chosen_in_table(self, message: RunsTable.Chosen) -> None:
        self.query_one(RunList).select(message.name)
        self.action_show_tab("live")

    def action_clone_run(self) -> None:
        """The New-run form, filled with the selected run's settings."""
        info = self.selected_info()
        if info is None:
            self.tell("select a run to start a new one from", severity="warning")
            return
        spec = LaunchSpec.from_run(info.settings, info.dataset, info.max_epochs)
        self.action_show_tab("launch")
        self.query_one(LaunchForm).fill(spec)
        self.tell(f"{info.name}'s settings: change what you like, then Start")

    def action_note_run(self) -> None:
        """A note and #tags for the selected run (kept in its notes.json)."""
        if not self.may_change("keep notes"):
            return
        info = self.selected_info()
        if info is None:
            return

        def answered(text: str | None) -> None:
            if text is not None:
                keep = lambda: self.control.keep_note(info, text)  # noqa: E731
                self.act(keep, "could not keep the note", lambda _: self.look())

        # shown escaped, as the run list shows it: a planted note's escapes never reach a terminal
        current = printable(info.note) or " ".join(f"#{tag}" for tag in info.tags)
        question = f"A note for {info.name} (#words are tags, filter with /tag:word):"
        self.app.push_screen(AskName(question, current, check_note), answered)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.remove_class("shown")
        self.query_one(RunList).focus()

    # -- charts: the keys act on the charts pane's settings ------------------------------------
    def action_next_chart(self) -> None:
        self.action_show_tab("live")
        self.query_one(ChartsPane).next_chart()

    def action_show_chart(self, name: str) -> None:
        self.query_one(ChartsPane).chosen = name

    def action_log_scale(self) -> None:
        self.query_one(ChartsPane).toggle_log()

    def action_x_axis(self) -> None:
        self.query_one(ChartsPane).next_axis()

    def action_smooth(self, direction: int) -> None:
        self.query_one(ChartsPane).smoother(direction)

    def action_zoom(self, factor: float) -> None:
        self.query_one(ChartsPane).zoom(factor)

    def action_pan(self, fraction: float) -> None:
        self.query_one(ChartsPane).pan(fraction)

    def action_reset_view(self) -> None:
        self.query_one(ChartsPane).reset()

    def action_cursor(self, direction: int) -> None:
        self.query_one(ChartsPane).move_cursor(direction)

    def on_resize(self) -> None:
        """Short tab labels where the full ones would not fit (all nine show at 80x24)."""
        tabs = self.query_one(TabbedContent)
        full = sum(len(labels[0]) + 2 for labels in TABS.values())
        short = tabs.size.width < full
        for tab, labels in TABS.items():
            tabs.get_tab(f"tab-{tab}").label = labels[1] if short else labels[0]
        tabs.set_class(short, "short-tabs")

    def action_study_view(self) -> None:
        """The next view of the study the filter names (in the Runs tab)."""
        study = self.query_one(StudyView)
        if not study.display:
            self.tell(
                "filter the runs by a study (/study:NAME) to see its views", severity="warning"
            )
            return
        self.action_show_tab("runs")
        study.next_view()

    def action_focus_runs(self) -> None:
        """Esc: back to the run list; it hides the charts' cursor first, then the filter."""
        box = self.query_one("#filter", Input)
        if self.query_one(ChartsPane).cursor_off():
            pass
        elif box.has_focus or box.value:  # no filter
            box.value = ""
            box.remove_class("shown")
        self.query_one(RunList).focus()
