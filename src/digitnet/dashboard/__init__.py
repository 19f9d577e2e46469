"""Provides the terminal dashboard; ``run_dashboard`` is ``digitnet dashboard``."""

from __future__ import annotations

import argparse
from pathlib import Path


def run_dashboard(argv: list[str]) -> int:
    from digitnet import runs

    parser = argparse.ArgumentParser(prog="digitnet dashboard", description="Launch, watch, cancel and resume runs.")
    parser.add_argument("--checkpoints_dir", default=str(runs.default_root()))
    options = parser.parse_args(argv)
    from digitnet.dashboard.app import DashboardApp

    DashboardApp(Path(options.checkpoints_dir)).run()
    return 0
