"""Provides the loss and accuracy charts (textual-plot), each able to overlay several runs.

The x axis is epochs: a training-loss point logged at step 391 of a run with 782 steps per epoch
sits at x = 0.5; validation points sit at the end of their epoch (x = 1, 2, ...).
"""

from __future__ import annotations

from textual_plot import HiResMode, LegendLocation, PlotWidget

from digitnet.dashboard.state import RunView


def epoch_span(runs: list[tuple[str, RunView]]) -> float:
    """The x range to show: every run's planned epochs, or further if a run went past them."""
    ends = [float(view.max_epochs or 1) for _, view in runs]
    ends += [view.val_epochs[-1] for _, view in runs if view.val_epochs]
    return max(ends, default=1.0)


MOST_POINTS = 400  # per line; see thin()
COLORS = (
    "bright_cyan",
    "bright_magenta",
    "bright_yellow",
    "bright_green",
    "bright_red",
    "bright_blue",
)


class RunChart(PlotWidget):
    """A PlotWidget that redraws only when its points changed, its legend only when that changed.

    textual-plot rewrites its legend after every dataset added; each rewrite makes Textual lay the
    whole screen out again, the largest cost of a chart redraw while a run trains. ``show_runs``
    holds those rewrites back and makes the one that is needed, if any.
    """

    _holding = False
    _legend_key: tuple = ()
    _shown_key: tuple | None = None

    def _update_legend(
        self,
    ) -> None:  # textual-plot's hook, called by clear(), plot(), scatter(), show_legend()
        if not self._holding:
            super()._update_legend()

    def show_runs(self, runs: list[tuple[str, RunView]]) -> None:
        key = self.key(runs)
        if key == self._shown_key:
            return
        self._shown_key = key
        self._holding = True
        try:
            self.clear()
            self.draw(runs)
        finally:
            self._holding = False
        legend = (
            tuple(self._labels),
            tuple(
                str(getattr(d, "line_style", getattr(d, "marker_style", "")))
                for d in self._datasets
            ),
            self.query_one("#legend").display,
        )
        if legend != self._legend_key:
            self._legend_key = legend
            self._update_legend()

    def key(self, runs: list[tuple[str, RunView]]) -> tuple:
        """What the chart shows of ``runs``; it redraws when this changes."""
        raise NotImplementedError

    def draw(self, runs: list[tuple[str, RunView]]) -> None:
        raise NotImplementedError


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


class LossChart(RunChart):
    """Training loss per logged step and validation loss per epoch."""

    def key(self, runs: list[tuple[str, RunView]]) -> tuple:
        return tuple(
            (name, len(v.train_steps), len(v.val_epochs), v.max_epochs, v.steps_per_epoch)
            for name, v in runs
        )

    def draw(self, runs: list[tuple[str, RunView]]) -> None:
        several = len(runs) > 1
        for i, (name, view) in enumerate(runs):
            color = COLORS[i % len(COLORS)]
            per_epoch = view.steps_per_epoch or 1
            if view.train_steps:
                label = f"{name} train" if several else "train loss"
                self.plot(
                    *thin([s / per_epoch for s in view.train_steps], view.train_losses),
                    line_style=color,
                    hires_mode=HiResMode.BRAILLE,
                    label=label,
                )
            if view.val_epochs:
                label = f"{name} val" if several else "val loss"
                self.scatter(
                    view.val_epochs,
                    view.val_losses,
                    marker_style=f"bold {color}" if several else "bold white",
                    hires_mode=None,
                    label=label,
                    marker="●",
                )
        self.set_xlimits(0, epoch_span(runs))
        self.set_xlabel("epoch")
        self.set_ylabel("loss")
        self.show_legend(LegendLocation.TOPRIGHT)


class AccuracyChart(RunChart):
    """Validation accuracy (percent) per epoch."""

    def key(self, runs: list[tuple[str, RunView]]) -> tuple:
        return tuple((name, len(v.val_epochs), v.max_epochs) for name, v in runs)

    def draw(self, runs: list[tuple[str, RunView]]) -> None:
        for i, (name, view) in enumerate(runs):
            if view.val_epochs:
                self.plot(
                    view.val_epochs,
                    [100 * a for a in view.val_accs],
                    line_style=COLORS[i % len(COLORS)],
                    hires_mode=HiResMode.BRAILLE,
                    label=name if len(runs) > 1 else "val accuracy %",
                )
        self.set_xlimits(0, epoch_span(runs))
        self.set_xlabel("epoch")
        self.set_ylabel("val acc %")
        self.show_legend(LegendLocation.BOTTOMRIGHT, is_visible=len(runs) > 1)
