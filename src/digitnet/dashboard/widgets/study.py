"""Provides :class:`StudyView`: a sweep's study in the Runs tab, in optuna-dashboard's core views.

Shown above the trials' table wherever the filter names one study (``study:lr``); ``v`` cycles
its views:

- **history**: each complete trial's objective (best validation accuracy, ``●``) by trial
  number, and the best so far (a line);
- **one per searched setting**: the setting against the objective (a slice plot; choices are
  placed at 0, 1, 2, ... and named under the plot);
- **importance**: how much each setting mattered, as bars, with what it rests on;
- **epochs**: every trial's validation accuracy per epoch, pruned trials in red (``✂`` where
  they stopped).

Everything comes from ``<study>.sweep.json`` (:func:`digitnet.runs.study.trials`), read by the
watcher's worker with the run folders.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plot import HiResMode

from digitnet.dashboard.widgets.charts import RunPlot
from digitnet.runs.study import Trial, best_so_far, shown
from digitnet.text import printable

COLORS = ("#4ec9f0", "#f0a34e", "#9be37a", "#e37ad6", "#f0e14e", "#7a9be3")


def views_of(found: list[Trial]) -> list[str]:
    """The views a study has: history, one per searched setting, importance, epochs.

    >>> views_of([Trial(0, "complete", 0.9, {"lr": 0.1, "layers": "784-16-10"}, [0.9])])
    ['history', 'setting:layers', 'setting:lr', 'importance', 'epochs']
    """
    settings = sorted({key for trial in found for key in trial.params})
    return ["history", *(f"setting:{key}" for key in settings), "importance", "epochs"]


def slice_points(found: list[Trial], key: str) -> tuple[list[float], list[float], list[str]]:
    """Each complete trial's value of setting ``key`` (a number, or a choice's index) against its
    objective, and the choices' names where the setting is not a number.

    >>> slice_points([Trial(0, "complete", 0.9, {"layers": [784, 16, 10]}, []),
    ...               Trial(1, "complete", 0.95, {"layers": [784, 32, 10]}, [])], "layers")
    ([0.0, 1.0], [90.0, 95.0], ['784-16-10', '784-32-10'])
    """
    done = [t for t in found if t.value is not None and key in t.params]
    values = [t.params[key] for t in done]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values], [100 * t.value for t in done], []
    names = [shown(v) for v in values]
    choices = sorted(set(names))
    return [float(choices.index(n)) for n in names], [100 * t.value for t in done], choices


def limits(values: list[float], pad: float) -> tuple[float, float]:
    """An axis around ``values`` with ``pad`` (a share of their span) each side; one value gets
    a tenth of itself (at least 0.5).

    >>> limits([0.0, 5.0], 0.1), limits([90.0], 0.1), limits([0.03, 0.1], 0.1)
    ((-0.5, 5.5), (81.0, 99.0), (0.023, 0.107))
    """
    low, high = min(values), max(values)
    margin = (high - low) * pad if high > low else max(abs(high) * 0.1, 0.5)
    return round(low - margin, 12), round(high + margin, 12)


def importance_bars(importance: dict[str, float], width: int) -> Text:
    """A line per setting, most important first, a whole bar ``width`` cells:

    >>> print(importance_bars({"lr": 0.25, "layers": 0.75}, 8).plain, end="")
    layers ██████ 0.75
    lr     ██ 0.25
    """
    text = Text()
    if not importance:
        return text
    name_width = max(len(name) for name in importance)
    for name, share in sorted(importance.items(), key=lambda item: -item[1]):
        cells = max(0.0, min(1.0, share)) * width
        bar = "█" * int(cells) + ("▌" if cells - int(cells) >= 0.5 else "")
        text.append(f"{printable(name):<{name_width}} ")
        text.append(bar, style="#4ec9f0")
        text.append(f" {share:.2f}\n")
    return text


class StudyView(Vertical):
    """The study's views, one at a time (``v`` shows the next)."""

    DEFAULT_CSS = """
    StudyView { height: 2fr; min-height: 9; }
    StudyView > #study-title { height: 1; padding: 0 1; }
    StudyView > RunPlot { height: 1fr; }
    StudyView > #study-text { height: 1fr; padding: 0 1; }
    StudyView > #study-foot { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.found: list[Trial] = []
        self.summary_importance: dict[str, float] = {}
        self.importance_note = ""
        self.view = "history"
        self.key: tuple = ()

    def compose(self) -> ComposeResult:
        yield Static("", id="study-title")
        yield RunPlot(id="study-plot")
        yield Static("", id="study-text")
        yield Static("", id="study-foot")

    def show(self, found: list[Trial], importance: dict[str, float], note: str) -> None:
        """Draw the study, where it changed since the last look."""
        key = (tuple((t.number, t.state, t.value, len(t.epochs)) for t in found), self.view)
        key += (tuple(importance.items()), note, self.size)
        if key == self.key:
            return
        self.key = key
        self.found, self.summary_importance, self.importance_note = found, importance, note
        if self.view not in views_of(found):
            self.view = "history"
        self.draw()

    def next_view(self) -> None:
        views = views_of(self.found)
        self.view = views[(views.index(self.view) + 1) % len(views)] if self.view in views else ""
        self.key = ()
        self.draw()

    def draw(self) -> None:
        views = views_of(self.found)
        at = views.index(self.view) + 1 if self.view in views else 1
        name = self.view.removeprefix("setting:")
        title = Text()
        title.append(f"Study · {name} ", style="bold")
        title.append(f"({at}/{len(views)}, v: next view)", style="grey50")
        self.query_one("#study-title", Static).update(title)
        plot = self.query_one(RunPlot)
        text, foot = self.query_one("#study-text", Static), self.query_one("#study-foot", Static)
        plot.clear()
        self.xs: list[float] = []
        self.ys: list[float] = []
        plotted = self.view != "importance"
        plot.display, text.display = plotted, not plotted
        foot.update("")
        if self.view == "history":
            self.draw_history(plot, foot)
        elif self.view.startswith("setting:"):
            self.draw_setting(plot, foot, name)
        elif self.view == "importance":
            bars = importance_bars(self.summary_importance, max(10, self.size.width - 30))
            text.update(bars if bars.plain else Text(self.importance_note or "no importance yet"))
            foot.update(self.importance_note if bars.plain else "")
        else:
            self.draw_epochs(plot, foot)
        if plotted and self.xs:
            plot.set_xlimits(*limits(self.xs, 0.05))
            plot.set_ylimits(*limits(self.ys, 0.1))

    def scatter(self, plot: RunPlot, xs: list[float], ys: list[float], **style: Any) -> None:
        self.xs += xs
        self.ys += ys
        plot.scatter(xs, ys, **style)

    def line(self, plot: RunPlot, xs: list[float], ys: list[float], style: str) -> None:
        self.xs += xs
        self.ys += ys
        plot.plot(xs, ys, line_style=style, hires_mode=HiResMode.BRAILLE)

    def draw_history(self, plot: RunPlot, foot: Static) -> None:
        done = [t for t in self.found if t.value is not None]
        if done:
            xs = [float(t.number) for t in done]
            best = best_so_far(self.found)
            self.line(plot, [float(n) for n, _ in best], [100 * v for _, v in best], "#f0a34e")
            ys = [100 * t.value for t in done]
            self.scatter(plot, xs, ys, marker="●", marker_style="#4ec9f0")
        others = len(self.found) - len(done)
        foot.update(
            "● val acc % by trial; ━ best so far" + (f"; {others} not complete" if others else "")
        )

    def draw_setting(self, plot: RunPlot, foot: Static, key: str) -> None:
        xs, ys, choices = slice_points(self.found, key)
        if xs:
            self.scatter(plot, xs, ys, marker="●", marker_style="#4ec9f0")
        if choices:
            foot.update("  ".join(f"{i}: {c}" for i, c in enumerate(choices)))
        else:
            foot.update(f"● val acc % by {key}")

    def draw_epochs(self, plot: RunPlot, foot: Static) -> None:
        pruned = 0
        for i, trial in enumerate(self.found):
            if not trial.epochs:
                continue
            xs = [float(e + 1) for e in range(len(trial.epochs))]
            ys = [100 * v for v in trial.epochs]
            cut = trial.state == "pruned"
            pruned += cut
            style = "#e05050" if cut else COLORS[i % len(COLORS)]
            if len(xs) > 1:
                self.line(plot, xs, ys, style)
            self.scatter(plot, xs[-1:], ys[-1:], marker="✂" if cut else "●", marker_style=style)
        foot.update(f"val acc % by epoch; {pruned} pruned (red, ✂ where it stopped)")
