"""Regenerate the README's dashboard pictures from a real run: ``python bench/screenshots.py``.

Trains the default MNIST network for 10 epochs in a temporary folder, watched by the dashboard at
120x40, and saves the Live tab (docs/dashboard.png), the same at 80x24 (docs/dashboard-80x24.png),
and the Samples, Weights and Draw tabs (a 7 drawn stroke by stroke) as docs/dashboard-samples.png,
docs/dashboard-weights.png and docs/dashboard-draw.png; then a sweep of four one-epoch trials
started from the New-run form, its Runs tab as docs/dashboard-sweep.png (``--sweep-only``: that
picture alone). SVG from Textual, PNG by ``rsvg-convert``, Debian's librsvg2-bin.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from digitnet.dashboard.app import DashboardApp
from digitnet.dashboard.widgets.draw import DrawCanvas, DrawPane
from digitnet.runs.process import launch
from digitnet.runs.spec import LaunchSpec
from draw_latency import SEVEN

ROOT = Path(__file__).resolve().parents[1]


async def looked(pilot, times: int = 1) -> None:
    """Wait until a look at the run folders begun after this call is on screen (``times``)."""
    screen = pilot.app.screen_stack[0]  # the MainScreen
    for _ in range(times):
        wanted = screen.looks_started + 1
        screen.look()
        while screen.looks_shown < wanted:
            await pilot.pause()
            await asyncio.sleep(0.05)
    await pilot.pause()


async def shoot(root: Path, out: dict[str, Path]) -> None:
    app = DashboardApp(root)
    async with app.run_test(size=(120, 40)) as pilot:
        name, process = launch(LaunchSpec(epochs="10"), root)
        while process.poll() is None:
            await looked(pilot)
        await looked(pilot, 2)  # the finished state
        app.save_screenshot(str(out["live"]))
        await pilot.resize_terminal(80, 24)
        await looked(pilot)
        app.save_screenshot(str(out["small"]))
        await pilot.resize_terminal(120, 40)
        await pilot.press("4")
        await looked(pilot)
        app.save_screenshot(str(out["samples"]))
        await pilot.press("7")
        await looked(pilot, 2)
        app.save_screenshot(str(out["weights"]))
        await pilot.press("8")
        pane = app.query_one(DrawPane)
        await pilot.mouse_down(DrawCanvas, offset=SEVEN[0])
        for point in SEVEN[1:]:
            await pilot.hover(DrawCanvas, offset=point)
        await pilot.mouse_up(DrawCanvas, offset=SEVEN[-1])
        deadline = time.monotonic() + 120  # the helper starts, then answers the newest stroke
        while time.monotonic() < deadline and pane.asks != pane.answered:
            await looked(pilot)
        app.save_screenshot(str(out["draw"]))


async def shoot_sweep(root: Path, svg: Path) -> None:
    """A sweep of four one-epoch trials started from the New-run form with ranges and choices, as
    a user types them, then its Runs tab: the trials ranked, the study's line above them."""
    from textual.widgets import Input

    app = DashboardApp(root)
    async with app.run_test(size=(150, 30)) as pilot:
        await pilot.press("n")
        fields = {
            "lr": "0.01..0.3",
            "layers": "784, 32, 10 | 784, 128, 10",
            "batch_size": "32..256",
            "epochs": "1",
            "trials": "4",
            "name": "lr-search",
        }
        for name, value in fields.items():
            field = app.query_one(f"#{name}", Input)
            field.focus()
            field.value = ""
            await pilot.press(*value)
        await pilot.press("enter")
        while app.screen.sweeps:
            await looked(pilot)
            await asyncio.sleep(1)
        await looked(pilot, 2)
        app.save_screenshot(str(svg))


def main() -> int:
    if shutil.which("rsvg-convert") is None:
        print(
            "screenshots: rsvg-convert is needed (apt-get install librsvg2-bin).", file=sys.stderr
        )
        return 2
    os.environ.setdefault("DIGITNET_DATA", str(ROOT / "data"))
    with tempfile.TemporaryDirectory() as tmp:
        pictures = {
            "live": "dashboard.png",
            "small": "dashboard-80x24.png",
            "samples": "dashboard-samples.png",
            "weights": "dashboard-weights.png",
            "draw": "dashboard-draw.png",
        }
        svgs = {key: Path(tmp) / f"{key}.svg" for key in pictures}
        pictures["sweep"] = "dashboard-sweep.png"
        svgs["sweep"] = Path(tmp) / "sweep.svg"
        if "--sweep-only" in sys.argv:  # the Runs tab's picture alone
            pictures = {"sweep": pictures["sweep"]}
        else:
            asyncio.run(shoot(Path(tmp) / "checkpoints", svgs))
        asyncio.run(shoot_sweep(Path(tmp) / "sweep", svgs["sweep"]))
        for key, png in pictures.items():
            subprocess.run(
                ["rsvg-convert", "-w", "1200", str(svgs[key]), "-o", str(ROOT / "docs" / png)],
                check=True,
            )
            print(f"wrote docs/{png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
