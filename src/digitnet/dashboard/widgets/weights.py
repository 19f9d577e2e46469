"""Provides :class:`WeightsGrid`: what each hidden neuron of the first layer looks for.

A hidden neuron of an MLP weighs each of the 784 pixels: its weights, laid out as the 28x28 image
they multiply, show the pattern that excites it (red: ink there raises its input; blue: ink there
lowers it). The run's recorder writes the first 64 neurons' weights (the CNN: its 20 first-layer
filters, 5x5) into ``weights.npy`` at each checkpoint (:mod:`digitnet.runs.layout`); the grid
reads it again when a ``weights`` event says it changed. Each image is scaled to its own largest
weight, so a neuron with small weights still shows its pattern.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image as PILImage
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

from digitnet.dashboard.state import RunView
from digitnet.dashboard.widgets.tiles import Tile, Tiles
from digitnet.runs.listing import RunInfo

ZERO = np.array([24.0, 24.0, 24.0])  # a weight of 0: near black, the terminal's background
POSITIVE = np.array([255.0, 72.0, 48.0])  # red
NEGATIVE = np.array([48.0, 132.0, 255.0])  # blue


def diverging(weights: np.ndarray) -> PILImage.Image:
    """An RGB image of ``weights [h, w]``: 0 dark, the largest positive weight full red, the most
    negative full blue, in between by the weight's size; small filters are enlarged to 28x28.

    >>> image = diverging(np.array([[1.0, -0.5], [0.0, -1.0]]))
    >>> image.size, image.getpixel((0, 0)), image.getpixel((27, 27))
    ((28, 28), (255, 72, 48), (48, 132, 255))
    """
    scale = float(np.abs(weights).max()) or 1.0
    t = np.clip(weights / scale, -1.0, 1.0)[..., None]
    rgb = ZERO + np.where(t > 0, t * (POSITIVE - ZERO), -t * (NEGATIVE - ZERO))
    image = PILImage.fromarray(rgb.round().astype(np.uint8), "RGB")
    return image if image.size == (28, 28) else image.resize((28, 28), PILImage.NEAREST)


class WeightsGrid(Vertical):
    """The selected run's first-layer weights at its latest checkpoint."""

    # (run, epoch of the newest weights event, weights events seen, whether they were readable);
    # None: no checkpoint with weights yet. The array itself is ``self.weights``.
    shown: reactive[tuple | None] = reactive(None, init=False)
    weights: Any = None

    def compose(self) -> ComposeResult:
        yield Static("", id="weights-summary")
        yield Tiles(id="weights-grid")

    hidden: int | None = None  # the first hidden layer's size, from the run's settings

    def on_mount(self) -> None:
        self.watch_shown(None)

    def show_run(self, info: RunInfo | None, view: RunView, weights: Any) -> None:
        """``weights``: the run's weights.npy as the watcher read it (None: unreadable)."""
        count = view.counts.get("weights", 0)
        self.weights = weights
        readable = weights is not None
        layers = (
            view.config.get("model", {}).get("layers") if isinstance(view.config, dict) else None
        )
        hidden = layers[1] if isinstance(layers, list) and len(layers) > 2 else None
        self.hidden = hidden if isinstance(hidden, int) and hidden > 0 else None
        self.shown = (info.name, view.weights_epoch, count, readable) if info and count else None

    def watch_shown(self, shown: tuple | None) -> None:
        grid = self.query_one("#weights-grid", Tiles)
        summary = self.query_one("#weights-summary", Static)
        grid.remove_children()
        if shown is None:
            summary.update("no checkpoint with weights yet (written at each epoch's end)")
            return
        weights = self.weights
        if weights is None:
            summary.update("weights.npy of this run is missing or unreadable")
            return
        n, h, w = weights.shape
        of = f"the first {n} of {self.hidden:,}" if self.hidden and self.hidden > n else f"{n}"
        what = "hidden neurons, 28x28 weights each" if (h, w) == (28, 28) else f"filters, {h}x{w}"
        summary.update(
            Text.assemble(
                f"first layer after epoch {shown[1]}: {of if (h, w) == (28, 28) else n} {what}; ",
                ("red positive", "rgb(255,72,48)"),
                ", ",
                ("blue negative", "rgb(48,132,255)"),
                ", each scaled to its largest weight",
            )
        )
        grid.mount_all(Tile(diverging(image), Text(f"#{i}")) for i, image in enumerate(weights))
