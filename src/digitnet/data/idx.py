"""Provides the reader for IDX files, the format MNIST and FashionMNIST ship in.

An IDX file is a big-endian header followed by raw values::

    bytes 0-1   zero
    byte  2     type code (0x08 = unsigned byte)
    byte  3     number of dimensions, n
    4*n bytes   each dimension's size, big-endian 32-bit
    the rest    prod(sizes) values, row-major

so ``train-images-idx3-ubyte`` starts ``00 00 08 03 | 00 00 ea 60 | 00 00 00 1c | 00 00 00 1c``:
60,000 images of 28 x 28 bytes, 47,040,016 bytes in all. Every check raises :class:`DataError`
naming the file (never ``assert``, which ``python -O`` would strip).
"""

from __future__ import annotations

import struct

import torch

from digitnet.errors import DataError

UBYTE = 0x08


def parse_idx(raw: bytes, name: str = "<bytes>", ndim: int | None = None) -> torch.Tensor:
    """Decode IDX ``raw`` bytes into a uint8 tensor of the header's shape.

    ``ndim`` (3 for images, 1 for labels) is checked when given. ``name`` appears in errors.
    """
    if len(raw) < 4:
        raise DataError(
            f"{name} is truncated: {len(raw)} bytes is too short for an IDX header; delete it and "
            "fetch again."
        )
    zero, dtype, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != UBYTE or dims == 0:
        raise DataError(
            f"{name} is not an unsigned-byte IDX file (magic number 0x{raw[:4].hex()}); "
            "delete it and run 'digitnet data fetch'."
        )
    if ndim is not None and dims != ndim:
        raise DataError(
            f"{name} has {dims} dimensions where {ndim} were expected; it is the wrong file."
        )
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(
            f"{name} is truncated inside its header; delete it and run 'digitnet data fetch'."
        )
    shape = struct.unpack(f">{dims}I", raw[4:header])
    count = 1
    for size in shape:
        count *= size
    body = len(raw) - header
    if body < count:
        raise DataError(
            f"{name} is truncated: the header promises {count} bytes of data, the file has {body}; "
            "delete it and run 'digitnet data fetch'."
        )
    if body > count:
        raise DataError(
            f"{name} has {body - count} trailing bytes after the {count} its header promises; "
            "delete it and run 'digitnet data fetch'."
        )
    if count == 0:
        return torch.zeros(shape, dtype=torch.uint8)
    return torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8).reshape(shape)


def check_pair(images: torch.Tensor, labels: torch.Tensor, name: str, classes: int = 10) -> None:
    """Check that images (N, 28, 28) and labels (N,) match in count and labels lie in
    0..classes-1."""
    if images.ndim != 3 or tuple(images.shape[1:]) != (28, 28):
        raise DataError(f"{name}: images must be 28x28, got shape {tuple(images.shape)}.")
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{name}: {images.shape[0]} images but {labels.shape[0]} labels; the files do not "
            "belong together."
        )
    if labels.numel() and int(labels.max()) >= classes:
        raise DataError(f"{name}: label {int(labels.max())} is out of range 0-{classes - 1}.")
