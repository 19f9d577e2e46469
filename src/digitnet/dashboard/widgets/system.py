"""Provides :class:`SystemPanel`: what the selected run's process uses of the machine.

One line: each figure of the newest ``system`` event (CPU, memory and, on CUDA, GPU memory and
use), the CPU and memory ones each followed by a small chart of the last two minutes of samples.
The training process records them (:mod:`digitnet.runs.system`), so a run started from Python
shows them too. A run that has ended shows its last figures, marked ``last``. The parts have
fixed widths, so a new sample repaints this line alone, without a layout pass of the screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Sparkline, Static

from digitnet.dashboard.state import RunView
from digitnet.runs.listing import RunInfo


class SystemPanel(Horizontal):
    """``CPU 149% ▆▆▇▆  memory 1.23 GB ▂▃▅▇  GPU memory 0.81 GB  GPU 43%`` on one line."""

    # (CPU words, CPU samples, memory words, memory samples, GPU words)
    shown: reactive[tuple] = reactive(("", (), "", (), ""), init=False)

    def compose(self) -> ComposeResult:
        yield Static(id="cpu-text")
        yield Sparkline([], id="cpu-spark")
        yield Static(id="memory-text")
        yield Sparkline([], id="memory-spark")
        yield Static(id="gpu-text")  # the GPU figures, or why there are none

    def show_run(self, info: RunInfo | None, view: RunView) -> None:
        cpu, memory, gpu = view.system_figures()
        if info is None:
            cpu = memory = gpu = ""
        elif not cpu:
            gpu = "system: no figures yet" if info.status == "running" else "system: none recorded"
        elif info.status != "running":
            cpu = f"last: {cpu}"
        self.shown = (
            cpu,
            tuple(view.system_series("cpu_percent")),
            memory,
            tuple(view.system_series("rss_mb")),
            gpu,
        )

    def watch_shown(self, shown: tuple) -> None:
        cpu, cpu_samples, memory, memory_samples, gpu = shown
        for name, text in (("#cpu-text", cpu), ("#memory-text", memory), ("#gpu-text", gpu)):
            part = self.query_one(name, Static)
            part.update(text, layout=False)
            part.display = bool(text)  # a layout pass only when a part comes or goes
        for name, samples in (("#cpu-spark", cpu_samples), ("#memory-spark", memory_samples)):
            spark = self.query_one(name, Sparkline)
            spark.data = list(samples)
            spark.display = bool(samples)
