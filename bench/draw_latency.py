"""The Draw tab's latency: from a mouse stroke on the canvas to the bars showing the answer.

A real dashboard (headless, through Textual's Pilot) over a run trained for one epoch on the real
MNIST; the pen draws a "1" and then a "7", one stroke segment at a time. The tab times each
segment itself (``DrawPane.latency``, read after each answer): from the mouse event reaching the
canvas to the bars holding the helper's answer (the screen shows them at its next refresh). The
first answer waits for the helper to start and is not counted. Pilot's own handling of each
simulated mouse move (about 150 ms here, a test harness's cost) is outside this and is left out.
Run alone: ``python bench/draw_latency.py``.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE = [(14, row) for row in range(2, 13)]
SEVEN = [(col, 2) for col in range(8, 21)] + [(20 - i // 2, 3 + i // 2) for i in range(18)]


async def draw(root: Path) -> dict:
    from digitnet.dashboard.app import DashboardApp
    from digitnet.dashboard.widgets.draw import Bars, DrawCanvas, DrawPane
    from digitnet.dashboard.widgets.run_list import RunList

    app = DashboardApp(str(root), poll_seconds=1.0)
    guesses, seconds = {}, []
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(RunList).select("drawn")
        await pilot.press("8")
        pane, bars = app.query_one(DrawPane), app.query_one(Bars)
        for name, path in (("1", ONE), ("7", SEVEN)):
            await pilot.click("#clear")
            await pilot.mouse_down(DrawCanvas, offset=path[0])
            for point in path[1:]:
                answered = pane.answers
                deadline = time.perf_counter() + 60
                await pilot.hover(DrawCanvas, offset=point)
                while pane.answers == answered and time.perf_counter() < deadline:
                    await asyncio.sleep(0.001)
                if pane.answers > answered:
                    seconds.append(pane.latency)
            await pilot.mouse_up(DrawCanvas, offset=path[-1])
            classes, probabilities = bars.shown
            guesses[name] = classes[max(range(10), key=probabilities.__getitem__)]
    return {"seconds": seconds[1:], "guesses": guesses}


def run_draw() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "checkpoints"
        subprocess.run(
            [sys.executable, "-m", "digitnet", "fit", "--run_name", "drawn"]
            + ["--trainer.max_epochs", "1", "--checkpoints_dir", str(root)],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        return asyncio.run(draw(root))


def render(result: dict) -> list[str]:
    s = result["seconds"]
    return [
        "## Draw tab: stroke to bars",
        "",
        f"A real dashboard (headless, 100x30) over a run trained one epoch on MNIST; the pen drew "
        f"a 1 and a 7 in {len(s)} timed segments, each from the mouse event reaching the canvas "
        f"to the bars holding its answer: **{1000 * statistics.median(s):.0f} ms median** (min "
        f"{1000 * min(s):.0f}, max {1000 * max(s):.0f}; target under 100 ms). The bars' best "
        f"guesses: {result['guesses']['1']} for the 1, {result['guesses']['7']} for the 7.",
        "",
    ]


if __name__ == "__main__":
    print("\n".join(render(run_draw())))
