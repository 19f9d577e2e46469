"""Provides :class:`SampleGrid`: validation images, their labels and guesses, mistakes in red."""

from __future__ import annotations

from typing import Any

from PIL import Image as PILImage
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

from digitnet.dashboard.state import RunView
from digitnet.dashboard.widgets.tiles import Tile, Tiles

SHOWN = 16


def sample(pixels: list[int], truth: str, guess: str) -> Tile:
    """One validation image, captioned with the network's guess: ``✓ Sneaker`` in green when it
    is right; ``✗ Shirt`` in red over ``is Bag`` (what the image is) when it is wrong. Every
    FashionMNIST class name fits a tile's 14 columns whole."""
    if truth == guess:
        caption = Text(f"✓ {guess}", style="green")
    else:
        caption = Text.assemble((f"✗ {guess}", "bold red"), "\n", (f"is {truth}", "grey70"))
    return Tile(PILImage.frombytes("L", (28, 28), bytes(pixels)), caption)


class SampleGrid(Vertical):
    """The newest ``samples`` event of the selected run; redrawn only when another arrives."""

    samples: reactive[dict[str, Any] | None] = reactive(None, init=False)

    def compose(self) -> ComposeResult:
        yield Static("no validation pass yet", id="samples-summary")
        yield Tiles(id="samples-grid")

    def show_view(self, view: RunView) -> None:
        self.samples = view.samples

    def watch_samples(self, samples: dict[str, Any] | None) -> None:
        grid = self.query_one("#samples-grid", Tiles)
        grid.remove_children()
        if not samples:
            self.query_one("#samples-summary", Static).update("no validation pass yet")
            return
        classes = samples.get("classes") or [str(i) for i in range(10)]
        pairs = list(zip(samples["images"], samples["labels"], samples["predicted"]))[:SHOWN]
        wrong = sum(1 for _, y, p in pairs if y != p)
        self.query_one("#samples-summary", Static).update(
            f"validation images after epoch {samples.get('epoch', 0) + 1}: {len(pairs) - wrong} "
            f"right, {wrong} wrong. Under each image the network's guess: ✓ right; ✗ wrong, "
            "with what the image is under it."
        )
        grid.mount_all(sample(pixels, classes[y], classes[p]) for pixels, y, p in pairs)
