"""Provides :class:`SystemSampler`: what a training process uses of the machine, at most once a
second.

Each sample is one ``system`` event of ``events.jsonl`` (see :mod:`digitnet.runs.layout`)::

    {"event": "system", "t": 12.0, "step": 3120, "cpu_percent": 187.5, "rss_mb": 1210.4,
     "gpu_mem_mb": 812.0, "gpu_util": 43}

``cpu_percent`` is the process's CPU time over the wall time since the last sample, in percent
of one core (200 is two cores busy), as ``psutil`` counts it; ``rss_mb`` its resident memory in
MiB. On a CUDA device, ``gpu_mem_mb`` is the memory PyTorch's allocator holds there and
``gpu_util`` the percent of time the device was busy (NVML, through ``torch.cuda.utilization``;
left out where NVML is not installed). ``t`` counts seconds from the start of training.

A sample costs tens of microseconds (see ``make bench``), and :meth:`SystemSampler.due` one clock
read, so sampling at every training step's end costs training nothing measurable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

SECONDS = 1.0  # at most one sample a second


class SystemSampler:
    """Samples this process (and ``device``, if it is a CUDA device) when :meth:`due`.

    >>> sampler = SystemSampler(clock=iter([0.0, 0.5, 1.2, 1.3]).__next__)
    >>> sampler.due()  # 0.5 s after the start: not yet
    False
    >>> sorted(sampler.sample())  # at 1.2 s
    ['cpu_percent', 'rss_mb', 't']
    >>> sampler.due()  # 0.1 s after that sample
    False
    """

    def __init__(
        self,
        device: Any = None,
        every: float = SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import psutil

        self.process = psutil.Process()
        self.process.cpu_percent(None)  # the first call starts the interval the next one measures
        self.every, self.clock = every, clock
        self.cuda = getattr(device, "type", None) == "cuda"
        self.device = device
        self.started = self.last = clock()
        self.nvml = True  # until torch.cuda.utilization says NVML is missing

    def due(self) -> bool:
        return self.clock() - self.last >= self.every

    def sample(self) -> dict[str, float]:
        """The figures now (see the module docstring)."""
        now = self.clock()
        self.last = now
        with self.process.oneshot():
            cpu = self.process.cpu_percent(None)
            rss = self.process.memory_info().rss
        fields: dict[str, float] = {
            "t": round(now - self.started, 2),
            "cpu_percent": round(cpu, 1),
            "rss_mb": round(rss / 2**20, 1),
        }
        if self.cuda:
            import torch

            fields["gpu_mem_mb"] = round(torch.cuda.memory_reserved(self.device) / 2**20, 1)
            if self.nvml:
                try:
                    fields["gpu_util"] = float(torch.cuda.utilization(self.device))
                except Exception:  # no NVML (nvidia-ml-py) here: memory alone
                    self.nvml = False
        return fields
