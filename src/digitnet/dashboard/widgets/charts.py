"""Provides the Live tab's charts: loss, accuracy, learning rate and the process's CPU and memory,
each able to overlay up to eight runs, and :class:`ChartsPane`, which lays them out for the room
there is.

A chart is a header line over a textual-plot ``PlotWidget``. The header is the legend (a colour
per run, kept for the session), or, while the cursor is on, the value of every shown series at
the cursor's x. What is drawn is worked out by :mod:`digitnet.dashboard.plotting` (x axis,
smoothing, log scale, zoom, ticks); the plot is given explicit limits and ticks, so the last epoch
is always labelled and nothing is drawn past the frame. textual-plot's own zoom and pan are off:
the keys and the mouse wheel act on :class:`~digitnet.dashboard.plotting.ChartSettings`, shared by
all charts.

Layout (:class:`ChartsPane`): where the pane is short or narrow (80x24), one chart at a time,
chosen with ``g`` or a click on its name; where there is room (120x40 and up), the chosen chart
takes the top three fifths at full width and the next two share the rest side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static
from textual_plot import HiResMode, PlotWidget
from textual_plot.axis_formatter import AxisFormatter

from digitnet.dashboard import plotting
from digitnet.dashboard.plotting import ChartSettings, Line
from digitnet.dashboard.state import RunView
from digitnet.dashboard.widgets.run_list import cut_middle, short_names
from digitnet.text import printable

PALETTE = (  # a run's colour, kept for the session
    "bright_cyan",
    "bright_magenta",
    "bright_yellow",
    "bright_green",
    "dodger_blue1",
    "orange1",
    "orchid1",
    "bright_white",
    "salmon1",
)
RAW = "grey42"  # the raw training loss, behind its moving average in the run's colour
CHARTS = ("loss", "accuracy", "lr", "metrics", "system")
TITLES = {
    "loss": "Loss",
    "accuracy": "Accuracy",
    "lr": "Learning rate",
    "metrics": "Other metrics",
    "system": "System",
}


@dataclass(frozen=True)
class Shown:
    """A run on the charts: its name, what is known of it, and its colour."""

    name: str
    view: RunView
    color: str


class TickFormatter(AxisFormatter):
    """Labels for ticks chosen by :func:`plotting.nice_ticks`: plain numbers, ``m:ss`` on the
    time axis, or ``10^v`` written out on a log axis (``0.01``, ``0.1``, ``1``)."""

    def __init__(self, kind: str = "plain") -> None:
        self.kind = kind

    def get_ticks(self, min_: float, max_: float, max_ticks: int = 8) -> list[float]:
        return plotting.nice_ticks(min_, max_, max_ticks)

    def get_labels_for_ticks(self, ticks) -> list[str]:
        if self.kind == "time":
            return [plotting.duration(t) for t in ticks]
        if self.kind == "log":
            return [f"{10**t:.3g}" for t in ticks]
        spacing = min((b - a for a, b in zip(ticks, ticks[1:])), default=1.0) or 1.0
        digits = max(0, -math.floor(math.log10(spacing)) + (0 if spacing >= 1 else 1))
        digits = 0 if all(float(t).is_integer() for t in ticks) else min(digits, 6)
        return [f"{t:,.{digits}f}" if abs(t) < 1e6 else f"{t:.2g}" for t in ticks]


class RunPlot(PlotWidget):
    """textual-plot's widget with its own zoom, pan and focus off: the chart owns them."""

    can_focus = False

    class Wheel(Message):
        """The wheel turned over the plot at data x ``x``: ``factor`` < 1 zooms in."""

        def __init__(self, x: float | None, factor: float) -> None:
            super().__init__()
            self.x, self.factor = x, factor

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_pan_and_zoom=False, **kwargs)

    def data_x(self, event: events.MouseEvent) -> float | None:
        """The data x under the mouse, or None outside the plot's frame."""
        left, top = self.content_region.x + self.margin_left, self.content_region.y
        if event.screen_x < left:
            return None
        x, _ = self.get_coordinate_from_pixel(event.screen_x - left, event.screen_y - top)
        return x if math.isfinite(x) else None

    @on(events.MouseScrollDown)
    def _wheel_down(self, event: events.MouseScrollDown) -> None:
        self.post_message(self.Wheel(self.data_x(event), 0.8))

    @on(events.MouseScrollUp)
    def _wheel_up(self, event: events.MouseScrollUp) -> None:
        self.post_message(self.Wheel(self.data_x(event), 1.25))


class Chart(Vertical):
    """A header line over a plot of some runs' series; redrawn only when what it shows changed."""

    kind = "loss"
    shown_key: reactive[tuple] = reactive((), init=False)

    class CursorAt(Message):
        """The user clicked the plot at data x ``x``: the cursor goes there."""

        def __init__(self, x: float) -> None:
            super().__init__()
            self.x = x

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs: list[Shown] = []
        self.settings = ChartSettings()
        self.lines: list[Line] = []
        self.full: tuple[float, float] = (0.0, 1.0)
        self.window: tuple[float, float] = (0.0, 1.0)

    def compose(self) -> ComposeResult:
        yield Static(classes="chart-header")
        yield RunPlot()

    def on_mount(self) -> None:
        plot = self.query_one(RunPlot)
        plot.margin_top, plot.margin_bottom = 0, 1  # what and which axis: the header says
        plot.set_xlabel("")
        plot.set_ylabel("")
        plot.show_legend(is_visible=False)

    def show(self, runs: list[Shown], settings: ChartSettings) -> None:
        """Show ``runs`` (the selected one last: drawn on top) through ``settings``."""
        self.runs, self.settings = runs, settings
        self.shown_key = (
            settings,
            tuple((run.name, run.color, self.points_key(run.view)) for run in runs),
            self.size,
        )

    def on_resize(self) -> None:
        if self.runs:
            self.show(self.runs, self.settings)

    def points_key(self, view: RunView) -> tuple:
        """What of ``view`` this chart draws; it redraws when this changes."""
        return tuple(len(getattr(view, name)) for name in self.series_names) + (
            view.diverged_at,
            view.max_epochs,
            view.steps_per_epoch,
            len(view.epoch_rows),  # the epoch axis is laid on the recorded epoch ends
        )

    series_names: tuple[str, ...] = ("train_loss", "val_loss")

    def lines_of(self, run: Shown, several: bool) -> list[Line]:
        """The lines of one run."""
        raise NotImplementedError

    def watch_shown_key(self) -> None:
        self.redraw()

    def short_name(self, run: Shown) -> str:
        """The run's name as the cursor's readout names it in a comparison: the part that tells
        it from the others (:func:`short_names`)."""
        names = [printable(shown.name) for shown in self.runs]
        return dict(zip(names, short_names(names, 16))).get(printable(run.name), run.name)

    def redraw(self) -> None:
        plot = self.query_one(RunPlot)
        settings, several = self.settings, len(self.runs) > 1
        self.lines = [line for run in self.runs for line in self.lines_of(run, several)]
        if settings.log_loss and self.kind != "loss":  # l: a log axis wherever all are positive
            self.lines = plotting.as_log(self.lines)
        ends = [plotting.planned_end(run.view, settings.x_axis) for run in self.runs]
        self.full = plotting.full_range(self.lines, ends)
        newest = max((line.xs[-1] for line in self.lines if line.xs), default=0.0)
        self.window = plotting.x_window(settings, self.full, newest)
        plot.clear()
        for line in self.lines:
            if not line.xs:
                continue
            if line.marker:
                plot.scatter(line.xs, line.ys, marker=line.marker, marker_style=line.style)
            else:
                xs, ys = plotting.thin(line.xs, line.ys)
                plot.plot(xs, ys, line_style=line.style, hires_mode=HiResMode.BRAILLE)
        for run in self.runs:
            x = self.diverged_x(run)
            if x is not None:
                plot.add_v_line(x, line_style="bold red")
        if settings.cursor is not None:
            plot.add_v_line(settings.cursor, line_style="grey70")
        self.set_axes(plot)
        self.query_one(".chart-header", Static).update(self.header())

    def diverged_x(self, run: Shown) -> float | None:
        view = run.view
        if view.diverged_at is None:
            return None
        time = view.train_loss.times[-1] if view.train_loss.times else 0.0
        return plotting.x_of(view, [float(view.diverged_at)], [time], self.settings.x_axis)[0]

    def set_axes(self, plot: RunPlot) -> None:
        """Limits and ticks: x from the window's start to a little past its end, so the newest
        point lies inside the frame (which is drawn over the lines) and the last tick's label,
        centred on it, fits; y over the points in view."""
        low, high = self.window
        width = max(4, self.size.width - plot.margin_left)
        height = max(1, self.size.height - 2)
        axis = self.settings.x_axis
        formatter = TickFormatter("time" if axis == "time" else "plain")
        whole = axis == "epochs" and high - low >= 2  # zoomed inside an epoch: fractions
        x_ticks = plotting.nice_ticks(low, high, max(2, width // 9), whole=whole)
        end_label = formatter.get_labels_for_ticks(x_ticks)[-1] if x_ticks else ""
        cells = len(end_label) // 2 + 1  # the cells the last label needs past its tick
        pad = (high - low) * cells / max(1, width - 2 - cells)
        y = plotting.y_range(self.lines, self.window) or (0.0, 1.0)
        plot.set_xlimits(low, high + pad)
        plot.set_ylimits(*y)
        plot.set_x_formatter(formatter)
        plot.set_xticks(x_ticks)
        log = any(line.log for line in self.lines) or (
            self.kind == "loss" and self.settings.log_loss
        )
        plot.set_y_formatter(TickFormatter("log" if log else "plain"))
        most = max(2, height // 3)
        y_ticks = (
            plotting.log_ticks(y[0], y[1], most)
            if log
            else plotting.nice_ticks(y[0], y[1], most, end=False)
        )
        plot.set_yticks([t for t in y_ticks if y[0] <= t <= y[1]])

    def header(self) -> Text:
        """The legend (one entry per series of a single run; one colour per run when several,
        names cut in the middle to fit, then the marks' key), or the readout at the cursor; a run
        with no finite point of this chart says so, and where it diverged."""
        width = max(20, self.size.width - 2)
        settings = self.settings
        text = Text()
        text.append(f"{self.chart_title()} ", style="bold")
        if settings.cursor is not None:
            text.append("  " + plotting.format_x(settings.cursor, settings.x_axis), "grey70")
            for line in self.lines:
                point = plotting.value_at(line, settings.cursor)
                if point is not None and line.label:
                    mark = line.marker or "━"
                    text.append("  ")
                    text.append(f"{mark} {line.label} ", style=line.style)  # the run's name too
                    text.append(plotting.format_value(point[1]), style=line.style)
                    if plotting.format_value(point[2]) != plotting.format_value(point[1]):
                        text.append(f" (raw {plotting.format_value(point[2])})", style="grey50")
        elif len(self.runs) > 1:
            key = self.marks_key()
            lines = 1 if len(self.runs) <= 3 else 3  # the header wraps to three lines at most
            room = width * lines - len(self.chart_title()) - len(key) - 5 * len(self.runs)
            names = [printable(run.name) for run in self.runs]
            labels = short_names(names, max(6, room), total=max(6 * len(names), room))
            for run, label in zip(self.runs, labels):  # spaces inside the styled parts: SVG
                text.append("  ")  # export drops leading ones
                text.append("━ ", style=run.color)
                text.append(label)
            text.append(key, style="grey70")
        else:
            for line in self.lines:
                if line.label:
                    text.append("  ")
                    text.append(f"{line.marker or '━'} ", style=line.style)
                    text.append(line.label)
        for run in self.runs:
            view = run.view
            if view.diverged_at is not None:
                where = f"update {view.diverged_at:,}"
                empty = not any(len(getattr(view, name)) for name in self.series_names)
                name = cut_middle(printable(run.name), 30)
                text.append("\n" + (f"{name}: " if len(self.runs) > 1 else ""))
                text.append(
                    f"no finite value: diverged at {where}" if empty else f"│ diverged at {where}",
                    style="bold red",
                )
        return text

    def marks_key(self) -> str:
        """What the marks mean when every run has one colour: ``  (━ train ● val)``."""
        return ""

    def chart_title(self) -> str:
        return TITLES.get(self.kind, self.kind)

    @on(events.Click)
    def _clicked(self, event: events.Click) -> None:
        x = self.query_one(RunPlot).data_x(event)
        if x is not None and self.window[0] <= x <= self.window[1] * 1.02:
            self.post_message(self.CursorAt(x))


class LossChart(Chart):
    """Training loss per logged update (raw, faint, under its moving average) and validation
    loss per epoch (dots)."""

    kind = "loss"
    series_names = ("train_loss", "val_loss")

    def marks_key(self) -> str:
        return "  (━ train ● val)"

    def lines_of(self, run: Shown, several: bool) -> list[Line]:
        settings, log = self.settings, self.settings.log_loss
        name = f"{self.short_name(run)} " if several else ""
        lines = []
        if settings.smoothing:
            raw = plotting.line_of(run.view, run.view.train_loss, settings, RAW, "", log=log)
            lines.append(raw)
        smoothed = plotting.line_of(
            run.view,
            run.view.train_loss,
            settings,
            run.color,
            f"{name}train",
            log=log,
            smoothing=settings.smoothing,
        )
        val_style = f"bold {run.color}" if several else "bold white"
        val = plotting.line_of(
            run.view, run.view.val_loss, settings, val_style, f"{name}val", log=log, marker="●"
        )
        return [*lines, smoothed, val]


class AccuracyChart(Chart):
    """Validation accuracy (percent) per epoch."""

    kind = "accuracy"
    series_names = ("val_acc",)

    def header(self) -> Text:
        """Say why a run without a validation split draws nothing here."""
        unvalidated = [
            run
            for run in self.runs
            if not len(run.view.val_acc)
            and (run.view.config.get("data") or {}).get("val_size") == 0
        ]
        if self.runs and len(unvalidated) == len(self.runs):
            text = Text()
            text.append(f"{self.chart_title()} ", style="bold")
            text.append("no validation split (--data.val_size 0): the test accuracy is in Details")
            return text
        return super().header()

    def lines_of(self, run: Shown, several: bool) -> list[Line]:
        label = self.short_name(run) if several else "val accuracy %"
        view, settings = run.view, self.settings
        line = plotting.line_of(view, view.val_acc, settings, run.color, label, scale=100.0)
        dots = plotting.line_of(
            view, view.val_acc, settings, f"bold {run.color}", "", 100.0, marker="•"
        )
        return [line, dots]


class RateChart(Chart):
    """The learning rate of each logged update: the schedule the run follows."""

    kind = "lr"
    series_names = ("lr",)

    def lines_of(self, run: Shown, several: bool) -> list[Line]:
        label = self.short_name(run) if several else "learning rate"
        return [plotting.line_of(run.view, run.view.lr, self.settings, run.color, label)]


class CpuChart(Chart):
    """The training process's CPU use (percent of one core) over the run's whole life."""

    kind = "cpu"
    series_names = ("cpu_percent",)

    def chart_title(self) -> str:
        return "CPU %"

    def lines_of(self, run: Shown, several: bool) -> list[Line]:
        label = self.short_name(run) if several else "training process"
        return [plotting.line_of(run.view, run.view.cpu_percent, self.settings, run.color, label)]


class MemoryChart(Chart):
    """The training process's resident memory (GB) over the run's whole life."""

    kind = "memory"
    series_names = ("rss_mb",)

    def chart_title(self) -> str:
        return "Memory GB"

    def lines_of(self, run: Shown, several: bool) -> list[Line]:
        label = self.short_name(run) if several else "training process"
        view = run.view
        return [plotting.line_of(view, view.rss_mb, self.settings, run.color, label, 1 / 1024)]


class MetricsChart(Chart):
    """Every other metric a run logged (``self.log`` in a user's own LightningModule or
    callback), one line each, at the update counts it was logged at: nothing to write in the
    dashboard for a new metric to be drawn."""

    kind = "metrics"
    series_names = ()

    def points_key(self, view: RunView) -> tuple:
        return tuple((name, len(series)) for name, series in sorted(view.extra.items())) + (
            view.max_epochs,
            view.steps_per_epoch,
            len(view.epoch_rows),
        )

    def lines_of(self, run: Shown, several: bool) -> list[Line]:
        lines = []
        for i, (name, series) in enumerate(sorted(run.view.extra.items())):
            label = f"{self.short_name(run)} {name}" if several else name
            style = run.color if several else PALETTE[i % len(PALETTE)]
            lines.append(plotting.line_of(run.view, series, self.settings, style, label))
        return lines

    def header(self) -> Text:
        if not any(run.view.extra for run in self.runs):
            text = Text()
            text.append(f"{self.chart_title()} ", style="bold")
            text.append("none logged: a metric your own code logs with self.log appears here")
            return text
        return super().header()


class SystemCharts(Vertical):
    """CPU over memory: the ``system`` slot of the pane."""

    def compose(self) -> ComposeResult:
        yield CpuChart(id="chart-cpu")
        yield MemoryChart(id="chart-memory")


SHORT_TITLES = {"loss": "Loss", "accuracy": "Acc", "lr": "LR", "metrics": "More", "system": "Sys"}


class ChartChooser(Static):
    """``Loss  Accuracy  Learning rate  System   x: epochs  linear  smooth 0.6``: the charts,
    the chosen one marked (a click chooses), and how they are looked at."""

    chosen: reactive[str] = reactive("loss")
    about: reactive[str] = reactive("")

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        titles = TITLES if self.size.width >= 70 else SHORT_TITLES
        for name in CHARTS:
            style = "bold reverse" if name == self.chosen else "underline"
            click = Style(meta={"@click": f"screen.show_chart('{name}')"})
            text.append(f"{titles[name]}", style=Style.parse(style) + click)
            text.append(" ")
        text.append(f" {self.about}", style="grey70")
        return text


class ChartsPane(Vertical):
    """The charts, laid out for the room: one at a time when it is tight, else the chosen one
    large over the next two (see the module docstring)."""

    chosen: reactive[str] = reactive("loss", init=False)
    roomy: reactive[bool] = reactive(False, init=False)
    ROOMY = (70, 26)  # the least width and height (cells) for the three-chart layout

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.settings = ChartSettings()
        self.runs: list[Shown] = []

    def compose(self) -> ComposeResult:
        yield ChartChooser(id="chooser")
        with Grid(id="chart-grid"):
            yield LossChart(id="chart-loss", classes="slot")
            yield AccuracyChart(id="chart-accuracy", classes="slot")
            yield RateChart(id="chart-lr", classes="slot")
            yield MetricsChart(id="chart-metrics", classes="slot")
            yield SystemCharts(id="chart-system", classes="slot")

    def on_mount(self) -> None:
        self.query_one(ChartChooser).about = plotting.settings_text(self.settings, self.chosen)
        self.lay_out()

    def on_resize(self) -> None:
        width, height = self.size
        self.roomy = width >= self.ROOMY[0] and height >= self.ROOMY[1]

    def watch_chosen(self) -> None:
        chooser = self.query_one(ChartChooser)
        chooser.chosen, chooser.about = (
            self.chosen,
            plotting.settings_text(self.settings, self.chosen),
        )
        self.lay_out()
        self.show()

    def watch_roomy(self) -> None:
        self.lay_out()
        self.show()

    def order(self) -> list[str]:
        """The slots in the order shown: the chosen chart, then the next ones."""
        at = CHARTS.index(self.chosen)
        return [CHARTS[(at + i) % len(CHARTS)] for i in range(len(CHARTS))]

    def lay_out(self) -> None:
        grid = self.query_one("#chart-grid", Grid)
        order = self.order()
        shown = order[:3] if self.roomy else order[:1]
        for i, name in enumerate(order):
            slot = self.query_one(f"#chart-{name}")
            if i > 0:
                grid.move_child(slot, after=self.query_one(f"#chart-{order[i - 1]}"))
            slot.display = name in shown
            slot.styles.column_span = 2 if i == 0 else 1
        grid.styles.grid_rows = "3fr 2fr" if self.roomy else "1fr"

    def next_chart(self) -> str:
        self.chosen = self.order()[1]
        return self.chosen

    def charts(self) -> list[Chart]:
        """The charts on screen now."""
        return [chart for chart in self.query(Chart) if chart.parent.display and chart.display]

    def show(self, runs: list[Shown] | None = None) -> None:
        """Show ``runs`` (the selected one last) on the charts on screen, or the same runs again
        after the settings changed."""
        if runs is not None:
            self.runs = runs
        for chart in self.charts():
            chart.show(self.runs, self.settings)

    def main_chart(self) -> Chart:
        name = self.chosen if self.chosen != "system" else "cpu"
        return self.query_one(f"#chart-{name}", Chart)

    # -- the viewer's settings, changed by keys and the mouse -----------------------------------
    def change(self, settings: ChartSettings) -> None:
        self.settings = settings
        self.query_one(ChartChooser).about = plotting.settings_text(settings, self.chosen)
        self.show()

    def toggle_log(self) -> None:
        self.change(replace(self.settings, log_loss=not self.settings.log_loss))

    def next_axis(self) -> None:
        self.change(self.settings.next_axis())

    def smoother(self, direction: int) -> None:
        self.change(self.settings.smoother(direction))

    def zoom(self, factor: float, at: float | None = None) -> None:
        """Zoom the x axis by ``factor`` (below 1: in), around ``at`` where the mouse is."""
        chart = self.main_chart()
        settings = self.settings.zoomed(chart.full, factor)
        if at is not None and settings.window is not None and factor < 1:
            low, high = settings.window
            width = high - low
            low = min(max(chart.full[0], at - width / 2), chart.full[1] - width)
            settings = replace(settings, window=(low, low + width), follow=False)
        self.change(settings)

    def pan(self, fraction: float) -> None:
        self.change(self.settings.panned(self.main_chart().full, fraction))

    def reset(self) -> None:
        self.change(self.settings.reset())

    def move_cursor(self, direction: int) -> None:
        """Move the cursor a fiftieth of the window (it starts at the newest point)."""
        low, high = self.main_chart().window
        cursor = self.settings.cursor
        if cursor is None:
            cursor = high
        else:
            cursor = min(high, max(low, cursor + direction * (high - low) / 50))
        self.change(replace(self.settings, cursor=cursor))

    def cursor_off(self) -> bool:
        """Hide the cursor; False if it was not shown."""
        if self.settings.cursor is None:
            return False
        self.change(replace(self.settings, cursor=None))
        return True

    @on(Chart.CursorAt)
    def _cursor_at(self, message: Chart.CursorAt) -> None:
        self.change(replace(self.settings, cursor=message.x))

    @on(RunPlot.Wheel)
    def _wheel(self, message: RunPlot.Wheel) -> None:
        self.zoom(message.factor, message.x)
