"""Provides :class:`SampleGrid`: validation images with true and predicted labels, mistakes in red.

Images are drawn by textual-image: with the terminal's graphics protocol where it has one (Kitty,
Sixel), else with Unicode half blocks.
"""

from __future__ import annotations

from typing import Any

from PIL import Image as PILImage
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.reactive import reactive
from textual.widgets import Label, Static
from textual_image.renderable import Image as BestRenderable
from textual_image.renderable.unicode import Image as UnicodeRenderable
from textual_image.widget import HalfcellImage, Image

from digitnet.dashboard.state import RunView

# Without a graphics protocol, textual-image falls back to shaded Unicode blocks; half blocks show
# a 28x28 digit far more clearly (each cell is two pixels, one above the other).
DigitImage = HalfcellImage if BestRenderable is UnicodeRenderable else Image

SHOWN = 16


class Sample(Vertical):
    DEFAULT_CSS = """
    Sample { width: 14; height: 8; }
    Sample > .image { width: 14; height: 7; }
    Sample Label { width: 14; height: 1; }
    """

    def __init__(self, pixels: list[int], truth: str, guess: str) -> None:
        super().__init__()
        self.image = PILImage.frombytes("L", (28, 28), bytes(pixels))
        right = truth == guess
        self.caption = Text(
            f"{guess[:6]}" if right else f"{guess[:4]}≠{truth[:4]}",
            style="green" if right else "bold red",
        )

    def compose(self) -> ComposeResult:
        yield DigitImage(self.image, classes="image")
        yield Label(self.caption)


class SampleGrid(Vertical):
    """The newest ``samples`` event of the selected run; redrawn only when another arrives."""

    DEFAULT_CSS = """
    SampleGrid Grid { grid-size: 4; grid-gutter: 0 1; grid-columns: 14; height: auto; }
    """

    samples: reactive[dict[str, Any] | None] = reactive(None, init=False)

    def compose(self) -> ComposeResult:
        yield Static("no validation pass yet", id="samples-summary")
        yield Grid(id="samples-grid")

    def on_resize(self) -> None:
        self.query_one("#samples-grid", Grid).styles.grid_size_columns = max(
            1, (self.size.width + 1) // 15
        )

    def show_view(self, view: RunView) -> None:
        self.samples = view.samples

    def watch_samples(self, samples: dict[str, Any] | None) -> None:
        grid = self.query_one("#samples-grid", Grid)
        grid.remove_children()
        if not samples:
            self.query_one("#samples-summary", Static).update("no validation pass yet")
            return
        classes = samples.get("classes") or [str(i) for i in range(10)]
        pairs = list(zip(samples["images"], samples["labels"], samples["predicted"]))[:SHOWN]
        wrong = sum(1 for _, y, p in pairs if y != p)
        self.query_one("#samples-summary", Static).update(
            f"validation images after epoch {samples.get('epoch', 0) + 1}: {len(pairs) - wrong} "
            f"right, {wrong} wrong"
        )
        grid.mount_all(Sample(pixels, classes[y], classes[p]) for pixels, y, p in pairs)
