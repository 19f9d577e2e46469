"""Provides :func:`export`: a trained network as a file that runs without digitnet.

The exported program takes what torchvision's ``ToTensor`` gives, float pixels in 0..1 shaped
``[N, 1, 28, 28]`` (white digit on black, as MNIST), and returns the 10 class probabilities
``[N, 10]`` that ``digitnet predict`` shows; the data set's normalisation is inside it. Two forms:

- ``.pt2``: :func:`torch.export.export`'s ExportedProgram, any batch size::

      program = torch.export.load("checkpoints/my-run/last.pt2")
      probabilities = program.module()(pixels)

- ``.onnx``: through :meth:`lightning.LightningModule.to_onnx` (needs the ``onnx`` extra:
  ``pip install 'digitnet[onnx]'``), for onnxruntime and other ONNX runtimes.

Both are written through :func:`digitnet.atomic.atomic_file`: a failed export never leaves half a
file.
"""

from __future__ import annotations

import io
from pathlib import Path

import lightning as L
import torch
from torch import nn

from digitnet.atomic import TMP_SUFFIX, atomic_file
from digitnet.errors import BadSetting
from digitnet.model.networks import probabilities

FORMATS = ("pt2", "onnx")


class Probabilities(L.LightningModule):
    """A classifier's network with its pixel scaling before and its probabilities after: 0..1 -> [N,
    10].

    A LightningModule only so that its own ``to_onnx`` writes the ONNX form.
    """

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.network, self.loss = classifier.network, classifier.hparams.loss
        dtype = classifier.pixel_mean.dtype
        # in 0..1 units
        self.register_buffer("mean", classifier.pixel_mean.detach().clone() / 255.0)
        self.register_buffer("scale", classifier.pixel_scale.detach().clone() * 255.0)
        self.pixel_dtype = dtype

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return probabilities(
            self.network((pixels.to(self.pixel_dtype) - self.mean) * self.scale), self.loss
        )


def example_input(batch: int = 2) -> torch.Tensor:
    return torch.rand(batch, 1, 28, 28)


def export(classifier: nn.Module, out: Path, fmt: str) -> Path:
    """Write ``classifier`` (a :class:`~digitnet.model.classifier.DigitClassifier`) to ``out`` as
    ``fmt``."""
    if fmt not in FORMATS:
        raise BadSetting(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
    wrapped = Probabilities(classifier.cpu().eval()).eval()
    if fmt == "pt2":
        batch = torch.export.Dim("batch", min=1)
        program = torch.export.export(
            wrapped, (example_input(),), dynamic_shapes={"pixels": {0: batch}}
        )
        buffer = io.BytesIO()  # in memory first: torch's zip writer aborts on a full disk
        torch.export.save(program, buffer)
    else:
        buffer = _onnx(wrapped)
    write_out(out, buffer.getvalue())
    return out


def write_out(out: Path, data: bytes) -> None:
    """Write the exported file atomically; a failure is one sentence, and what a killed export
    left of ``out`` before (``.out.<random>.tmp``) is removed first."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        for stale in out.parent.glob(f".{out.name}.*{TMP_SUFFIX}"):
            stale.unlink(missing_ok=True)
        with atomic_file(out) as handle:
            handle.write(data)
    except OSError as error:
        raise BadSetting(
            f"could not write {out} ({error.strerror or error}); free some space or give "
            "--out a file in a folder you can write."
        ) from None


def _onnx(wrapped: Probabilities) -> io.BytesIO:
    try:
        # to_onnx needs onnx and onnxscript: say so in one sentence, not a traceback
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        raise BadSetting(
            "ONNX export needs the onnx and onnxscript packages; "
            "install them with pip install 'digitnet[onnx]'."
        ) from None
    buffer = io.BytesIO()
    wrapped.to_onnx(
        buffer,
        example_input(),
        dynamo=True,
        verbose=False,
        input_names=["pixels"],
        output_names=["probabilities"],
        dynamic_shapes={"pixels": {0: torch.export.Dim("batch", min=1)}},
    )
    return buffer
