"""Provides :class:`SystemPanel`: what the selected run's process uses of the machine.

One line of figures from the newest ``system`` event (CPU, memory and, on CUDA, GPU memory and
use), over two small charts of CPU and memory for the last two minutes of samples. The training
process records them (:mod:`digitnet.runs.system`), so a run started from Python shows them too.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Label, Sparkline, Static

from digitnet.dashboard.state import RunView
from digitnet.runs.listing import RunInfo


class SystemPanel(Vertical):
    """Figures and small charts; a run that never recorded any says so."""

    shown: reactive[tuple[str, tuple[float, ...], tuple[float, ...]]] = reactive(
        ("", (), ()), init=False
    )

    def compose(self) -> ComposeResult:
        yield Static(id="system-text")
        with Horizontal():
            yield Label("CPU")
            yield Sparkline([], id="cpu-spark")
            yield Label("memory")
            yield Sparkline([], id="memory-spark")

    def show_run(self, info: RunInfo | None, view: RunView) -> None:
        text = view.system_text()
        if info is None:
            text = ""
        elif not text:
            text = "system: no figures yet" if info.status == "running" else "system: none recorded"
        elif info.status != "running":
            text = f"{text}  (at its end)"
        self.shown = (
            text,
            tuple(view.system_series("cpu_percent")),
            tuple(view.system_series("rss_mb")),
        )

    def watch_shown(self, shown: tuple[str, tuple[float, ...], tuple[float, ...]]) -> None:
        text, cpu, memory = shown
        self.query_one("#system-text", Static).update(text)
        self.query_one("#cpu-spark", Sparkline).data = list(cpu)
        self.query_one("#memory-spark", Sparkline).data = list(memory)
