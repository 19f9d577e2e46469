"""Provides the plain ``nn.Module`` networks and cost functions; nothing here knows Lightning.

Shapes follow the slides: an image is 28 x 28 = 784 pixels, flattened; a network maps a batch
``x`` of shape ``[B, 1, 28, 28]`` (or ``[B, 784]``) to ``[B, 10]`` scores ``z``, one per class.

``MLP([784, 30, 10], "sigmoid")`` is the textbook's network: 784 inputs, one hidden layer of 30
sigmoid neurons, 10 outputs. ``MLP([784, 512, 512, 10], "relu")`` prints as the slides'
``MyNeuralNetwork``::

    MLP(
      (flatten): Flatten(start_dim=1, end_dim=-1)
      (stack): Sequential(
        (0): Linear(in_features=784, out_features=512, bias=True)
        (1): ReLU()
        (2): Linear(in_features=512, out_features=512, bias=True)
        (3): ReLU()
        (4): Linear(in_features=512, out_features=10, bias=True)
      )
    )
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATION_MODULES = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


class MLP(nn.Module):
    """Fully connected layers of the given sizes, ``activation`` between them, none after the
    last."""

    def __init__(self, layers: list[int], activation: str = "relu") -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        modules: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(layers[:-1], layers[1:])):
            modules.append(nn.Linear(n_in, n_out))
            if i < len(layers) - 2:
                modules.append(ACTIVATION_MODULES[activation]())
        self.stack = nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stack(self.flatten(x))


class CNN(nn.Module):
    """The textbook's chapter 6 network: two conv-pool layers, a fully connected layer, 10 outputs.

    ``[B, 1, 28, 28]`` -> conv 5x5 (20) -> pool 2 -> ``[B, 20, 12, 12]`` -> conv 5x5 (40) -> pool 2
    -> ``[B, 40, 4, 4]`` -> 640 -> ``hidden`` -> 10; ``activation`` after each conv and the hidden
    layer.
    """

    def __init__(self, hidden: int = 100, activation: str = "relu") -> None:
        super().__init__()
        act = ACTIVATION_MODULES[activation]
        self.features = nn.Sequential(
            nn.Conv2d(1, 20, 5),
            act(),
            nn.MaxPool2d(2),
            nn.Conv2d(20, 40, 5),
            act(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Linear(640, hidden), act(), nn.Linear(hidden, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x.reshape(-1, 1, 28, 28)))


def init_gaussian(network: nn.Module, scaled: bool) -> None:
    """Draw every weight and bias from N(0, 1) (textbook ch. 1), or weights from N(0, 1/n_in) (ch.
    3).

    ``n_in`` is a neuron's number of inputs: 784 for the first hidden layer, 25 x channels for a
    conv.
    """
    for module in network.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            n_in = module.weight[0].numel()
            nn.init.normal_(module.weight, 0.0, n_in**-0.5 if scaled else 1.0)
            nn.init.normal_(module.bias, 0.0, 1.0)


def quadratic_cost(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The slides' quadratic cost: ½ Σ_j (a_j − y_j)² over the 10 output neurons, averaged over the
    batch.

    The output neurons are sigmoid neurons, ``a = σ(z)``, and ``y`` is the one-hot target, as in the
    textbook's ``network.py`` (its C = 1/2n Σ_x ‖y(x) − a‖²). Worked example for one image of
    class 1 with all outputs a_j = 0.5: ½ (0.5² · 9 + (0.5 − 1)²) = ½ · 2.5 = 1.25.
    """
    a = torch.sigmoid(z)
    target = F.one_hot(y, a.shape[1]).to(a.dtype)
    return 0.5 * (a - target).pow(2).sum(dim=1).mean()


def sigmoid_cross_entropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The textbook's ch. 3 cross-entropy: −Σ_j [y_j ln a_j + (1−y_j) ln(1−a_j)], a = σ(z), batch
    mean.

    For one image of class 1 with all z_j = 0 (a_j = 0.5): 10 · ln 2 ≈ 6.931.
    """
    target = F.one_hot(y, z.shape[1]).to(z.dtype)
    return F.binary_cross_entropy_with_logits(z, target, reduction="none").sum(dim=1).mean()


def softmax_cross_entropy(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The modern cross-entropy: −ln softmax(z)_y, averaged over the batch
    (``nn.CrossEntropyLoss``)."""
    return F.cross_entropy(z, y)


COSTS = {
    "cross_entropy": softmax_cross_entropy,
    "mse": quadratic_cost,
    "sigmoid_cross_entropy": sigmoid_cross_entropy,
}


def probabilities(z: torch.Tensor, loss: str) -> torch.Tensor:
    """Class probabilities from scores: softmax for cross-entropy, normalized sigmoid outputs
    otherwise."""
    if loss == "cross_entropy":
        return torch.softmax(z, dim=1)
    a = torch.sigmoid(z)
    return a / a.sum(dim=1, keepdim=True)


def first_layer_images(network: nn.Module, limit: int = 64) -> torch.Tensor:
    """What each of the first ``limit`` neurons of the first layer looks for, as images
    ``[n, h, w]`` (float32, on the CPU): a hidden neuron of an MLP weighs the 784 pixels, so its
    weights are a 28x28 image; a filter of the CNN's first convolution is a 5x5 image.

    >>> first_layer_images(MLP([784, 30, 10], "sigmoid")).shape
    torch.Size([30, 28, 28])
    >>> first_layer_images(CNN()).shape
    torch.Size([20, 5, 5])
    """
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            return module.weight.detach()[:limit, 0].float().cpu()
        if isinstance(module, nn.Linear):
            weight = module.weight.detach()[:limit]
            side = int(round(weight.shape[1] ** 0.5))
            return weight.float().cpu().reshape(-1, side, side)
    raise ValueError("the network has no first layer of weights to show")
