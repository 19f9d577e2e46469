"""Provides :class:`DashboardApp`, the digitnet terminal dashboard over the run folders in a root.

Everything shown comes from run folders (:mod:`digitnet.runs`); the app never imports torch.
The work is on :class:`~digitnet.dashboard.screens.main.MainScreen`; the app holds what outlives
a screen: the folder watcher, the training processes it started, and the look (``app.tcss``).
Its cost to a watched run is measured by ``bench/dashboard_ab.py`` (see docs/benchmarks.md).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from digitnet.dashboard.screens.main import MainScreen
from digitnet.dashboard.watcher import FolderWatcher
from digitnet.runs import layout

FIRST_LOOK_WAIT = 0.5  # seconds the first screen waits for the first listing, at most


class DashboardApp(App):
    """The digitnet terminal dashboard over the run folders in ``root``."""

    TITLE = "digitnet"
    # absolute: Textual resolves a relative path beside the file of a subclass, which may have none
    CSS_PATH = Path(__file__).with_name("app.tcss")
    BINDINGS = [
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        root: Path | None = None,
        clock: Callable[[], float] = time.time,
        poll_seconds: float = 1.0,
        read_only: bool = False,
    ) -> None:
        super().__init__()
        self.read_only = read_only  # watch only (the web dashboard's default): see MainScreen
        # No sliding tab underline or smooth scrolling: each animation frame is a screen render,
        # about 40 of them per tab switch, CPU a watched run would lose. TEXTUAL_ANIMATIONS
        # still wins.
        self.animation_level = os.environ.get("TEXTUAL_ANIMATIONS", "none")  # type: ignore[assignment]
        self.root = Path(root) if root is not None else layout.default_root()
        self.clock, self.poll_seconds = clock, poll_seconds
        self.processes: list[subprocess.Popen] = []  # the runs started here, reaped as they end
        self.watcher = FolderWatcher(self.root)
        self.watcher.start()  # the first listing begins now, while Textual starts

    def get_default_screen(self) -> MainScreen:
        self.watcher.wait(FIRST_LOOK_WAIT)  # a full list at once beats "reading" then a list
        return MainScreen(self.watcher, self.clock, self.poll_seconds)

    def action_help(self) -> None:
        from digitnet.dashboard.screens.help import HelpScreen  # Markdown: imported when asked

        self.push_screen(HelpScreen())
