"""Provides the loss and accuracy charts, each able to overlay several runs.

The x axis is epochs: a training-loss point logged at step 391 of a run with 782 steps per epoch
sits at x = 0.5; validation points sit at the end of their epoch (x = 1, 2, ...). A chart is a
textual-plot ``PlotWidget`` under a one-line legend of our own: textual-plot's legend floats
over the plot and is laid out again with every line added, the largest cost of a redraw while a
run trains, so it stays hidden and :class:`Legend` says which colour is which run.

The y axis of a series with one point, or of a flat one, gets a margin, so a single loss of
0.2891 reads 0.27-0.31 rather than an axis from 0.2891520 to 0.2891535::

    >>> y_span([0.2891527])
    (0.2746950..., 0.3036103...)
    >>> y_span([97.5, 97.5, 97.5])
    (92.625, 102.375)
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static
from textual_plot import HiResMode, PlotWidget

from digitnet.dashboard.state import RunView

MOST_POINTS = 400  # per line; see thin()
COLORS = (
    "bright_cyan",
    "bright_magenta",
    "bright_yellow",
    "bright_green",
    "bright_red",
    "bright_blue",
)


def epoch_span(runs: list[tuple[str, RunView]]) -> float:
    """The x range to show: every run's planned epochs, or further if a run went past them."""
    ends = [float(view.max_epochs or 1) for _, view in runs]
    ends += [view.val_epochs[-1] for _, view in runs if view.val_epochs]
    return max(ends, default=1.0)


def y_span(values: list[float]) -> tuple[float, float] | None:
    """The y range to show: the data's, widened by 5% of its size where it is (nearly) flat."""
    if not values:
        return None
    low, high = min(values), max(values)
    if high - low > 1e-6 * max(1.0, abs(high)):
        return None  # textual-plot's own scaling
    margin = 0.05 * max(abs(high), 1e-3)
    return low - margin, high + margin


def thin(
    xs: list[float], ys: list[float], most: int = MOST_POINTS
) -> tuple[list[float], list[float]]:
    """At most ``most`` points: means of runs of consecutive points, so a long run's line costs no
    more to draw than a short one's (a chart is at most a few hundred braille dots wide).

        >>> thin([0, 1, 2, 3, 4, 5], [1.0, 3.0, 2.0, 4.0, 3.0, 5.0], most=3)
        ([0.5, 2.5, 4.5], [2.0, 3.0, 4.0])
    """
    if len(xs) <= most:
        return xs, ys
    size = -(-len(xs) // most)
    groups = range(0, len(xs), size)
    return (
        [sum(xs[i : i + size]) / len(xs[i : i + size]) for i in groups],
        [sum(ys[i : i + size]) / len(ys[i : i + size]) for i in groups],
    )


class Legend(Static):
    """One line: a coloured mark and a label per series, e.g. ``━ train loss  ● val loss``."""

    entries: reactive[tuple[tuple[str, str, str], ...]] = reactive(())  # (mark, style, label)

    def watch_entries(self, entries: tuple[tuple[str, str, str], ...]) -> None:
        text = Text()
        for mark, style, label in entries:
            text.append(mark, style=style).append(f" {label}  ")  # labels come from run folders
        self.update(text, layout=False)


class RunChart(Vertical):
    """A legend over a plot of some runs; :meth:`show_runs` redraws only when the points changed.

    ``key`` is what the chart shows (the runs, and how many points each has); a ``reactive``
    compares it with the last one, so the plot is drawn again only when it changed.
    """

    key: reactive[tuple] = reactive((), init=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs: list[tuple[str, RunView]] = []

    def compose(self) -> ComposeResult:
        yield Legend(classes="legend")
        yield PlotWidget()

    def on_mount(self) -> None:
        self.query_one(PlotWidget).show_legend(is_visible=False)

    def show_runs(self, runs: list[tuple[str, RunView]]) -> None:
        self.runs = runs
        self.key = self.points_key(runs)

    def watch_key(self) -> None:
        plot = self.query_one(PlotWidget)
        plot.clear()
        self.query_one(Legend).entries = tuple(self.draw(plot, self.runs))

    def points_key(self, runs: list[tuple[str, RunView]]) -> tuple:
        """What the chart shows of ``runs``; it redraws when this changes."""
        raise NotImplementedError

    def draw(self, plot: PlotWidget, runs: list[tuple[str, RunView]]) -> list[tuple[str, str, str]]:
        """Plot ``runs``; return the legend's entries."""
        raise NotImplementedError


class LossChart(RunChart):
    """Training loss per logged step and validation loss per epoch."""

    def points_key(self, runs: list[tuple[str, RunView]]) -> tuple:
        return tuple(
            (name, len(v.train_steps), len(v.val_epochs), v.max_epochs, v.steps_per_epoch)
            for name, v in runs
        )

    def draw(self, plot: PlotWidget, runs: list[tuple[str, RunView]]) -> list[tuple[str, str, str]]:
        several, legend, ys = len(runs) > 1, [], []
        for i, (name, view) in enumerate(runs):
            color = COLORS[i % len(COLORS)]
            per_epoch = view.steps_per_epoch or 1
            if view.train_steps:
                xs = [s / per_epoch for s in view.train_steps]
                plot.plot(
                    *thin(xs, view.train_losses), line_style=color, hires_mode=HiResMode.BRAILLE
                )
                legend.append(("━", color, f"{name} train" if several else "train loss"))
                ys += view.train_losses
            if view.val_epochs:
                style = f"bold {color}" if several else "bold white"
                plot.scatter(view.val_epochs, view.val_losses, marker_style=style, marker="●")
                legend.append(("●", style, f"{name} val" if several else "val loss"))
                ys += view.val_losses
        finish(plot, runs, ys, "loss")
        return legend


class AccuracyChart(RunChart):
    """Validation accuracy (percent) per epoch."""

    def points_key(self, runs: list[tuple[str, RunView]]) -> tuple:
        return tuple((name, len(v.val_epochs), v.max_epochs) for name, v in runs)

    def draw(self, plot: PlotWidget, runs: list[tuple[str, RunView]]) -> list[tuple[str, str, str]]:
        legend, ys = [], []
        for i, (name, view) in enumerate(runs):
            if view.val_epochs:
                color = COLORS[i % len(COLORS)]
                accs = [100 * a for a in view.val_accs]
                plot.plot(view.val_epochs, accs, line_style=color, hires_mode=HiResMode.BRAILLE)
                legend.append(("━", color, name if len(runs) > 1 else "val accuracy %"))
                ys += accs
        finish(plot, runs, ys, "val acc %")
        return legend


def finish(plot: PlotWidget, runs: list[tuple[str, RunView]], ys: list[float], ylabel: str) -> None:
    plot.set_xlimits(0, epoch_span(runs))
    plot.set_ylimits(*(y_span(ys) or (None, None)))
    plot.set_xlabel("epoch")
    plot.set_ylabel(ylabel)
