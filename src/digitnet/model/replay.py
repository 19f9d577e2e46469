"""Provides :class:`Replay`: the k updates of one training step as a fixed program, recorded once
as a CUDA graph and replayed.

A batch-64 update of the slides' MLP is tens of microseconds of GPU work and over a millisecond of
Python, autograd and framework bookkeeping to launch it. A CUDA graph records the launches once and
replays them in one call. A graph replays exactly what it recorded, so the program reads nothing
that changes between steps except its own buffers:

- ``x [k, B, ...]`` and ``y [k, B]``, into which each step's mini-batches are copied (they are
  sliced from the data set resident on the device, see :mod:`digitnet.data.loader`);
- ``t``, the number of updates made before this step, a device scalar filled before each replay;
- the learning rate of every update, looked up in a table ``rates [groups, T + 1]`` at ``t + i``
  (the schedule, computed once on the host from the optimizer's own schedule, so the cosine decay
  never forces a new recording);
- the weights and the momentum buffers of the optimizer, updated in place.

The program's SGD step is :func:`sgd_step`, the one the written-out engine makes, with the
learning rate as a tensor. Without CUDA the same program runs eagerly (``--model.cuda_graph on`` on
a CPU), which is how the tests check it against the plain loop: a recorded graph can only replay
what the eager program computed.

Each shape of step (the last step of an epoch is often shorter) gets its own program. Its first
``WARMUP`` steps run eagerly on a side stream (they are real updates, counted as any other: CUDA
graphs ask for a warm-up so that libraries allocate their workspaces outside the recording); the
next one records the graph and every later one replays it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

WARMUP = 2  # eager steps of a shape before it is recorded


def sgd_step(
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    buffers: Sequence[torch.Tensor | None],
    lr: float | torch.Tensor,
    momentum: float,
    decay: float,
) -> list[torch.Tensor | None]:
    """``torch.optim.SGD``'s update, written out, on one parameter group; returns the momentum
    buffers (new ones where a buffer was ``None``).

    With weight decay λ, momentum μ and learning rate η: ``g ← g + λ w``; ``v ← g`` on the first
    step, ``v ← μ v + g`` after; ``w ← w − η v``. A buffer of zeros gives the first step's ``v = g``
    too, which is how a recorded program starts. ``lr`` is a float or a one-element tensor
    (``[1]``), read on the device.

    >>> w, v = torch.tensor([1.0, 2.0]), torch.zeros(2)
    >>> _ = sgd_step([w], [torch.tensor([0.5, -1.0])], [v], torch.tensor([0.1]), 0.9, 0.0)
    >>> w.tolist(), v.tolist()
    ([0.949999988079071, 2.0999999046325684], [0.5, -1.0])
    """
    out: list[torch.Tensor | None] = []
    for p, g, buffer in zip(params, grads, buffers):
        if decay:
            g = g.add(p, alpha=decay)
        if momentum:
            if buffer is None:
                buffer = g.clone()
            else:
                buffer.mul_(momentum).add_(g)
            g = buffer
        if isinstance(lr, torch.Tensor):
            p.addcmul_(g, lr, value=-1.0)
        else:
            p.add_(g, alpha=-lr)
        out.append(buffer)
    return out


def rate_table(
    optimizer: torch.optim.Optimizer, scheduler: object | None, total: int
) -> torch.Tensor:
    """The learning rate of each group at each update count ``0..total``: ``[groups, total + 1]``.

    ``scheduler`` is None (constant rates: one column) or a ``LambdaLR``, whose public
    ``base_lrs`` and ``lr_lambdas`` give its rates; past ``total`` a program keeps the last one.

    >>> w = torch.zeros(1, requires_grad=True)
    >>> sgd = torch.optim.SGD([w], lr=0.5)
    >>> halve = torch.optim.lr_scheduler.LambdaLR(sgd, lambda t: 0.5**t)
    >>> rate_table(sgd, halve, 2).tolist()
    [[0.5, 0.25, 0.125]]
    """
    groups = optimizer.param_groups
    param = groups[0]["params"][0]
    if scheduler is None:
        rows = [[float(group["lr"])] for group in groups]
    else:
        pairs = zip(scheduler.base_lrs, scheduler.lr_lambdas)
        rows = [[base * rule(t) for t in range(total + 1)] for base, rule in pairs]
    return torch.tensor(rows, dtype=param.dtype, device=param.device)


class Program:
    """k updates of one shape, reading only buffers (see the module docstring).

    ``gradients(x, y)`` returns one mini-batch's cost and a gradient for each parameter (a dict
    keyed by the parameter); the engine supplies it.
    """

    def __init__(
        self,
        gradients: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict]],
        optimizer: torch.optim.Optimizer,
        rates: torch.Tensor,
        x: torch.Tensor,
        y: torch.Tensor,
    ) -> None:
        self.gradients, self.optimizer, self.rates = gradients, optimizer, rates
        self.x, self.y = torch.empty_like(x), torch.empty_like(y)
        self.t = torch.zeros((), dtype=torch.long, device=x.device)
        self.costs = torch.empty(len(x), dtype=rates.dtype, device=x.device)
        for group in optimizer.param_groups:  # every buffer exists before a recording
            if group["momentum"]:
                for p in group["params"]:
                    state = optimizer.state[p]
                    if state.get("momentum_buffer") is None:
                        state["momentum_buffer"] = torch.zeros_like(p)

    def fill(self, x: torch.Tensor, y: torch.Tensor, updates: int) -> None:
        """Copy one step's mini-batches and the update count in (no host synchronization)."""
        self.x.copy_(x)
        self.y.copy_(y)
        self.t.fill_(updates)

    def run(self) -> None:
        """The k updates; their costs land in ``self.costs``."""
        last = self.rates.shape[1] - 1
        for i in range(len(self.x)):
            cost, grads = self.gradients(self.x[i], self.y[i])
            with torch.no_grad():
                self.costs[i].copy_(cost)
                at = (self.t + i).clamp(max=last).view(1)
                for row, group in enumerate(self.optimizer.param_groups):
                    params, state = group["params"], self.optimizer.state
                    sgd_step(
                        params,
                        [grads[p] for p in params],
                        [state[p].get("momentum_buffer") for p in params],
                        self.rates[row].index_select(0, at),
                        group["momentum"],
                        group["weight_decay"],
                    )


class Replay:
    """Runs each step's updates through a :class:`Program` per shape: recorded as a CUDA graph on a
    CUDA device (``record``), eagerly elsewhere.

    If recording fails, :attr:`failure` says why in one line and :meth:`update` returns None from
    then on (the engine goes on with its plain loop).
    """

    def __init__(
        self,
        gradients: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict]],
        optimizer: torch.optim.Optimizer,
        rates: torch.Tensor,
        record: bool,
    ) -> None:
        self.gradients, self.optimizer, self.rates = gradients, optimizer, rates
        self.record = record
        self.programs: dict[tuple, list] = {}  # shape -> [program, steps run, graph or None]
        self.pool = None
        self.failure: str | None = None
        self.replays = 0  # steps replayed from a recorded graph

    def update(self, x: torch.Tensor, y: torch.Tensor, updates: int) -> torch.Tensor | None:
        """The k updates of ``x [k, B, ...]``, ``y [k, B]`` after ``updates`` updates; their costs
        ``[k]`` (valid until the next call), or None once recording has failed."""
        if self.failure is not None:
            return None
        key = (tuple(x.shape), x.dtype, tuple(y.shape))
        entry = self.programs.get(key)
        if entry is None:
            entry = self.programs[key] = [
                Program(self.gradients, self.optimizer, self.rates, x, y),
                0,
                None,
            ]
        program, runs, graph = entry
        program.fill(x, y, updates)
        if graph is not None:
            graph.replay()
            self.replays += 1
        elif not self.record:
            program.run()
        elif runs < WARMUP:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                program.run()
            torch.cuda.current_stream().wait_stream(side)
            entry[1] = runs + 1
        else:
            graph = self._capture(program)
            if graph is None:
                return None
            entry[2] = graph
            graph.replay()
            self.replays += 1
        return program.costs

    def _capture(self, program: Program) -> torch.cuda.CUDAGraph | None:
        graph = torch.cuda.CUDAGraph()
        try:
            if self.pool is None:
                self.pool = torch.cuda.graph_pool_handle()
            with torch.cuda.graph(graph, pool=self.pool):
                program.run()
        except Exception as error:  # any failure: train on eagerly, and say why
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            self.failure = f"{type(error).__name__}: {first}"[:300]
            self.programs.clear()
            return None
        return graph
