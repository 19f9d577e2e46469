"""digitnet: neural networks on MNIST and FashionMNIST with PyTorch Lightning, watched in the
terminal.

The public names load lazily, so ``import digitnet`` (and ``digitnet --help``) stays fast and does
not import torch until a model or data module is used::

    from digitnet import DigitClassifier, DigitDataModule, RunRecorder, run_folder, train
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "DigitClassifier": "digitnet.model.classifier",
    "DigitDataModule": "digitnet.data.module",
    "RunRecorder": "digitnet.record.recorder",
    "run_folder": "digitnet.record.folder",
    "train": "digitnet.training.api",
    "Result": "digitnet.training.steps",
    "DigitnetError": "digitnet.errors",
}


def __getattr__(name: str) -> object:  # no typing import: `digitnet --help` stays fast
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'digitnet' has no attribute {name!r}")


__all__ = list(_LAZY)
