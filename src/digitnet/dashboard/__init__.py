"""Provides the terminal dashboard; ``run_dashboard(root)`` opens it on the run folders under
``root``."""

from __future__ import annotations

from pathlib import Path


def run_dashboard(root: Path, read_only: bool = False) -> int:
    from digitnet.dashboard.app import DashboardApp

    DashboardApp(Path(root), read_only=read_only).run()
    return 0
