"""Provides :class:`DrawPane`: draw a digit and see what the selected run makes of it.

The canvas is 28x28 pixels, as an MNIST image, drawn as 28 columns of 14 cells, each cell two
pixels (``▀``: the upper pixel in the foreground colour, the lower in the background). Draw with
the mouse (press and drag), or with the keyboard: the arrows move the pen, ``space`` inks the
pixels under it, ``backspace`` rubs them out, ``x`` (or the Clear button) clears the canvas. After
each stroke the drawing goes to the run's helper process (:mod:`digitnet.dashboard.predictor`),
which centres it as MNIST's digits are centred and answers with the 10 probabilities, shown as
bars, and for an MLP the forward pass that made them, drawn under the bars as a strip
(:class:`ForwardStrip`). A helper that dies is reported here and started again by the next
stroke.
"""

from __future__ import annotations

import time

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import MouseDown, MouseMove, MouseUp
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, Static

from digitnet.dashboard.predictor import HelperDied, Predictor
from digitnet.runs.files import RunFolder
from digitnet.runs.listing import RunInfo

SIDE = 28


def brush(pixels: np.ndarray, x: int, y: float) -> None:
    """Ink the pixels around ``(x, y)`` (column, row; ``y`` may fall between two rows): full up to
    a pixel away, fading to nothing 2.2 pixels away, as a pen stroke about three pixels wide.

    >>> canvas = np.zeros((28, 28))
    >>> brush(canvas, 5, 10.5)
    >>> canvas[10:12, 5].tolist(), canvas[10, 7:10].tolist()  # the centre, then sideways
    ([255.0, 255.0], [29.0, 0.0, 0.0])
    """
    rows, cols = np.mgrid[0:SIDE, 0:SIDE]
    distance = np.hypot(cols - x, rows - y)
    ink = (255.0 * np.clip((2.2 - distance) / 1.2, 0.0, 1.0)).round()
    np.maximum(pixels, ink, out=pixels)


class DrawCanvas(Widget, can_focus=True):
    """28x28 pixels 0..255, white ink on black; posts :class:`DrawCanvas.Drawn` after a stroke."""

    DEFAULT_CSS = "DrawCanvas { width: 28; height: 14; }"
    BINDINGS = [
        Binding("up", "move(0, -1)", "Pen up", show=False),
        Binding("down", "move(0, 1)", "Pen down", show=False),
        Binding("left", "move(-1, 0)", "Pen left", show=False),
        Binding("right", "move(1, 0)", "Pen right", show=False),
        # off the footer, which at 80 columns would lose ? and q: the state line under the
        # canvas names the keys, the Clear button is on screen and ? lists them all
        Binding("space", "ink", "Ink", show=False),
        Binding("backspace", "rub", "Rub out", show=False),
        Binding("x", "clear", "Clear", show=False),
    ]

    class Drawn(Message):
        """The drawing changed (``pixels`` is a copy, row by row; ``at`` when, by
        ``time.perf_counter``)."""

        def __init__(self, pixels: list[int], at: float) -> None:
            super().__init__()
            self.pixels, self.at = pixels, at

    pen: reactive[tuple[int, int]] = reactive((14, 7))  # (column, cell row)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pixels = np.zeros((SIDE, SIDE))
        self.drawing = False

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return SIDE

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return SIDE // 2

    def render_line(self, y: int) -> Strip:
        if y >= SIDE // 2:
            return Strip.blank(self.size.width)
        segments = []
        for x in range(SIDE):
            upper, lower = int(self.pixels[2 * y, x]), int(self.pixels[2 * y + 1, x])
            style = Style(
                color=f"rgb({upper},{upper},{upper})", bgcolor=f"rgb({lower},{lower},{lower})"
            )
            if self.has_focus and (x, y) == self.pen:
                style += Style(color="rgb(255,170,0)" if upper < 128 else "rgb(160,90,0)")
            segments.append(Segment("▀", style))
        return Strip(segments, SIDE)

    def stroke(self, x: int, y: float) -> None:
        if 0 <= x < SIDE and 0 <= y < SIDE:
            brush(self.pixels, x, y)
            self.refresh()

    def changed(self) -> None:
        self.post_message(self.Drawn(self.pixels.astype(int).ravel().tolist(), time.perf_counter()))

    def on_mouse_down(self, event: MouseDown) -> None:
        self.focus()
        self.drawing = True
        self.capture_mouse()
        self.stroke(event.x, 2 * event.y + 0.5)
        self.changed()

    def on_mouse_move(self, event: MouseMove) -> None:
        if self.drawing:
            self.stroke(event.x, 2 * event.y + 0.5)
            self.changed()

    def on_mouse_up(self, event: MouseUp) -> None:
        self.drawing = False
        self.release_mouse()

    def watch_pen(self) -> None:
        self.refresh()

    def action_move(self, dx: int, dy: int) -> None:
        x, y = self.pen
        self.pen = (min(max(x + dx, 0), SIDE - 1), min(max(y + dy, 0), SIDE // 2 - 1))

    def action_ink(self) -> None:
        x, y = self.pen
        self.stroke(x, 2 * y + 0.5)
        self.changed()

    def action_rub(self) -> None:
        x, y = self.pen
        self.pixels[2 * y : 2 * y + 2, max(x - 1, 0) : x + 2] = 0
        self.refresh()
        self.changed()

    def action_clear(self) -> None:
        self.pixels[:] = 0
        self.refresh()
        self.changed()


class Bars(Static):
    """The 10 probabilities as bars, the most likely class in bold."""

    shown: reactive[tuple[tuple[str, ...], tuple[float, ...]]] = reactive(((), ()), init=False)

    def watch_shown(self, shown: tuple[tuple[str, ...], tuple[float, ...]]) -> None:
        classes, probabilities = shown
        if not probabilities:
            self.update("")
            return
        label = max(len(c) for c in classes)
        room = max(4, self.size.width - label - 6)
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        text = Text()
        for i, (name, p) in enumerate(zip(classes, probabilities)):
            style = "bold" if i == best else ""
            filled = round(p * room)
            text.append(f"{name:>{label}} ", style)
            text.append("█" * filled, "bold green" if i == best else "green")
            text.append("·" * (room - filled), "dim")
            text.append(f"{100 * p:4.0f}%\n", style)
        self.update(text)


LEVELS = "▁▂▃▄▅▆▇█"


def spark(values: list[float], width: int) -> str:
    """The first ``width`` values as bars, from the smallest (``▁``) to the largest (``█``).

    >>> spark([0.0, 1.0, 2.0, 4.0], 3)
    '▁▃▅'
    >>> spark([3.0, 3.0], 5)
    '██'
    """
    shown = values[:width]
    if not shown:
        return ""
    low, high = min(values), max(values)
    span = high - low
    top = len(LEVELS) - 1
    flat = top if high > 0 else 0  # all alike: all on, or all off
    return "".join(LEVELS[round(top * (v - low) / span) if span else flat] for v in shown)


class ForwardStrip(Static):
    """The drawing's forward pass through an MLP, one line a layer, each cut to the width: the
    input's inked pixels, each hidden layer's activations ``aˡ`` (as many neurons as fit, ``…``
    where more follow, then how many are on: ReLU's ``a > 0``, the sigmoid's ``a > ½``), and
    the output layer's scores ``z`` with the largest's class::

        x 784, 97 inked
        a¹ 100 ▁▃▁▇▁▁▂▅▁▁… 38 on
        z 10 ▂▁▁▃▁▁▁█▁▂ 7 largest
    """

    passed: reactive[tuple] = reactive((), init=False)

    def on_resize(self) -> None:
        self.watch_passed(self.passed)

    def watch_passed(self, passed: tuple) -> None:
        self.update(Text("\n".join(self.lines(passed, self.size.width or 40)), no_wrap=True))

    @staticmethod
    def lines(passed: tuple, width: int) -> list[str]:
        """The strip's lines for ``passed`` = (inked, hidden, scores, activation), each at most
        ``width`` columns: where room is short the words go first, then the counts, the bars
        last.

        >>> ForwardStrip.lines((97, [[0.0, 2.0, 1.0]], [0.5, 3.0], "relu"), 30)
        ['x 784, 97 inked', 'a¹ 3 ▁█▅ 2 on', 'z 2 ▁█ 1 largest']
        >>> ForwardStrip.lines((97, [[0.0] * 100], [0.5, 3.0], "relu"), 16)
        ['x 784, 97 inked', 'a¹ 100 ▁▁▁… 0 on', 'z 2 ▁█ 1 largest']
        >>> ForwardStrip.lines((143, [[1.0] * 512], [0.5] * 9 + [3.0], "relu"), 14)
        ['x 143 inked', 'a¹ 512 ██████…', 'z 10 ▁▁▁▁▁▁… 9']
        """
        if not passed:
            return []
        inked, hidden, scores, activation = passed
        threshold = 0.5 if activation == "sigmoid" else 0.0

        def fit(head: str, values: list[float], tails: list[str]) -> str:
            """``head``, the values' bars, and the first of ``tails`` that leaves 4 bars (or
            all of them, where there are fewer)."""
            least = min(4, len(values))
            tail = next((t for t in tails if width - len(head) - len(t) >= least), "")
            room = max(0, width - len(head) - len(tail))
            bars = spark(values, room if room >= len(values) else max(0, room - 1))
            return f"{head}{bars}{'' if len(bars) == len(values) else '…'}{tail}"[:width]

        words = [f"x 784, {inked} inked", f"x {inked} inked", f"x {inked}"]
        lines = [next((w for w in words if len(w) <= width), words[-1])[:width]]
        for i, a in enumerate(hidden, 1):
            on = sum(1 for v in a if v > threshold)
            lines.append(fit(f"a{superscript(i)} {len(a)} ", a, [f" {on} on"]))
        best = max(range(len(scores)), key=scores.__getitem__)
        head = f"z {len(scores)} "
        tails = [f" {best} largest", f" {best} max", f" {best}"]
        full = next((t for t in tails if len(head) + len(scores) + len(t) <= width), None)
        lines.append(fit(head, scores, [full] if full else tails))
        return lines


def superscript(n: int) -> str:
    """``1`` -> ``¹``: the layer's index as the lecture writes it."""
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


class DrawPane(Vertical):
    """The canvas, the bars, a Clear button and the helper's state."""

    class Answered(Message):
        def __init__(self, ask: int, answer: dict | None, problem: str) -> None:
            super().__init__()
            self.ask, self.answer, self.problem = ask, answer, problem

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.run: RunInfo | None = None
        self.predictor: Predictor | None = None
        self.asks = 0  # strokes sent; an answer to an older one is dropped
        self.answered = 0  # the stroke the bars show the answer to
        self.answers = 0  # answers shown as bars
        self.latency: float | None = None  # seconds from the stroke to the last bars shown

    def compose(self) -> ComposeResult:
        with Horizontal(id="draw-row"):
            yield DrawCanvas(id="canvas")
            with Vertical(id="draw-answer"):
                yield Bars(id="bars")
                yield ForwardStrip(id="forward")
        with Horizontal(id="draw-foot"):
            yield Button("Clear", id="clear", compact=True)
            yield Static("", id="draw-state")

    def say(self, text: str) -> None:
        self.query_one("#draw-state", Static).update(text)

    def show_run(self, info: RunInfo | None) -> None:
        """Draw for ``info``: its helper starts when the first stroke needs it."""
        if info is not None and self.run is not None and info.path == self.run.path:
            return
        self.leave()
        self.run = info
        self.show_answer(None)  # the last run's answer is not this run's
        if info is None or not info.has_checkpoint:
            self.say("select a run with a checkpoint to draw for")
        else:
            self.say(f"draw a digit for {info.name}: mouse, or arrows and space (⌫ rubs out)")

    def leave(self) -> None:
        """Stop the helper (the tab was left, another run chosen, or the dashboard is closing),
        in a worker: waiting for it to exit takes up to 2 s, never the screen's."""
        if self.predictor is not None:
            predictor, self.predictor = self.predictor, None
            self.run_worker(predictor.stop, thread=True, group="helper")

    def on_unmount(self) -> None:
        if self.predictor is not None:  # the dashboard is closing: no worker outlives it, and
            self.predictor.stop(wait=False)  # the helper ends when its input closes
            self.predictor = None

    def show_answer(self, answer: dict | None) -> None:
        """The helper's answer as bars and the forward strip; None clears both."""
        bars, strip = self.query_one(Bars), self.query_one(ForwardStrip)
        if answer is None or self.predictor is None:
            bars.shown, strip.passed = ((), ()), ()
            return
        bars.shown = (tuple(self.predictor.classes), tuple(answer["probabilities"]))
        hidden, scores = answer.get("hidden"), answer.get("scores")
        strip.passed = (
            (answer.get("inked", 0), hidden, scores, answer.get("activation", ""))
            if isinstance(hidden, list) and isinstance(scores, list) and scores
            else ()
        )

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.query_one(DrawCanvas).action_clear()

    @on(DrawCanvas.Drawn)
    def _drawn(self, message: DrawCanvas.Drawn) -> None:
        if self.run is None or not self.run.has_checkpoint:
            return
        self.asks += 1
        if not any(message.pixels):
            self.show_answer(None)
            return
        self.ask(self.asks, message.pixels, message.at)

    @work(thread=True, exclusive=True, group="draw")
    def ask(self, ask: int, pixels: list[int], since: float) -> None:
        predictor = self.predictor
        try:
            if predictor is None:
                self.app.call_from_thread(self.say, f"starting the helper for {self.run.name}...")
                predictor = self.predictor = Predictor(RunFolder(self.run.path).last_ckpt)
                predictor.start()
            answer = predictor.ask(pixels)
        except (HelperDied, OSError) as error:
            if predictor is self.predictor:
                self.predictor = None
            self.post_message(self.Answered(ask, None, f"{error}; the next stroke restarts it"))
            return
        answer["since"] = since
        self.post_message(self.Answered(ask, answer, ""))

    @on(Answered)
    def _answered(self, message: Answered) -> None:
        if message.problem:
            self.say(message.problem)
            return
        if message.ask != self.asks:
            return  # a newer stroke is on its way
        answer = message.answer
        self.answered = message.ask
        if "probabilities" in answer and self.predictor is not None:
            self.show_answer(answer)
            seconds = time.perf_counter() - answer["since"]  # the stroke to these bars
            self.answers, self.latency = self.answers + 1, seconds
            self.say(f"{self.run.name}, last.ckpt: {1000 * seconds:.0f} ms")
        elif answer.get("empty"):
            self.show_answer(None)
        else:
            self.say(f"the helper could not read the drawing: {answer.get('error', '?')}")
