"""Provides :class:`Tile` and :class:`Tiles`: small captioned images in a grid that fills the
width, for the Samples and Weights tabs.

Images are drawn by textual-image: with the terminal's graphics protocol where it has one (Kitty,
Sixel), else with Unicode half blocks.
"""

from __future__ import annotations

from PIL import Image as PILImage
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Label
from textual_image.renderable import Image as BestRenderable
from textual_image.renderable.unicode import Image as UnicodeRenderable
from textual_image.widget import HalfcellImage, Image

# Without a graphics protocol, textual-image falls back to shaded Unicode blocks; half blocks show
# a 28x28 image far more clearly (each cell is two pixels, one above the other).
TileImage = HalfcellImage if BestRenderable is UnicodeRenderable else Image


class Tile(Vertical):
    """An image 14 cells wide and 7 high (28x28 pixels as half blocks) over a caption of one or
    two lines."""

    DEFAULT_CSS = """
    Tile { width: 14; height: auto; }
    Tile > .image { width: 14; height: 7; }
    Tile Label { width: 14; height: auto; max-height: 2; }
    """

    def __init__(self, image: PILImage.Image, caption: Text) -> None:
        super().__init__()
        self.image, self.caption = image, caption

    def compose(self) -> ComposeResult:
        yield TileImage(self.image, classes="image")
        yield Label(self.caption)


class Tiles(Grid):
    """As many 14-cell columns a row as the width holds."""

    DEFAULT_CSS = """
    Tiles { grid-size: 4; grid-gutter: 0 1; grid-columns: 14; height: auto; }
    """

    def on_resize(self) -> None:
        self.styles.grid_size_columns = max(1, (self.size.width + 1) // 15)
