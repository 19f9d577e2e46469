"""Provides one forward pass and one backpropagation step, written out as the lecture writes them,
for ``digitnet forward`` and ``digitnet backprop``.

A network is a list of layers ``(W, b)``, ``W`` of shape ``[n_out, n_in]``. For an input column
``a⁰ = x`` each layer computes ``zˡ = Wˡ aˡ⁻¹ + bˡ`` and ``aˡ = σ(zˡ)`` (``relu`` or
``sigmoid`` between layers; the last layer's ``a`` is σ(z) for the quadratic cost, softmax for
cross-entropy). The quadratic cost of one example is ``C = ½ Σⱼ (aⱼᴸ − yⱼ)²``, a term per output.

Backpropagation (the four equations of the textbook's chapter 2)::

    δᴸ = (aᴸ − y) ⊙ σ'(zᴸ)              BP1: the output error
    δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ)         BP2: back one layer
    ∂C/∂bˡ = δˡ                          BP3
    ∂C/∂Wˡ = δˡ (aˡ⁻¹)ᵀ                  BP4

and a gradient-descent step ``W ← W − η ∂C/∂W``. On the 2-2-1 XOR network of :func:`xor_network`
with input (1, 0) and target 1:

>>> net = xor_network()
>>> step = backprop(net, torch.tensor([1.0, 0.0]), torch.tensor([1.0]), lr=2.0)
>>> round(step.cost_before, 4), round(step.cost_after, 4), step.cost_after < step.cost_before
(0.3561, 0.3066, True)
>>> max(abs(a - n) for _, _, a, n in step.checks) < 1e-6  # BP4 against finite differences
True
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

Layer = tuple[torch.Tensor, torch.Tensor]


def xor_network(seed: int = 1) -> list[Layer]:
    """A 2-2-1 sigmoid network, weights N(0, 1) from ``seed`` (float64: the numbers are exact)."""
    generator = torch.Generator().manual_seed(seed)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    return [(normal(2, 2), normal(2)), (normal(1, 2), normal(1))]


def activate(z: torch.Tensor, activation: str) -> torch.Tensor:
    return torch.sigmoid(z) if activation == "sigmoid" else torch.relu(z)


def derivative(z: torch.Tensor, activation: str) -> torch.Tensor:
    """σ'(z): σ(z)(1 − σ(z)) for the sigmoid, 1 where z > 0 for ReLU."""
    if activation == "sigmoid":
        s = torch.sigmoid(z)
        return s * (1 - s)
    return (z > 0).to(z.dtype)


@dataclass
class Forward:
    """Each layer's ``z`` and ``a`` (``a[0]`` is the input), the output and the cost's terms."""

    z: list[torch.Tensor]
    a: list[torch.Tensor]
    terms: torch.Tensor | None  # the cost of each output, given a target

    @property
    def output(self) -> torch.Tensor:
        return self.a[-1]


def forward(
    net: list[Layer], x: torch.Tensor, y: torch.Tensor | None = None, activation: str = "sigmoid",
    cost: str = "mse",
) -> Forward:  # fmt: skip
    """One forward pass of ``x`` (a vector), layer by layer; with a target ``y`` (one-hot), the
    cost of each output: ``½ (aⱼ − yⱼ)²`` (quadratic, the last layer sigmoid) or
    ``−yⱼ log aⱼ`` (cross-entropy, the last layer softmax)."""
    zs, activations = [], [x]
    for i, (w, b) in enumerate(net):
        z = w @ activations[-1] + b
        last = i == len(net) - 1
        if last and cost == "cross_entropy":
            a = torch.softmax(z, dim=0)
        else:
            a = activate(z, "sigmoid" if last else activation)
        zs.append(z)
        activations.append(a)
    terms = None
    if y is not None:
        out = activations[-1]
        if cost == "cross_entropy":
            terms = -y * torch.log(out.clamp_min(1e-12))
        else:
            terms = 0.5 * (out - y) ** 2
    return Forward(zs, activations, terms)


@dataclass
class Step:
    """What one backpropagation step found and did."""

    deltas: list[torch.Tensor]  # δ of each layer, the first hidden layer first
    weight_grads: list[torch.Tensor]  # ∂C/∂W of each layer
    checks: list[tuple[int, tuple[int, int], float, float]]  # (layer, (j, k), BP4, finite diff.)
    cost_before: float
    cost_after: float
    net_after: list[Layer]


def cost_of(
    net: list[Layer], x: torch.Tensor, y: torch.Tensor, activation: str = "sigmoid"
) -> float:
    return float(forward(net, x, y, activation).terms.sum())


def backprop(
    net: list[Layer], x: torch.Tensor, y: torch.Tensor, lr: float, activation: str = "sigmoid",
    checks: int = 2,
) -> Step:  # fmt: skip
    """BP1-BP4 for the quadratic cost on one example, each layer's ``checks`` largest ``∂C/∂w``
    checked against central finite differences, and one gradient-descent step of rate ``lr``."""
    x, y = x.to(torch.float64), y.to(torch.float64)
    net = [(w.to(torch.float64), b.to(torch.float64)) for w, b in net]
    passed = forward(net, x, y, activation)
    last = len(net) - 1
    delta = (passed.a[-1] - y) * derivative(passed.z[-1], "sigmoid")  # BP1
    deltas = [delta]
    for layer in range(last - 1, -1, -1):  # BP2
        delta = (net[layer + 1][0].T @ delta) * derivative(passed.z[layer], activation)
        deltas.insert(0, delta)
    grads = [torch.outer(d, a) for d, a in zip(deltas, passed.a[:-1])]  # BP4
    found = []
    for layer, grad in enumerate(grads):  # the largest of each layer: a zero checks nothing
        largest = torch.topk(grad.abs().flatten(), min(checks, grad.numel())).indices.tolist()
        for j, k in (divmod(i, grad.shape[1]) for i in largest):
            found.append(
                (layer, (j, k), float(grad[j, k]), numeric(net, x, y, layer, j, k, activation))
            )
    after = [(w - lr * g, b - lr * d) for (w, b), g, d in zip(net, grads, deltas)]
    return Step(
        deltas, grads, found, float(passed.terms.sum()), cost_of(after, x, y, activation), after
    )


def numeric(
    net: list[Layer], x: torch.Tensor, y: torch.Tensor, layer: int, j: int, k: int,
    activation: str, eps: float = 1e-6,
) -> float:  # fmt: skip
    """``∂C/∂W[layer][j, k]`` by central differences: (C(w + ε) − C(w − ε)) / 2ε."""
    costs = []
    for sign in (1, -1):
        w = net[layer][0].clone()
        w[j, k] += sign * eps
        moved = [*net[:layer], (w, net[layer][1]), *net[layer + 1 :]]
        costs.append(cost_of(moved, x, y, activation))
    return (costs[0] - costs[1]) / (2 * eps)
