"""What a person sees on the dashboard, read from its widgets: the helpers of the Pilot tests."""

from __future__ import annotations

import asyncio
import time

from textual.coordinate import Coordinate
from textual.widgets import DataTable

from digitnet.dashboard.app import DashboardApp
from digitnet.dashboard.widgets.run_list import STATUS_MARK, RunList

POLL_SECONDS = 0.05


async def until(predicate, timeout: float = 30.0, what: str = "condition"):
    """Wait, without a Pilot (the app may have quit), until ``predicate()`` holds; fail after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)


async def wait_for(pilot, predicate, timeout: float = 90.0, what: str = "condition"):
    """Let the app work until ``predicate()`` holds; fail, naming ``what``, after ``timeout``
    seconds (generous: a loaded machine is slow, never wrong)."""
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)


async def looked(pilot, times: int = 1) -> None:
    """Wait until a look at the run folders that began after this call is on screen (``times``
    such looks), so whatever a test wrote into a run folder before has been read and shown."""
    from digitnet.dashboard.screens.main import MainScreen

    def main_screen():
        return next((s for s in pilot.app.screen_stack if isinstance(s, MainScreen)), None)

    await wait_for(pilot, lambda: main_screen() and main_screen().is_mounted, 30, "the screen")
    screen = main_screen()
    for _ in range(times):
        wanted = screen.looks_started + 1  # a look in progress began before the call
        screen.look()
        await wait_for(pilot, lambda w=wanted: screen.looks_shown >= w, 30, "a fresh look")
    await pilot.pause()


def shown_text(widget) -> str:
    """What a widget shows on screen, as plain text."""
    return "\n".join(strip.text for strip in widget.render_lines(widget.size.region))


def rows_of(app: DashboardApp) -> list[dict[str, str]]:
    """The run list's rows as shown, top to bottom: {"status": "●", "run": "my-run", ...}, and
    under "name" the run each row stands for (a long name is shown cut in the middle)."""
    table = app.query_one(RunList)
    keys = [key.value for key in table.columns]
    rows = []
    for i in range(table.row_count):
        row = dict(zip(keys, (str(cell).strip() for cell in table.get_row_at(i))))
        row["name"] = table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value
        rows.append(row)
    return rows


def row_of(app: DashboardApp, name: str) -> dict[str, str] | None:
    """The run list's row for run ``name``."""
    return next((row for row in rows_of(app) if row["name"] == name), None)


def status_of(app: DashboardApp, name: str) -> str | None:
    """The status the run's mark in the list stands for: ``●`` is running, ``✓`` finished, ..."""
    row = row_of(app, name)
    return (
        {mark: status for status, mark in STATUS_MARK.items()}.get(row["status"]) if row else None
    )


def legend_of(app: DashboardApp, chart: str) -> str:
    """The header over a chart (``loss``, ``accuracy``, ``lr``, ``cpu``, ``memory``), as shown:
    its legend (``Loss  ━ train (smoothed 0.6)  ● val``) or, with the cursor on, its readout."""
    header = app.query_one(f"#chart-{chart}").query_one(".chart-header")
    return " ".join(str(header.render()).split())


def epoch_rows(app: DashboardApp) -> int:
    """How many rows the Epochs tab shows (the tab must be in view: a hidden tab is not drawn)."""
    return app.query_one("#epoch-table", DataTable).row_count


def alert_of(app: DashboardApp) -> str:
    """The error box of the Live tab, as shown (empty when hidden)."""
    alert = app.query_one("#alert")
    return str(alert.render()) if alert.display else ""


def marks_of(app: DashboardApp, chart: str) -> tuple[int, int]:
    """How many columns and rows the plotted marks of a chart span on screen (braille dots of
    its lines, ``●`` and ``•`` of its points), from the first to the last."""
    return marks_of_widget(app.query_one(f"#chart-{chart}").query_one("RunPlot"))


def marks_of_widget(plot) -> tuple[int, int]:
    """:func:`marks_of` for any ``RunPlot``."""
    canvas = plot.query_one("#plot")  # textual-plot's canvas
    lines = [strip.text for strip in canvas.render_lines(canvas.size.region)]
    cells = [
        (x, y)
        for y, line in enumerate(lines)
        for x, char in enumerate(line)
        if "\u2801" <= char <= "\u28ff" or char in "●•"
    ]
    if not cells:
        return 0, 0
    xs, ys = [x for x, _ in cells], [y for _, y in cells]
    return max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
