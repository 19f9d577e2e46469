"""Provides the lecture's single neurons: Rosenblatt's perceptron and the sigmoid neuron, in plain
torch.

A perceptron with weights ``w`` and bias ``b`` outputs 1 when ``w·x + b > 0`` and 0 otherwise.
The perceptron learning rule nudges it after every wrong answer: ``w += lr·(target − output)·x``
and ``b += lr·(target − output)``, until a whole epoch passes without a mistake. For NAND
(learning rate 1, starting from zeros) it ends at ``w = [-2, -1], b = 3``:

    x = (0, 0):  0 + 0 + 3 = 3 > 0 -> 1
    x = (0, 1):  0 - 1 + 3 = 2 > 0 -> 1
    x = (1, 0): -2 + 0 + 3 = 1 > 0 -> 1
    x = (1, 1): -2 - 1 + 3 = 0     -> 0

The rule converges whenever a line separates the 1s from the 0s (AND, OR, NAND); for XOR no line
does, so it never gets through an epoch without a mistake, and :func:`train_gate` says so.
A sigmoid neuron has the same ``w`` and ``b`` but outputs ``σ(w·x + b)``, a smooth value in (0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

INPUTS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
GATES = {
    "AND": torch.tensor([0.0, 0.0, 0.0, 1.0]),
    "OR": torch.tensor([0.0, 1.0, 1.0, 1.0]),
    "NAND": torch.tensor([1.0, 1.0, 1.0, 0.0]),
    "XOR": torch.tensor([0.0, 1.0, 1.0, 0.0]),
}


class Perceptron:
    """A step-activation neuron trained by the perceptron learning rule."""

    def __init__(self, n_inputs: int, lr: float = 1.0) -> None:
        self.w = torch.zeros(n_inputs)
        self.b = torch.zeros(())
        self.lr = lr

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x @ self.w + self.b > 0).float()

    def fit(self, x: torch.Tensor, y: torch.Tensor, max_epochs: int = 100) -> tuple[bool, int]:
        """Train until an epoch has no mistake; return (converged, epochs used)."""
        for epoch in range(1, max_epochs + 1):
            mistakes = 0
            for xi, yi in zip(x, y):
                error = yi - self(xi)
                if error != 0:
                    mistakes += 1
                    self.w += self.lr * error * xi
                    self.b += self.lr * error
            if mistakes == 0:
                return True, epoch
        return False, max_epochs


class SigmoidNeuron:
    """``σ(w·x + b)``, trained by gradient descent on the quadratic cost ½(a − y)² averaged over
    inputs."""

    def __init__(self, n_inputs: int, lr: float = 2.0, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.w = torch.randn(n_inputs, generator=generator)
        self.b = torch.randn((), generator=generator)
        self.lr = lr

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x @ self.w + self.b)

    def fit(self, x: torch.Tensor, y: torch.Tensor, epochs: int = 2000) -> float:
        """Full-batch gradient descent; returns the final cost."""
        for _ in range(epochs):
            a = self(x)
            delta = (a - y) * a * (1 - a)  # dC/dz for C = ½(a − y)²
            self.w -= self.lr * (delta @ x) / len(y)
            self.b -= self.lr * delta.mean()
        return float(0.5 * ((self(x) - y) ** 2).mean())


@dataclass
class GateResult:
    gate: str
    converged: bool
    epochs: int
    weights: list[float]
    bias: float
    outputs: list[int]
    sigmoid_outputs: list[float]

    @property
    def learned(self) -> bool:
        return self.converged and self.outputs == GATES[self.gate].int().tolist()


def train_gate(gate: str, max_epochs: int = 100) -> GateResult:
    """Train a perceptron (and, beside it, a sigmoid neuron) on one gate's truth table."""
    target = GATES[gate]
    perceptron = Perceptron(2)
    converged, epochs = perceptron.fit(INPUTS, target, max_epochs)
    sigmoid = SigmoidNeuron(2)
    sigmoid.fit(INPUTS, target)
    return GateResult(
        gate,
        converged,
        epochs,
        perceptron.w.tolist(),
        float(perceptron.b),
        perceptron(INPUTS).int().tolist(),
        [round(float(a), 3) for a in sigmoid(INPUTS)],
    )


class MulticlassPerceptron:
    """Ten perceptrons over the 784 raw pixels, one per class; the highest score wins.

    On a mistake (true class ``y``, guess ``g``) the rule adds the image to ``W[y]`` and subtracts
    it from ``W[g]``. It has no hidden layer: a linear baseline for the networks.
    """

    def __init__(self, classes: int = 10, features: int = 784) -> None:
        self.W = torch.zeros(classes, features)
        self.b = torch.zeros(classes)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return (x @ self.W.T + self.b).argmax(dim=1)

    def fit_epoch(self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> int:
        mistakes = 0
        for i in torch.randperm(len(y), generator=generator).tolist():
            xi, yi = x[i], int(y[i])
            guess = int((self.W @ xi + self.b).argmax())
            if guess != yi:
                mistakes += 1
                self.W[yi] += xi
                self.b[yi] += 1
                self.W[guess] -= xi
                self.b[guess] -= 1
        return mistakes
