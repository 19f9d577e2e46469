"""Provides :class:`Network`: the textbook's ``network.py`` (Nielsen, ch. 1), in NumPy, as the book
computes it: the reference that ``digitnet reproduce`` sets beside the ``nielsen-ch1*`` presets.

Sigmoid neurons, quadratic cost, mini-batch SGD; weights and biases N(0, 1); backpropagation one
example at a time inside each mini-batch, summed, then ``w -= eta/m · Σ∇w``, as the book does.
The data are laid out as the book's loader lays them out, once, before training
(:func:`book_layout`): an image is a (784, 1) column, its target a one-hot (10, 1) column, so an
epoch does the book's operations per example and nothing else. The products are ``np.dot``, as in
the book: NumPy's ``@`` on these columns made an epoch about 1.5 x as long.

    >>> data = book_layout(np.zeros((2, 784)), np.array([3, 7]))
    >>> data[0][0].shape, data[1][1].ravel().tolist()
    ((784, 1), [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0])
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def book_layout(x, y, classes: int = 10) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(image (784, 1), one-hot target (classes, 1)), ...]`` from images ``x`` (N, 784) in [0,
    1] and labels ``y`` (N,): the layout of the book's ``load_data_wrapper``."""
    eye = np.eye(classes)
    return [(row.reshape(-1, 1), eye[label].reshape(-1, 1)) for row, label in zip(x, y)]


class Network:
    def __init__(self, sizes, seed=0):
        rng = np.random.default_rng(seed)
        self.sizes = sizes
        self.biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
        self.weights = [rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:])]
        self.rng = rng

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def epoch(self, data, mini_batch_size, eta) -> float:
        """One epoch of SGD over ``data`` laid out by :func:`book_layout`; returns seconds."""
        start = time.perf_counter()
        order = self.rng.permutation(len(data))
        for k in range(0, len(order), mini_batch_size):
            self.update_mini_batch([data[i] for i in order[k : k + mini_batch_size]], eta)
        return time.perf_counter() - start

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, target in mini_batch:
            delta_b, delta_w = self.backprop(x, target)
            nabla_b = [nb + d for nb, d in zip(nabla_b, delta_b)]
            nabla_w = [nw + d for nw, d in zip(nabla_w, delta_w)]
        m = len(mini_batch)
        self.weights = [w - (eta / m) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / m) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, target):
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - target) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        nabla_b[-1], nabla_w[-1] = delta, np.dot(delta, activations[-2].T)
        for layer in range(2, len(self.sizes)):
            sp = sigmoid(zs[-layer]) * (1 - sigmoid(zs[-layer]))
            delta = np.dot(self.weights[-layer + 1].T, delta) * sp
            nabla_b[-layer], nabla_w[-layer] = delta, np.dot(delta, activations[-layer - 1].T)
        return nabla_b, nabla_w

    def accuracy(self, x, y) -> float:
        out = (
            sigmoid(
                self.weights[-1] @ sigmoid(self.weights[0] @ x.T + self.biases[0]) + self.biases[-1]
            )
            if len(self.weights) == 2
            else np.hstack([self.feedforward(col.reshape(-1, 1)) for col in x])
        )
        return float((out.argmax(axis=0) == y).mean())


@dataclass(frozen=True)
class Setting:
    """What ``network.py`` needs to train as a preset does: ``Network(sizes).SGD(..., epochs,
    mini_batch_size, eta)``, on the preset's data set and 50k/10k split."""

    sizes: list[int]
    epochs: int
    batch_size: int
    eta: float
    dataset: str
    val_size: int


def setting_of(config: dict) -> Setting | None:
    """The textbook setting a preset's config describes, or None if it is not ``network.py``'s.

    ``network.py`` is sigmoid neurons, the quadratic cost, plain mini-batch SGD at a constant
    rate, N(0, 1) weights and biases and pixels in [0, 1]::

        >>> config = {"trainer": {"max_epochs": 30}, "data": {"batch_size": 10},
        ...           "model": {"layers": [784, 30, 10], "activation": "sigmoid", "loss": "mse",
        ...                     "optimizer": "sgd", "lr": 3.0, "momentum": 0.0, "init": "gaussian",
        ...                     "schedule": "constant", "normalize": False}}
        >>> setting = setting_of(config)
        >>> setting.sizes, setting.epochs, setting.batch_size, setting.eta
        ([784, 30, 10], 30, 10, 3.0)
        >>> setting_of({**config, "model": {**config["model"], "loss": "cross_entropy"}}) is None
        True
    """
    model, data = config.get("model") or {}, config.get("data") or {}
    textbook = {
        "activation": "sigmoid",
        "loss": "mse",
        "optimizer": "sgd",
        "momentum": 0.0,
        "init": "gaussian",
        "schedule": "constant",
        "normalize": False,
        "arch": "mlp",
    }
    if any(
        model.get(key, "mlp" if key == "arch" else None) != want for key, want in textbook.items()
    ):
        return None
    return Setting(
        sizes=list(model["layers"]),
        epochs=int((config.get("trainer") or {}).get("max_epochs", 30)),
        batch_size=int(data.get("batch_size", 10)),
        eta=float(model["lr"]),
        dataset=data.get("dataset", "mnist"),
        val_size=int(data.get("val_size", 10_000)),
    )


def train(setting: Setting, seed: int, splits: dict[str, tuple]) -> dict:
    """Train ``network.py`` as the book does; ``splits`` maps train/val/test to (pixels 0..1 as
    float64 [N, 784], labels [N]). Returns the validation accuracy of every epoch, the test
    accuracy at the best one, and the training seconds."""
    network = Network(setting.sizes, seed=seed)
    data = book_layout(*splits["train"], classes=setting.sizes[-1])
    val_accs, test_at_best, seconds = [], None, 0.0
    for _ in range(setting.epochs):
        seconds += network.epoch(data, setting.batch_size, setting.eta)
        val_accs.append(network.accuracy(*splits["val"]))
        if val_accs[-1] == max(val_accs):
            test_at_best = network.accuracy(*splits["test"])
    return {"val_accs": val_accs, "test_acc": test_at_best, "seconds": round(seconds, 2)}
