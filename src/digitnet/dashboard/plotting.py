"""Provides what the charts draw, worked out without a screen: x axes, smoothing, log scale, zoom,
ticks and the cursor's readout.

A chart shows some runs' series (:class:`~digitnet.dashboard.state.Series`: points at update
counts) through the viewer's :class:`ChartSettings`. Everything here is plain Python, so it is
tested without Textual; the widgets in ``widgets/charts.py`` only hand the results to
textual-plot. Imports neither torch nor textual.

The x axis is one of three, chosen with ``x``::

    updates   the update count (a point logged after update 391 sits at 391)
    epochs    the run's own epochs, from the epoch ends it recorded (391 of 782 updates sits
              at 0.5; the end of epoch 3 at 3.0, however many updates it held)
    time      seconds since the run first started (a resumed run's pause included)

Smoothing is TensorBoard's: an exponential moving average with weight ``s`` on the past, divided
by ``1 - s^n`` so that its start is not pulled towards 0::

    >>> smooth([1.0, 0.0, 0.0], 0.5)
    [1.0, 0.333..., 0.142...]
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace

from digitnet.dashboard.state import RunView, Series

X_AXES = ("epochs", "updates", "time")
SMOOTHING = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)  # what [ and ] step through
MOST_POINTS = 600  # a line never has more: a chart is at most a few hundred braille dots wide


@dataclass(frozen=True)
class ChartSettings:
    """How the viewer looks at the charts: one object shared by all of them.

    ``window`` is the x range zoomed to (None: all of it); while ``follow`` holds, a zoomed
    window slides with the newest point of a live run (zooming keeps it; panning left drops it;
    panning back to the end takes it up again). ``cursor`` is the x the readout is read at.
    """

    x_axis: str = "epochs"
    log_loss: bool = False
    smoothing: float = 0.6
    window: tuple[float, float] | None = None
    follow: bool = True
    cursor: float | None = None

    def next_axis(self) -> ChartSettings:
        """The next x axis; a zoom or cursor of the old one means nothing on the new one."""
        axis = X_AXES[(X_AXES.index(self.x_axis) + 1) % len(X_AXES)]
        return replace(self, x_axis=axis, window=None, follow=True, cursor=None)

    def smoother(self, direction: int) -> ChartSettings:
        """One step along :data:`SMOOTHING` (``+1`` smoother, ``-1`` rougher)."""
        at = min(range(len(SMOOTHING)), key=lambda i: abs(SMOOTHING[i] - self.smoothing))
        at = max(0, min(len(SMOOTHING) - 1, at + direction))
        return replace(self, smoothing=SMOOTHING[at])

    def zoomed(self, full: tuple[float, float], factor: float) -> ChartSettings:
        """The window ``factor`` times as wide (0.5: zoom in), around its middle or, when it
        follows a live run, its right end; never wider than ``full``."""
        low, high = self.window or full
        width = (high - low) * factor
        if width >= full[1] - full[0]:
            return replace(self, window=None, follow=True)
        width = max(width, (full[1] - full[0]) * 1e-4)
        if self.follow:
            return replace(self, window=(high - width, high))
        middle = (low + high) / 2
        return replace(self, window=(middle - width / 2, middle + width / 2))

    def panned(self, full: tuple[float, float], fraction: float) -> ChartSettings:
        """The window moved by ``fraction`` of its width (negative: left), kept inside ``full``;
        reaching the right end follows the run again."""
        if self.window is None:
            return self
        low, high = self.window
        shift = (high - low) * fraction
        shift = max(full[0] - low, min(full[1] - high, shift))
        window = (low + shift, high + shift)
        return replace(self, window=window, follow=window[1] >= full[1])

    def reset(self) -> ChartSettings:
        return replace(self, window=None, follow=True, cursor=None)


def smooth(values: list[float], weight: float) -> list[float]:
    """The debiased exponential moving average of ``values`` (see the module docstring)."""
    if weight <= 0:
        return list(values)
    out, average = [], 0.0
    for n, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight**n))
    return out


def thin(
    xs: list[float], ys: list[float], most: int = MOST_POINTS
) -> tuple[list[float], list[float]]:
    """At most ``most`` points: means of runs of consecutive points, so a long run's line costs no
    more to draw than a short one's.

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


def epoch_knots(view: RunView) -> list[tuple[float, float]]:
    """``(update count, epochs done)`` at each epoch end the run recorded, from ``(0, 0)``: the
    run's own epochs, so a shortened, resumed or regrouped epoch is placed where it ended."""
    knots = [(0.0, 0.0)]
    for row in sorted(view.epoch_rows, key=lambda row: row.get("epoch", 0)):
        epoch, step = row.get("epoch"), row.get("step")
        if isinstance(epoch, int) and isinstance(step, int) and step > knots[-1][0]:
            if epoch + 1 > knots[-1][1]:
                knots.append((float(step), float(epoch + 1)))
    return knots


def x_of(view: RunView, steps: list[float], times: list[float], axis: str) -> list[float]:
    """The x of each point on ``axis`` (see the module docstring). On the epoch axis an update
    count is placed inside the recorded epoch that holds it; past the last recorded epoch, by the
    updates of one epoch of the current launch (``steps_per_epoch``).

    >>> view = RunView(steps_per_epoch=782, started_at=100.0)
    >>> x_of(view, [391.0, 782.0], [160.0, 220.0], "epochs")
    [0.5, 1.0]
    >>> x_of(view, [391.0, 782.0], [160.0, 220.0], "time")
    [60.0, 120.0]

    Epochs of 10 updates (``--trainer.limit_train_batches 10``) put update 20 at epoch 2:

    >>> short = RunView(steps_per_epoch=10, epoch_rows=[{"epoch": 0, "step": 10}])
    >>> x_of(short, [5.0, 10.0, 20.0], [0.0, 0.0, 0.0], "epochs")
    [0.5, 1.0, 2.0]
    """
    if axis == "epochs":
        knots = epoch_knots(view)
        per_epoch = view.steps_per_epoch or 1
        ends = [step for step, _ in knots]
        out = []
        for step in steps:
            i = bisect.bisect_left(ends, step)
            if i == 0:
                out.append(step / per_epoch)
            elif i < len(knots):
                (s0, e0), (s1, e1) = knots[i - 1], knots[i]
                out.append(e0 + (e1 - e0) * (step - s0) / (s1 - s0))
            else:
                out.append(knots[-1][1] + (step - knots[-1][0]) / per_epoch)
        return out
    if axis == "time":
        start = view.started_at if view.started_at is not None else (times[0] if times else 0.0)
        return [max(0.0, t - start) for t in times]
    return list(steps)


def planned_end(view: RunView, axis: str) -> float | None:
    """Where the run's x axis ends when it is done: its planned epochs (or updates); None on
    the time axis, whose end is not known in advance."""
    if not view.max_epochs or view.max_epochs < 0 or axis == "time":
        return None
    if axis == "epochs":
        return float(view.max_epochs)
    return float(view.max_epochs * view.steps_per_epoch) if view.steps_per_epoch else None


@dataclass
class Line:
    """One drawn series: its points (already on the chart's axes), how it looks, what it is."""

    xs: list[float]
    ys: list[float]
    style: str
    label: str
    marker: str = ""  # "" a line; a character: a scatter of that marker
    raw_ys: list[float] | None = None  # the values before smoothing or log, for the readout
    log: bool = False  # ys are log10 of the values


def line_of(
    view: RunView,
    series: Series,
    settings: ChartSettings,
    style: str,
    label: str,
    scale: float = 1.0,
    log: bool = False,
    smoothing: float = 0.0,
    marker: str = "",
) -> Line:
    """``series`` of ``view`` as a :class:`Line` on the chart's axes: x on the chosen axis,
    values times ``scale``, smoothed, then as log10 where ``log`` (non-positive values dropped).
    """
    xs = x_of(view, series.steps, series.times, settings.x_axis)
    raw = [value * scale for value in series.values]
    ys = smooth(raw, smoothing)
    if log:
        kept = [i for i, y in enumerate(ys) if y > 0]
        xs, raw, ys = (
            [xs[i] for i in kept],
            [raw[i] for i in kept],
            [math.log10(ys[i]) for i in kept],
        )
    return Line(xs, ys, style, label, marker, raw, log)


def as_log(lines: list[Line]) -> list[Line]:
    """The lines on a log10 axis where every value drawn is positive; else as they are (a log
    axis has no place for 0: a learning rate that falls to 0 stays linear).

    >>> [line.ys for line in as_log([Line([1.0, 2.0], [10.0, 100.0], "", "")])]
    [[1.0, 2.0]]
    >>> as_log([Line([1.0], [0.0], "", "")])[0].log
    False
    """
    if not any(line.ys for line in lines) or any(y <= 0 for line in lines for y in line.ys):
        return lines
    return [
        replace(line, ys=[math.log10(y) for y in line.ys], raw_ys=line.raw_ys or line.ys, log=True)
        for line in lines
    ]


def full_range(lines: list[Line], ends: list[float | None]) -> tuple[float, float]:
    """The x range that shows everything: from 0 to the furthest point or planned end."""
    furthest = [line.xs[-1] for line in lines if line.xs] + [end for end in ends if end]
    high = max(furthest, default=1.0)
    return 0.0, high if high > 0 else 1.0


def x_window(
    settings: ChartSettings, full: tuple[float, float], newest: float
) -> tuple[float, float]:
    """The x range to show: everything, or the zoomed window; while it follows a live run, the
    window ends at the newest point and moves with it (never at an empty future the run has not
    reached):

    >>> zoomed = ChartSettings(window=(3.75, 5.0))  # + + over a 5-epoch run, during epoch 2
    >>> x_window(zoomed, (0.0, 5.0), 1.6)
    (0.35..., 1.6)
    >>> x_window(replace(zoomed, follow=False), (0.0, 5.0), 1.6)
    (3.75, 5.0)
    """
    if settings.window is None:
        return full
    low, high = settings.window
    if settings.follow:
        width = high - low
        end = max(newest, full[0] + width)
        return end - width, end
    return low, high


def y_range(lines: list[Line], window: tuple[float, float]) -> tuple[float, float] | None:
    """The y range of the points in the x ``window``, 5% more on each side; a flat or one-point
    series gets a margin of 5% of its size, so a single loss of 0.2891 reads 0.27-0.31::

        >>> y_range([Line([1.0], [0.2891527], "", "")], (0, 2))
        (0.2746..., 0.3036...)
        >>> y_range([Line([1.0, 2.0], [0.0, 1.0], "", "")], (0, 3))
        (-0.05, 1.05)
    """
    low, high = window
    ys = [y for line in lines for x, y in zip(line.xs, line.ys) if low <= x <= high]
    if not ys:
        return None
    bottom, top = min(ys), max(ys)
    if top - bottom <= 1e-9 * max(1.0, abs(top)):
        margin = 0.05 * max(abs(top), 1e-3)
    else:
        margin = 0.05 * (top - bottom)
    low, high = bottom - margin, top + margin
    return (low, high) if math.isfinite(low) and math.isfinite(high) else None


def nice_ticks(
    low: float, high: float, most: int, whole: bool = False, end: bool = True
) -> list[float]:
    """Ticks at 1, 2 or 5 times a power of ten between ``low`` and ``high``, at most ``most`` of
    them, and (``end``) ``high`` itself labelled, replacing the last tick when the two crowd:

        >>> nice_ticks(0, 10, 6)
        [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        >>> nice_ticks(0, 13, 4), nice_ticks(0, 11, 4)
        ([0.0, 5.0, 10.0, 13.0], [0.0, 5.0, 11.0])
        >>> nice_ticks(0, 3.4, 8, whole=True)
        [0.0, 1.0, 2.0, 3.0]
    """
    span = high - low
    if span <= 0 or most < 1:
        return [low]
    most = max(2, most)
    power = 10 ** math.floor(math.log10(span / most))
    for factor in (1, 2, 5, 10, 20, 50):
        interval = factor * power
        if whole:
            interval = max(1.0, round(interval))
        if span / interval <= most:
            break
    first = math.ceil(low / interval - 1e-9) * interval
    ticks, tick = [], first
    while tick <= high + 1e-9 * span:
        ticks.append(round(tick, 12))
        tick += interval
    end_is_whole = not whole or float(high).is_integer()
    if end and end_is_whole and ticks and high - ticks[-1] > 1e-9 * span:
        if high - ticks[-1] < 0.5 * interval:
            ticks[-1] = high
        else:
            ticks.append(high)
    return [float(t) for t in ticks]


def log_ticks(low: float, high: float, most: int) -> list[float]:
    """Ticks of a log10 axis (``low`` and ``high`` are log10 values): at 1, 2 and 5 times each
    power of ten while they fit, else at the powers alone::

        >>> [round(10**t, 6) for t in log_ticks(-1.35, -0.4, 6)]
        [0.05, 0.1, 0.2]
        >>> [round(10**t, 6) for t in log_ticks(-4, 0.5, 4)]
        [0.0001, 0.001, 0.01, 0.1, 1.0]
    """
    decades = range(math.floor(low), math.ceil(high) + 1)
    for factors in ((1, 2, 5), (1,)):
        ticks = [math.log10(f) + d for d in decades for f in factors]
        ticks = [t for t in ticks if low - 1e-9 <= t <= high + 1e-9]
        if len(ticks) <= most or factors == (1,):
            return ticks
    return []


def value_at(line: Line, x: float) -> tuple[float, float, float] | None:
    """The point of ``line`` nearest to ``x``: its x, the value drawn there (smoothed, in the
    data's units where the axis is log) and the raw value.

    >>> line = Line([1.0, 2.0], [0.5, 0.4], "", "", raw_ys=[0.5, 0.3])
    >>> value_at(line, 1.9)
    (2.0, 0.4, 0.3)
    """
    if not line.xs:
        return None
    i = min(range(len(line.xs)), key=lambda j: abs(line.xs[j] - x))
    drawn = 10 ** line.ys[i] if line.log else line.ys[i]
    raw = line.raw_ys[i] if line.raw_ys is not None else drawn
    return line.xs[i], drawn, raw


def format_x(x: float, axis: str, view: RunView | None = None) -> str:
    """An x value in words: ``epoch 3.42``, ``update 2,675`` or ``1:05`` (m:ss).

    >>> format_x(3.4213, "epochs"), format_x(2675.0, "updates"), format_x(65.0, "time")
    ('epoch 3.42', 'update 2,675', '1:05')
    """
    if axis == "epochs":
        return f"epoch {x:.2f}"
    if axis == "updates":
        return f"update {x:,.0f}"
    return duration(x)


def duration(seconds: float) -> str:
    """``0:42``, ``12:05`` or ``2h03``: a time axis's tick label.

    >>> duration(42), duration(725), duration(7380)
    ('0:42', '12:05', '2h03')
    """
    seconds = int(round(max(0.0, seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def format_value(value: float) -> str:
    """A value for the readout: four significant digits (``0.08123``, ``98.41``, ``1.2e-05``)."""
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.2e}"
    return f"{value:.4g}"


def settings_text(settings: ChartSettings, chart: str) -> str:
    """The view in a few words, for the charts' chooser line: ``epochs  log  smooth 0.6  zoom``."""
    parts = [settings.x_axis, "log" if settings.log_loss else "linear"]
    if chart == "loss":
        parts.append(f"smooth {settings.smoothing:g}" if settings.smoothing else "raw")
    if settings.window is not None:
        parts.append("zoom, following" if settings.follow else "zoom")
    return "  ".join(parts)
