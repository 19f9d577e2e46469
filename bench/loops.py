"""The reference training loops that digitnet is measured against, each timed one epoch at a time.

All take the training split as one uint8 tensor ``images [N, 28, 28]`` and ``labels [N]`` (the
same 50,000 images digitnet trains on) and run the same network, optimizer and batch size.
"""

from __future__ import annotations

import itertools
import math
import time

import torch
from torch import nn

MEAN, STD = 0.1307, 0.3081


def mlp(layers=(784, 512, 512, 10), activation=nn.ReLU) -> nn.Module:
    """The slides' ``MyNeuralNetwork`` for the default sizes (same init as digitnet's MLP)."""
    modules: list[nn.Module] = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(layers[:-1], layers[1:])):
        modules.append(nn.Linear(a, b))
        if i < len(layers) - 2:
            modules.append(activation())
    return nn.Sequential(*modules)


def sgd_with_cosine(model: nn.Module, lr: float, momentum: float, total: int):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: 0.5 * (1 + math.cos(math.pi * min(t / total, 1)))
    )
    return optimizer, schedule


def update(model, optimizer, schedule, loss_fn, x, y) -> None:
    """One SGD update, as the slides write it."""
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    if schedule is not None:
        schedule.step()


def bare_epoch(model, optimizer, schedule, images, labels, batch_size: int, generator) -> float:
    """(1a) The floor a framework can at best match: slices of one tensor, no loader, no hooks."""
    start = time.perf_counter()
    order = torch.randperm(len(labels), generator=generator)
    loss_fn = nn.CrossEntropyLoss()
    for begin in range(0, len(order), batch_size):
        index = order[begin : begin + batch_size]
        update(
            model,
            optimizer,
            schedule,
            loss_fn,
            (images[index].float() - 255 * MEAN) / (255 * STD),
            labels[index],
        )
    return time.perf_counter() - start


def matmul_epoch(n: int, batch_size: int, layers=(784, 512, 512, 10)) -> float:
    """(1b) Only the matrix products of an epoch: 3 forward, 3 weight gradients, 2 input gradients a
    step."""
    weights = [torch.randn(b, a) for a, b in zip(layers[:-1], layers[1:])]
    x = torch.randn(batch_size, layers[0])
    acts = [x] + [torch.randn(batch_size, b) for b in layers[1:]]
    start = time.perf_counter()
    for _ in range(math.ceil(n / batch_size)):
        for a, w in zip(acts[:-1], weights):
            a @ w.T  # forward
        for i, w in enumerate(weights):
            acts[i + 1].T @ acts[i]  # weight gradient
            if i > 0:
                acts[i + 1] @ w  # input gradient
    return time.perf_counter() - start


def slides_epoch(model, optimizer, schedule, loader) -> float:
    """(2) The slides' loop: ``for X, y in DataLoader(datasets.MNIST(..., transform=ToTensor()),
    64)``."""
    start = time.perf_counter()
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for X, y in loader:
        update(model, optimizer, schedule, loss_fn, X, y)
    return time.perf_counter() - start


def folded_epoch(
    layers, buffers, images, labels, batch_size: int, rates, generator, activation, loss, momentum
) -> float:
    """One epoch of digitnet's update, ``digitnet.model.engine.backprop_sgd`` (written-out
    backpropagation with each gradient folded into its SGD step), in a bare loop over slices of one
    resident uint8 tensor, with no framework: what digitnet's engine costs without Lightning.
    ``layers`` is a list of ``(W, b)``, updated in place; ``buffers`` their momentum buffers (zeros
    at first, kept across epochs; unused without momentum); ``rates`` an iterator of the learning
    rates, one an update. Pixels are scaled to [0, 1] for ``sigmoid`` (the textbook), else
    normalised."""
    from digitnet.model.engine import backprop_sgd

    params = [p for pair in layers for p in pair]
    start = time.perf_counter()
    order = torch.randperm(len(labels), generator=generator)
    with torch.no_grad():
        for begin in range(0, len(order), batch_size):
            index = order[begin : begin + batch_size]
            pixels = images[index].float()
            x = pixels / 255 if activation == "sigmoid" else (pixels - 255 * MEAN) / (255 * STD)
            settings = [(next(rates), momentum, 0.0)] * len(params)
            backprop_sgd(layers, activation, loss, x, labels[index], settings, buffers)
    return time.perf_counter() - start


def backprop_epoch(layers, images, labels, batch_size: int, lr: float, generator) -> float:
    """(4b) The textbook setting's floor: :func:`folded_epoch` with sigmoid neurons, the quadratic
    cost and plain SGD, on one thread (as ``digitnet fit`` trains this network)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rates = itertools.repeat(lr)
    seconds = folded_epoch(
        layers, None, images, labels, batch_size, rates, generator, "sigmoid", "mse", 0.0
    )
    torch.set_num_threads(threads)
    return seconds


class GraphLoop:
    """(5) The GPU floor: the slides' MLP and SGD update (momentum 0.9, batch 64, constant learning
    rate) in one file, the data set resident on the device, the update captured once as a CUDA
    graph and replayed for each mini-batch: no framework, no Python per operation. Only a
    mini-batch's 64 indices are copied in before each replay."""

    def __init__(self, images, labels, batch_size: int = 64, lr: float = 0.05):
        device = torch.device("cuda")
        self.images = images.to(device).reshape(len(labels), -1)
        self.labels = labels.to(device)
        self.batch_size = batch_size
        self.model = mlp().to(device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)
        self.index = torch.zeros(batch_size, dtype=torch.long, device=device)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up: libraries allocate their workspaces here
            for _ in range(3):
                self.optimizer.zero_grad(set_to_none=True)
                self._update()
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            self._update()

    def _update(self) -> None:
        x = (self.images.index_select(0, self.index).float() - 255 * MEAN) / (255 * STD)
        loss = nn.functional.cross_entropy(self.model(x), self.labels.index_select(0, self.index))
        loss.backward()
        self.optimizer.step()

    def epoch(self, generator) -> float:
        """Seconds for one epoch of full mini-batches (781 updates for 50,000 images at 64)."""
        torch.cuda.synchronize()
        start = time.perf_counter()
        order = torch.randperm(len(self.labels), generator=generator).cuda()
        for begin in range(0, len(order) - self.batch_size + 1, self.batch_size):
            self.index.copy_(order[begin : begin + self.batch_size])
            self.graph.replay()
        torch.cuda.synchronize()
        return time.perf_counter() - start

    def accuracy(self, images, labels) -> float:
        with torch.no_grad():
            x = (images.cuda().reshape(len(labels), -1).float() - 255 * MEAN) / (255 * STD)
            return (self.model(x).argmax(1) == labels.cuda()).float().mean().item()


def written_out_epoch(layers, buffers, images, labels, batch_size, rates, generator) -> float:
    """(1c) The default MLP's floor: :func:`folded_epoch` with ReLU, softmax cross-entropy and
    momentum 0.9."""
    return folded_epoch(
        layers, buffers, images, labels, batch_size, rates, generator, "relu", "cross_entropy", 0.9
    )
