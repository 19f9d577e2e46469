"""Provides image classification with a saved run: any image becomes a centred 28x28 MNIST-style
digit.

MNIST digits are white on black, fitted into a 20x20 box and centred by their centre of mass in a
28x28 frame. A photo of ink on paper is the other way round, so ``background="white"`` inverts it
(``"auto"`` inverts when the image's border is brighter than mid-grey). A 28x28 image is used as
it is, apart from that inversion.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from digitnet.data.catalog import CATALOG
from digitnet.errors import BadSetting
from digitnet.model.checkpoints import load_checkpoint, model_from_checkpoint

MAX_SIDE = 1024  # larger images are decoded at a reduced size (JPEG) and shrunk to this first


class NoDigit(BadSetting):
    """An image with no ink in it: nothing to classify."""


def to_mnist(image: Image.Image, background: str = "auto") -> torch.Tensor:
    """A uint8 tensor ``[28, 28]``, white digit on black, from any PIL image.

    Raises :class:`NoDigit` for an image with no ink (blank, one colour, or too small to hold one).
    """
    if max(image.size) > MAX_SIDE:
        # JPEG decodes at 1/2, 1/4 or 1/8 of its size: no huge buffer
        image.draft("L", (MAX_SIDE, MAX_SIDE))
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    gray = torch.from_numpy(np.array(image.convert("L"), dtype=np.uint8))
    if min(gray.shape) < 2 or int(gray.max()) - int(gray.min()) < 16:
        raise NoDigit(
            "no digit found: the image is blank (one shade, or too small to hold a digit)."
        )
    if background == "auto":
        border = torch.cat([gray[0], gray[-1], gray[:, 0], gray[:, -1]]).float().mean()
        background = "white" if border > 127 else "black"
    if background == "white":
        gray = 255 - gray
    if tuple(gray.shape) == (28, 28):
        return gray
    return center_digit(gray)


def center_digit(gray: torch.Tensor) -> torch.Tensor:
    """A uint8 ``[28, 28]`` frame holding the ink of ``gray`` (white on black, any size) as MNIST
    holds its digits: fitted into a 20x20 box and centred by its centre of mass.

    >>> stroke = torch.zeros(28, 28, dtype=torch.uint8)
    >>> stroke[2:12, 3] = 255  # a short bar drawn in a corner
    >>> framed = center_digit(stroke)
    >>> framed.shape, (framed > 0).nonzero().float().mean(0).round().tolist()
    (torch.Size([28, 28]), [14.0, 14.0])
    """
    ink = (gray > 32).nonzero()
    if len(ink) == 0:
        raise NoDigit("no digit found: nothing in the image stands out from its background.")
    top, left = ink.min(0).values.tolist()
    bottom, right = (ink.max(0).values + 1).tolist()
    crop = Image.fromarray(gray[top:bottom, left:right].numpy())
    scale = 20 / max(crop.width, crop.height)
    crop = crop.resize(
        (max(1, round(crop.width * scale)), max(1, round(crop.height * scale))), Image.LANCZOS
    )
    digit = torch.from_numpy(np.array(crop, dtype=np.float32))
    total = digit.sum().clamp_min(1e-6)
    cy = (digit.sum(1) * torch.arange(crop.height)).sum() / total
    cx = (digit.sum(0) * torch.arange(crop.width)).sum() / total
    top, left = int(round(14 - float(cy))), int(round(14 - float(cx)))
    top, left = min(max(top, 0), 28 - crop.height), min(max(left, 0), 28 - crop.width)
    frame = torch.zeros(28, 28, dtype=torch.uint8)
    frame[top : top + crop.height, left : left + crop.width] = (
        digit.round().clamp(0, 255).to(torch.uint8)
    )
    return frame


def read_image(name: str, background: str = "auto") -> torch.Tensor:
    """An image file as MNIST's 28x28 pixels (:func:`to_mnist`), or one sentence naming what is
    wrong with the file."""
    path = Path(name)
    if path.is_dir():
        raise BadSetting(f"{name} is a directory; give image files, such as {name}/*.png.")
    if not path.exists():
        raise BadSetting(f"image {name} does not exist.")
    if not path.is_file():  # a FIFO or device would block or never end
        raise BadSetting(f"{name} is not a regular file; give an image file.")
    try:
        # Pillow only warns from 89 to 179 million pixels: refuse those too
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(name) as image:
                pixels = to_mnist(image, background)
    except NoDigit as error:
        raise NoDigit(f"{name}: {error}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadSetting(
            f"{name} is too large to decode safely (a decompression bomb?); "
            "shrink it below 89 million pixels."
        ) from None
    except (UnidentifiedImageError, OSError) as error:
        raise BadSetting(f"{name} is not a readable image ({error}).") from None
    return pixels


def predict_files(checkpoint_path: Path, files: list[str], background: str = "auto"):
    """Yield (file name, class names, 10 probabilities) for each image file."""
    from digitnet.model.classifier import DigitClassifier

    model = model_from_checkpoint(
        load_checkpoint(checkpoint_path), str(checkpoint_path), DigitClassifier
    )
    model.eval()
    classes = CATALOG[model.hparams.dataset].classes
    for name in files:
        pixels = read_image(name, background)
        with torch.no_grad():
            probs = model.predict_step(model.scale(pixels.reshape(1, 1, 28, 28)), 0)[0]
        yield name, classes, probs.tolist()


def serve(checkpoint_path: Path, requests: Iterable[str | bytes], answers: IO[str]) -> None:
    """Classify drawings, one JSON line in, one JSON line out, until ``requests`` ends: the helper
    process of the dashboard's Draw tab (``digitnet predict --serve --ckpt_path RUN``).

    The first line out is ``{"ready": true, "classes": [...], "checkpoint": "best.ckpt"}``. Each
    request ``{"id": 7, "pixels": [784 numbers 0..255, white ink on black, row by row]}`` is
    answered ``{"id": 7, "probabilities": [10 numbers], "inked": 97, "hidden": [[...], ...],
    "scores": [10 numbers]}`` (the pixels with ink, and for an MLP :func:`forward_pass`), the
    drawing first centred as MNIST's digits are (:func:`center_digit`); a drawing with no ink is
    answered ``{"id": 7, "empty": true}`` and a malformed line (not JSON, not UTF-8, nested past
    Python's limit, the wrong pixels) ``{"id": ..., "error": "..."}``, after which the next line
    is read. The checkpoint is loaded with ``weights_only=True``.
    """
    from digitnet.model.classifier import DigitClassifier

    model = model_from_checkpoint(
        load_checkpoint(checkpoint_path), str(checkpoint_path), DigitClassifier
    )
    model.eval()
    torch.set_num_threads(1)  # one image at a time: threads cost more than they give
    classes = list(CATALOG[model.hparams.dataset].classes)
    _answer(answers, ready=True, classes=classes, checkpoint=Path(checkpoint_path).name)
    for line in requests:
        request: Any = None
        try:
            if isinstance(line, bytes):  # stdin's bytes: a line that is not UTF-8 is one bad line
                line = line.decode("utf-8")
            request = json.loads(line)
            pixels = request["pixels"]
            if not (
                isinstance(pixels, list)
                and len(pixels) == 784
                and all(isinstance(v, (int, float)) and 0 <= v <= 255 for v in pixels)
            ):
                raise ValueError("pixels must be 784 numbers from 0 to 255")
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            ident = request.get("id") if isinstance(request, dict) else None
            if not isinstance(ident, (int, str)) or isinstance(ident, bool):
                ident = None
            reason = "nested too deeply" if isinstance(error, RecursionError) else error
            _answer(answers, id=ident, error=f"a malformed request ({str(reason)[:200]})")
            continue
        gray = torch.tensor(pixels, dtype=torch.float32).round().to(torch.uint8).reshape(28, 28)
        try:
            frame = center_digit(gray)
        except NoDigit:
            _answer(answers, id=request.get("id"), empty=True)
            continue
        with torch.no_grad():
            x = model.scale(frame.reshape(1, 1, 28, 28))
            probs = model.predict_step(x, 0)[0]
            passed = forward_pass(model.network, x)
        _answer(
            answers,
            id=request.get("id"),
            probabilities=[round(p, 6) for p in probs.tolist()],
            inked=int((frame > 0).sum()),
            activation=model.hparams.activation,
            **passed,
        )


def forward_pass(network: torch.nn.Module, x: torch.Tensor) -> dict[str, list]:
    """One image's way through an MLP, for the Draw tab's forward strip: ``hidden``, each hidden
    layer's activations ``a = σ(z)``, and ``scores``, the output layer's ``z``; empty for a
    network that is not a stack of layers (the CNN).

    >>> from digitnet.model.networks import MLP
    >>> net = MLP([784, 3, 10])
    >>> passed = forward_pass(net, torch.zeros(1, 1, 28, 28))
    >>> [len(a) for a in passed["hidden"]], len(passed["scores"])
    ([3], 10)
    """
    stack = getattr(network, "stack", None)
    if not isinstance(stack, torch.nn.Sequential):
        return {}
    hidden, a = [], x.flatten(1)
    for module in stack:
        a = module(a)
        if not isinstance(module, torch.nn.Linear):  # an activation: a layer's output
            hidden.append([round(v, 4) for v in a[0].tolist()])
    return {"hidden": hidden, "scores": [round(v, 4) for v in a[0].tolist()]}


def _answer(answers: IO[str], **fields: Any) -> None:
    answers.write(json.dumps(fields) + "\n")
    answers.flush()
