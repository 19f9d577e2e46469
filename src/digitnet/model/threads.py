"""Provides :func:`cpu_threads`, how many CPU threads a training run is given.

Below about 20 MFLOP an update, splitting each tensor operation across threads costs more than it
gives, so a small network trains on one thread:

    >>> cpu_threads(flops_per_update=1.4e6, available=8)  # 784-30-10 at batch 10
    1
    >>> cpu_threads(flops_per_update=257e6, available=8)  # 784-512-512-10 at batch 64
    8

``digitnet fit`` applies it (see ``DigitCLI.before_fit``); from Python, call
``torch.set_num_threads(cpu_threads(model.flops_per_update(batch), torch.get_num_threads()))``.
"""

from __future__ import annotations

SMALL_UPDATE_FLOPS = 20e6


def cpu_threads(flops_per_update: float, available: int) -> int:
    """One thread for an update under :data:`SMALL_UPDATE_FLOPS`, else all ``available``."""
    return 1 if flops_per_update < SMALL_UPDATE_FLOPS else max(1, available)
