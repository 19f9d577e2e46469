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

COLORS = ("bright_cyan", "bright_magenta", "bright_yellow", "bright_green", "bright_red", "bright_blue")


class LossChart(PlotWidget):
    """Training loss per logged step and validation loss per epoch."""

    def show_runs(self, runs: list[tuple[str, RunView]]) -> None:
        self.clear()
        several = len(runs) > 1
        for i, (name, view) in enumerate(runs):
            color = COLORS[i % len(COLORS)]
            per_epoch = view.steps_per_epoch or 1
            if view.train_steps:
                label = f"{name} train" if several else "train loss"
                self.plot([s / per_epoch for s in view.train_steps], view.train_losses, line_style=color,
                          hires_mode=HiResMode.BRAILLE, label=label)
            if view.val_epochs:
                label = f"{name} val" if several else "val loss"
                self.scatter(view.val_epochs, view.val_losses, marker_style=f"bold {color}" if several else "bold white",
                             hires_mode=None, label=label, marker="●")
        self.set_xlimits(0, epoch_span(runs))
        self.set_xlabel("epoch")
        self.set_ylabel("loss")
        self.show_legend(LegendLocation.TOPRIGHT)


class AccuracyChart(PlotWidget):
    """Validation accuracy (percent) per epoch."""

    def show_runs(self, runs: list[tuple[str, RunView]]) -> None:
        self.clear()
        for i, (name, view) in enumerate(runs):
            if view.val_epochs:
                self.plot(view.val_epochs, [100 * a for a in view.val_accs], line_style=COLORS[i % len(COLORS)],
                          hires_mode=HiResMode.BRAILLE, label=name if len(runs) > 1 else "val accuracy %")
        self.set_xlimits(0, epoch_span(runs))
        self.set_xlabel("epoch")
        self.set_ylabel("val acc %")
        self.show_legend(LegendLocation.BOTTOMRIGHT, is_visible=len(runs) > 1)
