"""Provides the update engines: the one place that owns "an update" of the weights.

An engine's :meth:`Engine.update` takes ``k`` mini-batches stacked as ``x [k, B, ...]`` and
``y [k, B]`` and makes k updates, each one exactly what a plain loop does: gradients of the cost
of one mini-batch, one optimizer step (momentum and weight decay as ``torch.optim.SGD`` defines
them), one step of the learning-rate schedule. It returns the k costs. Two engines compute the
gradients:

- :class:`AutogradEngine`: the reference; any network, cost and optimizer; PyTorch's autograd.
- :class:`BackpropEngine`: the lecture's backpropagation written out for the MLP, with no
  autograd graph. For a layer ``l`` with weights ``W`` (``[n_out, n_in]``), biases ``b``,
  ``z = a_prev Wᵀ + b`` and ``a = f(z)`` (rows are images), the four equations are

  - (BP1) the output error, from the cost: quadratic ``(σ(z) − y) ⊙ σ'(z)``; softmax
    cross-entropy ``softmax(z) − y``; the textbook's sigmoid cross-entropy ``σ(z) − y``;
  - (BP2) each earlier layer's error ``δ = (δ_next W_next) ⊙ f'(z)``, with ``σ'(z) = a(1 − a)``
    and ``relu'(z) = [z > 0]``;
  - (BP3) ``∂C/∂b = δ`` and (BP4) ``∂C/∂W = δᵀ a_prev``, averaged over the mini-batch.

  With SGD, BP3 and BP4 need not be stored: :func:`backprop_sgd` folds each into its layer's
  step (``W ← W − (η/B) δᵀ a_prev`` is one ``addmm_``), which at batch 10 is most of the speed.

Worked example, a 2-2-1 network of sigmoid neurons with the quadratic cost, one image
``x = (1, 0.5)`` whose target output is 1 (class 0 of one class)::

    >>> import torch
    >>> W1, b1 = torch.tensor([[0.1, 0.2], [0.3, 0.4]]), torch.tensor([0.0, 0.1])
    >>> W2, b2 = torch.tensor([[0.5, -0.6]]), torch.tensor([0.2])
    >>> cost, grads = backprop([(W1, b1), (W2, b2)], "sigmoid", "mse", torch.tensor([[1.0, 0.5]]),
    ...                        torch.tensor([0]))
    >>> round(float(cost), 4)  # z1 = (0.2, 0.6), a1 = (0.5498, 0.6457), z2 = 0.0875, a2 = 0.5219
    0.1143
    >>> [round(v, 4) for v in grads[1][1].tolist()]  # δ2 = (a2 − 1) · a2 (1 − a2)
    [-0.1193]
    >>> [round(v, 4) for v in grads[0][1].tolist()]  # δ1 = δ2 W2 ⊙ a1 (1 − a1)
    [-0.0148, 0.0164]
    >>> [[round(v, 4) for v in row] for row in grads[0][0].tolist()]  # δ1ᵀ x
    [[-0.0148, -0.0074], [0.0164, 0.0082]]

``--model.engine auto`` picks ``backprop`` wherever it applies (the MLP with ``sgd``, ``gd`` or
``adam`` in float32 or float64: :func:`backprop_problem`) and ``autograd`` elsewhere (the CNN, mixed
precision).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from digitnet.model.replay import Replay, rate_table

EXACT_PRECISIONS = (
    "32-true",
    "32",
    "64-true",
    "64",
)  # where written-out backprop computes as autograd does


def backprop(
    layers: list[tuple[torch.Tensor, torch.Tensor]],
    activation: str,
    loss: str,
    x: torch.Tensor,
    y: torch.Tensor,
) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
    """The cost of one mini-batch and its gradients ``[(∂C/∂W, ∂C/∂b), ...]``, layer by layer.

    ``layers`` holds each layer's ``(W [n_out, n_in], b [n_out])``; ``x`` is ``[B, n_in]`` (or an
    image batch, flattened here); ``y`` the class indices ``[B]``. The cost is the batch mean, as
    :mod:`digitnet.model.networks` defines it; ``activation`` applies between layers, not after the
    last. Each line is one tensor operation: at batch 10, a call costs as many operations as it has.
    """
    sigmoid = activation == "sigmoid"
    inputs, z = _forward(layers, sigmoid, x)
    cost, delta = _output_error(z, y, loss)
    delta.mul_(1.0 / len(y))  # the batch mean
    grads: list[Any] = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        grads[i] = (torch.mm(delta.t(), inputs[i]), delta.sum(0))
        if i > 0:
            delta = _propagate(delta, layers[i][0], inputs[i], sigmoid)
    return cost, grads


def backprop_sgd(
    layers: list[tuple[torch.Tensor, torch.Tensor]],
    activation: str,
    loss: str,
    x: torch.Tensor,
    y: torch.Tensor,
    settings: list[tuple[float, float, float]],
    buffers: list[torch.Tensor | None],
) -> torch.Tensor:
    """One update of ``torch.optim.SGD`` from one mini-batch, with each layer's gradient folded into
    its update (the gradients are never stored): returns the mini-batch's cost.

    ``settings`` holds (lr η, momentum μ, weight decay λ) for each tensor of ``layers`` in order
    (W₁, b₁, W₂, ...), ``buffers`` their momentum buffers, updated in place. With δ the output
    error of :func:`backprop` summed over the batch (not yet divided by B):

    - without momentum, one operation a tensor: ``W ← (1 − ηλ) W − (η/B) δᵀ a_prev``
      (``addmm_``) and ``b ← b − (η/B) δᵀ 1`` (``addmv_``);
    - with momentum: ``v ← μ v + δᵀ a_prev / B (+ λ W)``, then ``W ← W − η v``.

    Each layer's error is passed back through its weights before they change, as BP2 needs.
    """
    sigmoid = activation == "sigmoid"
    inputs, z = _forward(layers, sigmoid, x)
    cost, delta = _output_error(z, y, loss)
    batch = y.shape[0]
    ones = _constant("ones", batch, delta)
    for i in range(len(layers) - 1, -1, -1):
        w, b = layers[i]
        back = _propagate(delta, w, inputs[i], sigmoid) if i > 0 else None
        delta_t = delta.t()
        (w_lr, w_momentum, w_decay), (b_lr, b_momentum, b_decay) = settings[2 * i : 2 * i + 2]
        if w_momentum:
            buffer = buffers[2 * i].addmm_(delta_t, inputs[i], beta=w_momentum, alpha=1.0 / batch)
            w.sub_(buffer.add_(w, alpha=w_decay) if w_decay else buffer, alpha=w_lr)
        else:
            w.addmm_(delta_t, inputs[i], beta=1.0 - w_lr * w_decay, alpha=-w_lr / batch)
        if b_momentum:
            buffer = buffers[2 * i + 1].addmv_(delta_t, ones, beta=b_momentum, alpha=1.0 / batch)
            b.sub_(buffer.add_(b, alpha=b_decay) if b_decay else buffer, alpha=b_lr)
        else:
            b.addmv_(delta_t, ones, beta=1.0 - b_lr * b_decay, alpha=-b_lr / batch)
        delta = back
    return cost


def _forward(
    layers: list[tuple[torch.Tensor, torch.Tensor]], sigmoid: bool, x: torch.Tensor
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Each layer's input ``a_prev`` and the last layer's ``z``."""
    a = x.flatten(1)
    inputs = []
    for i, (w, b) in enumerate(layers):
        inputs.append(a)
        z = torch.addmm(b, a, w.t())
        if i < len(layers) - 1:
            a = torch.sigmoid(z) if sigmoid else torch.relu(z)
    return inputs, z


_CONSTANTS: dict[tuple, torch.Tensor] = {}


def _constant(kind: str, n: int, like: torch.Tensor) -> torch.Tensor:
    """``torch.eye(n)`` (``"eye"``) or ``torch.ones(n)`` (``"ones"``) in ``like``'s dtype and
    device, made once: at batch 10 one tensor operation fewer an update is measurable."""
    key = (kind, n, like.dtype, like.device)
    found = _CONSTANTS.get(key)
    if found is None:
        make = torch.eye if kind == "eye" else torch.ones
        found = _CONSTANTS.setdefault(key, make(n, dtype=like.dtype, device=like.device))
    return found


def _output_error(z: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(BP1) The mean cost and the output error δ of each image, not yet divided by B."""
    target = _constant("eye", z.shape[1], z).index_select(0, y)
    if loss == "cross_entropy":
        return nn.functional.cross_entropy(z, y), torch.softmax(z, dim=1).sub_(target)
    if loss == "mse":
        out = torch.sigmoid(z)
        diff = out.sub(target)
        flat = diff.view(-1)
        cost = torch.dot(flat, flat).mul_(0.5 / y.shape[0])
        return cost, diff.mul_(torch.addcmul(out, out, out, value=-1.0))  # (a − y) ⊙ a(1 − a)
    if loss == "sigmoid_cross_entropy":
        cost = nn.functional.binary_cross_entropy_with_logits(z, target, reduction="sum")
        return cost.mul_(1.0 / len(y)), torch.sigmoid(z).sub_(target)
    raise ValueError(f"backprop has no output error for the cost {loss!r}")


def _propagate(
    delta: torch.Tensor, w: torch.Tensor, a_prev: torch.Tensor, sigmoid: bool
) -> torch.Tensor:
    """(BP2) The error of the layer below, ``(δ W) ⊙ f'(z)``, from that layer's output
    ``a_prev``."""
    back = torch.mm(delta, w)
    if sigmoid:
        return back.mul_(torch.addcmul(a_prev, a_prev, a_prev, value=-1.0))  # σ'(z) = a(1 − a)
    return back.mul_(a_prev > 0)  # relu'(z) = [z > 0] = [a > 0]


@dataclass
class Work:
    """What an engine updates and the parts of the run it updates with, handed over by the
    LightningModule when training starts (``DigitClassifier.on_train_start``): the engine never
    sees the module or the Trainer.

    ``step`` is the step Lightning counts (its optimizer wrapper's ``step``, which calls its
    hooks and steps ``optimizer``); ``backward`` is Lightning's ``manual_backward`` (precision and
    DDP handled there); under several ``processes``, ``reduce`` averages a tensor across them and
    ``no_sync`` switches the strategy's gradient hooks off (both None on one process); ``note``
    prints one line, from the first process only. ``schedule_total`` is the updates the schedule
    spans (0: constant).
    """

    network: nn.Module
    cost: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    optimizer: torch.optim.Optimizer
    step: Callable[[], Any]
    scheduler: Any | None
    backward: Callable[[torch.Tensor], None]
    activation: str
    loss: str
    optimizer_name: str
    precision: str
    note: Callable[[str], None]
    schedule_total: int = 0
    processes: int = 1
    reduce: Callable[[torch.Tensor], torch.Tensor] | None = None
    no_sync: Callable[[], Any] | None = None

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device


class Engine:
    """Makes the updates of one Lightning training step; subclasses say how gradients are found
    and how a step is applied.

    Lightning counts one optimizer step per training step (its ``global_step``), whatever k is;
    the module counts the updates themselves (``DigitClassifier.updates``).
    """

    name = "?"

    def __init__(self, work: Work) -> None:
        self.work = work
        self.replay: Replay | None = None
        self.replayed = 0  # steps a recorded program replayed (kept after stop)

    def gradients(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fill each parameter's ``.grad`` for one mini-batch; return its cost (detached)."""
        raise NotImplementedError

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Apply one update from the gradients, then clear them."""
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def program_gradients(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, dict[torch.Tensor, torch.Tensor]]:
        """One mini-batch's cost and ``{parameter: gradient}``, leaving ``.grad`` alone: what a
        recorded program (:mod:`digitnet.model.replay`) computes."""
        raise NotImplementedError

    def update(self, x: torch.Tensor, y: torch.Tensor, done: int) -> torch.Tensor:
        """k updates from ``x [k, B, ...]``, ``y [k, B]``, after ``done`` updates; returns the k
        mini-batches' costs ``[k]``.

        The first update of the k is Lightning's optimizer step (:attr:`Work.step`), so Lightning
        counts one step and its hooks (``on_before_optimizer_step``) see real gradients; the
        other k - 1 are :meth:`more_updates` (for SGD under written-out backprop, each gradient
        folded into its step: :func:`backprop_sgd`). Lightning's bookkeeping of a step costs as
        much as a whole update of a small network, and paying it once per k updates is most of
        the engine's speed. With a :class:`~digitnet.model.replay.Replay`
        (``--model.cuda_graph``), its program makes all k updates on the device, Lightning's step
        is taken with no gradients left (it changes no weight) and the host's schedule is stepped
        to match.
        """
        work = self.work
        optimizer, scheduler = work.optimizer, work.scheduler
        costs = None
        if self.replay is not None:
            costs = self.replay.update(x, y, done)
            if costs is None:  # recording failed: say why once, go on with the plain loop
                work.note(f"CUDA graph recording failed ({self.replay.failure}); training eagerly.")
                self.replay = None
            else:
                work.step()  # the program made the updates; Lightning counts the step
                for _ in range(len(y) if scheduler is not None else 0):
                    scheduler.step()
        if costs is None:
            first = self.gradients(x[0], y[0])
            work.step()
            optimizer.zero_grad(set_to_none=True)
            if scheduler is not None:
                scheduler.step()
            costs = torch.stack([first, *self.more_updates(x[1:], y[1:], optimizer, scheduler)])
        return costs

    def more_updates(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
    ) -> list[torch.Tensor]:
        """The updates after a step's first, on the torch optimizer; returns their costs."""
        costs = []
        for xb, yb in zip(x, y):
            costs.append(self.gradients(xb, yb))
            self.step(optimizer)
            if scheduler is not None:
                scheduler.step()
        return costs

    def plan_replay(self, setting: str) -> None:
        """Make :attr:`replay` for ``--model.cuda_graph`` ``setting`` (``auto``, ``on``, ``off``).

        ``auto`` records on a CUDA device wherever a program applies; ``on`` also runs the
        program eagerly on a CPU; where one cannot apply (``adam``, mixed precision, several
        processes), ``on`` says why in one line and the plain loop trains.
        """
        work = self.work
        cuda = work.device.type == "cuda"
        if setting == "off" or (setting == "auto" and not cuda):
            return
        reason = replay_problem(work.optimizer_name, work.precision, work.processes)
        if reason is None and not plain_sgd(work.optimizer):
            reason = (
                "the recorded program makes plain SGD updates (no Nesterov, dampening, maximize)"
            )
        if reason:
            if setting == "on":
                work.note(f"no CUDA graph: {reason}; training eagerly.")
            return
        if not cuda:
            work.note("no CUDA device: the program a CUDA graph would record runs eagerly.")
        rates = rate_table(work.optimizer, work.scheduler, work.schedule_total)
        self.replay = Replay(self.program_gradients, work.optimizer, rates, record=cuda)

    def start(self) -> None:
        """Called when training starts (the model is on its device and wrapped by the strategy)."""

    def stop(self) -> None:
        """Called when training ends: a recorded program's memory is let go."""
        if self.replay is not None:
            self.replayed += self.replay.replays
        self.replay = None


class AutogradEngine(Engine):
    """Gradients by autograd, through Lightning's ``manual_backward`` (precision and DDP handled
    there)."""

    name = "autograd"

    def gradients(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        cost = self.work.cost(self.work.network(x), y)
        self.work.backward(cost)
        return cost.detach()

    def program_gradients(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, dict[torch.Tensor, torch.Tensor]]:
        params = [p for p in self.work.network.parameters() if p.requires_grad]
        cost = self.work.cost(self.work.network(x), y)
        return cost.detach(), dict(zip(params, torch.autograd.grad(cost, params)))


class BackpropEngine(Engine):
    """Gradients by the written-out backpropagation of :func:`backprop`, for the MLP.

    Under several processes (DDP) the gradients are averaged across them explicitly, in one
    all-reduce of all of them, before the step; the strategy's own gradient hooks are switched off
    for the run with DDP's ``no_sync``, since no autograd backward ever runs to drive them.
    """

    name = "backprop"

    def __init__(self, work: Work) -> None:
        super().__init__(work)
        self.layers = [
            (m.weight, m.bias) for m in work.network.modules() if isinstance(m, nn.Linear)
        ]
        self.params = [p for pair in self.layers for p in pair]
        self.activation, self.loss = work.activation, work.loss
        self.unsynced = None  # the strategy's no_sync context, while training

    def start(self) -> None:
        if self.work.no_sync is not None:
            self.unsynced = self.work.no_sync()
            self.unsynced.__enter__()

    def stop(self) -> None:
        super().stop()
        if self.unsynced is not None:
            self.unsynced.__exit__(None, None, None)
            self.unsynced = None

    @torch.no_grad()
    def update(self, x: torch.Tensor, y: torch.Tensor, done: int) -> torch.Tensor:
        return super().update(x, y, done)

    def gradients(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        cost, grads = backprop(self.layers, self.activation, self.loss, x, y)
        flat = [g for pair in grads for g in pair]
        if self.work.reduce is not None:
            joined = self.work.reduce(torch.cat([g.reshape(-1) for g in flat]))
            flat = [
                part.view_as(g) for part, g in zip(joined.split([g.numel() for g in flat]), flat)
            ]
        for p, g in zip(self.params, flat):
            p.grad = g
        return cost

    def more_updates(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
    ) -> list[torch.Tensor]:
        """SGD on one process: each update in one call of :func:`backprop_sgd`, its gradients
        folded into the step, on the optimizer's own settings and momentum buffers (so a
        checkpoint resumes with either engine); else (Adam, Nesterov momentum, dampening,
        ``maximize``, an optimizer without every layer, DDP), as every engine does."""
        groups = {p: group for group in optimizer.param_groups for p in group["params"]}
        if not (
            plain_sgd(optimizer)
            and self.work.reduce is None
            and all(p in groups for p in self.params)
        ):
            return super().more_updates(x, y, optimizer, scheduler)
        groups = [groups[p] for p in self.params]
        buffers = []
        for p, group in zip(self.params, groups):
            state = optimizer.state[p]
            if group["momentum"] and state.get("momentum_buffer") is None:
                state["momentum_buffer"] = torch.zeros_like(p)  # v = g at the first update
            buffers.append(state.get("momentum_buffer"))

        def read() -> list[tuple[float, float, float]]:
            return [(float(g["lr"]), g["momentum"], g["weight_decay"]) for g in groups]

        costs, settings = [], read()
        for xb, yb in zip(x, y):
            costs.append(
                backprop_sgd(self.layers, self.activation, self.loss, xb, yb, settings, buffers)
            )
            if scheduler is not None:  # the schedule moves lr between updates
                scheduler.step()
                settings = read()
        return costs

    def program_gradients(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, dict[torch.Tensor, torch.Tensor]]:
        cost, grads = backprop(self.layers, self.activation, self.loss, x, y)  # under no_grad
        return cost, {p: g for p, g in zip(self.params, (g for pair in grads for g in pair))}


def plain_sgd(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer`` is ``torch.optim.SGD`` as :func:`backprop_sgd` and a recorded program
    (:func:`~digitnet.model.replay.sgd_step`) write it out: no Nesterov momentum, no dampening,
    not ``maximize``."""
    return isinstance(optimizer, torch.optim.SGD) and all(
        not g.get("nesterov") and not g.get("dampening") and not g.get("maximize")
        for g in optimizer.param_groups
    )


def replay_problem(optimizer: str, precision: str, world_size: int) -> str | None:
    """Why the updates cannot be replayed as a recorded program, or None.

    >>> replay_problem("adam", "32-true", 1)
    'the recorded program makes SGD and GD updates, not adam'
    """
    if optimizer not in REPLAY_OPTIMIZERS:
        named = " and ".join(name.upper() for name in REPLAY_OPTIMIZERS)
        return f"the recorded program makes {named} updates, not {optimizer}"
    if precision not in EXACT_PRECISIONS:
        return f"the recorded program computes in float32 or float64, not precision {precision}"
    if world_size > 1:
        return "a recorded program runs on one device, not under several processes"
    return None


# The rules of where each way of updating applies, stated once: the written-out backpropagation
# is the MLP's, with every optimizer (SGD's step folded in, Adam's torch's own on its gradients),
# computing exactly as autograd does; a recorded program writes out SGD's step only.
BACKPROP_ARCHS = ("mlp",)
REPLAY_OPTIMIZERS = ("sgd", "gd")


def backprop_problem(arch: str, precision: str) -> str | None:
    """Why written-out backpropagation cannot train this run, or None.

    >>> backprop_problem("cnn", "32-true")
    'the backprop engine is written out for the MLP only'
    >>> backprop_problem("mlp", "64-true") is None
    True
    """
    if arch not in BACKPROP_ARCHS:
        return "the backprop engine is written out for the MLP only"
    if str(precision) not in EXACT_PRECISIONS:
        return f"the backprop engine computes in float32 or float64, not precision {precision}"
    return None


def choose(engine: str, arch: str, precision: str) -> str:
    """The engine a run uses: ``auto`` is ``backprop`` where it applies, else ``autograd``.

    >>> choose("auto", "mlp", "32-true"), choose("auto", "cnn", "32-true")
    ('backprop', 'autograd')
    >>> choose("auto", "mlp", "bf16-mixed")
    'autograd'
    """
    if engine == "auto":
        return "autograd" if backprop_problem(arch, precision) else "backprop"
    return engine


def problem(engine: str, arch: str, precision: str) -> str | None:
    """Why ``engine`` cannot train this run, in one sentence, or None."""
    if str(precision) in ("16-mixed", "16"):  # its loss scaling lives in Lightning's wrapper
        return (
            "precision 16-mixed is not supported (the engines step the optimizer themselves); "
            "use bf16-mixed."
        )
    reason = backprop_problem(arch, precision) if engine == "backprop" else None
    return f"{reason}; use --model.engine autograd." if reason else None


def make(engine: str, work: Work) -> Engine:
    return BackpropEngine(work) if engine == "backprop" else AutogradEngine(work)
