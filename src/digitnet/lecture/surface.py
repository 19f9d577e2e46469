"""Provides :func:`descent` and :func:`heat_map`: the quadratic cost of a gate's sigmoid neuron over
its two weights, drawn in the terminal with the path gradient descent takes across it.

The neuron is ``σ(w₁x₁ + w₂x₂ + b)`` on the gate's four inputs, its cost ``C = ½·mean (a − y)²``.
Gradient descent moves ``(w₁, w₂, b)`` together; the map shows ``C`` over ``(w₁, w₂)`` with ``b``
held at the value descent ended with, so the valley it found is drawn where the path ends::

    >>> path = descent("AND", steps=400)
    >>> path[0][:2], path[-1][3] < path[0][3]
    ((0.0, 0.0), True)
    >>> lines = heat_map("AND", path, width=30, height=10)
    >>> len(lines), all(len(line) == len(lines[0]) for line in lines[1:-2])
    (12, True)
"""

from __future__ import annotations

import torch

from digitnet.lecture.neurons import GATES, INPUTS

SHADES = " .:-=+*#%@"  # low cost to high
SPAN = 8.0  # the map covers w₁, w₂ in [-SPAN, SPAN]


def cost(gate: str, w1: torch.Tensor, w2: torch.Tensor, b: float) -> torch.Tensor:
    """C at every (w₁, w₂) of two same-shaped tensors, for bias ``b``."""
    x, y = INPUTS, GATES[gate]
    z = w1[..., None] * x[:, 0] + w2[..., None] * x[:, 1] + b
    return 0.5 * ((torch.sigmoid(z) - y) ** 2).mean(-1)


def descent(
    gate: str, steps: int = 600, lr: float = 4.0
) -> list[tuple[float, float, float, float]]:
    """Full-batch gradient descent from w = (0, 0), b = 0: ``(w₁, w₂, b, C)`` after each step."""
    x, y = INPUTS, GATES[gate]
    w, b = torch.zeros(2), torch.zeros(())
    path = []
    for _ in range(steps + 1):
        a = torch.sigmoid(x @ w + b)
        path.append((float(w[0]), float(w[1]), float(b), float(0.5 * ((a - y) ** 2).mean())))
        delta = (a - y) * a * (1 - a)
        w = w - lr * (delta @ x) / len(y)
        b = b - lr * delta.mean()
    return path


def heat_map(
    gate: str, path: list[tuple[float, float, float, float]], width: int = 60, height: int = 20
) -> list[str]:
    """The map as lines: a row per w₂ (top: +SPAN), a column per w₁, each cell shaded by C
    (``' '`` lowest to ``'@'`` highest), the path as ``o``, its start ``S`` and end ``E``; then
    the w₁ axis and the key."""
    b = path[-1][2]
    w1 = torch.linspace(-SPAN, SPAN, width).expand(height, width)
    w2 = torch.linspace(SPAN, -SPAN, height)[:, None].expand(height, width)
    c = cost(gate, w1, w2, b)
    low, high = float(c.min()), float(c.max())
    level = ((c - low) / max(high - low, 1e-12) * (len(SHADES) - 1)).round().long()
    grid = [[SHADES[int(v)] for v in row] for row in level]

    def cell(u: float, v: float) -> tuple[int, int] | None:
        col = round((u + SPAN) / (2 * SPAN) * (width - 1))
        row = round((SPAN - v) / (2 * SPAN) * (height - 1))
        return (row, col) if 0 <= col < width and 0 <= row < height else None

    for u, v, _, _ in path[:: max(1, len(path) // 40)]:
        at = cell(u, v)
        if at:
            grid[at[0]][at[1]] = "o"
    for mark, (u, v, _, _) in (("S", path[0]), ("E", path[-1])):
        at = cell(u, v)
        if at:
            grid[at[0]][at[1]] = mark
    rows = [
        f"{'w2 ' + format(SPAN, '+.0f') if i == 0 else '':>6} |{''.join(r)}|"
        for i, r in enumerate(grid)
    ]
    rows[-1] = f"{format(-SPAN, '+.0f'):>6} |{''.join(grid[-1])}|"
    axis = f"{'':>6}  {format(-SPAN, '+.0f')}{'w1':^{width - 6}}{format(SPAN, '+.0f')}"
    key = (
        f"C from {low:.3f} ('{SHADES[0]}') to {high:.3f} ('{SHADES[-1]}'), b held at {b:.2f}; "
        f"descent S -> E: C {path[0][3]:.3f} -> {path[-1][3]:.3f} in {len(path) - 1} steps"
    )
    return [*rows, axis, key]
