"""Tiny generated data sets in real IDX files: class k is a bright 6x6 block at a spot of its own,
plus noise.

The training file holds 10,600 images, so the default validation split of 10,000 still leaves 600 to
train on (runs launched from the dashboard use the defaults); most tests pass --data.val_size 100.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: 0x0000, type 0x08, ndim, then each size big-endian."""
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        r = (k // 5) * 12 + 4 + rng.integers(-1, 2)
        c = (k % 5) * 5 + 1 + rng.integers(-1, 2)
        images[i, r : r + 6, c : c + 6] = 230
    return images, labels


def write_tiny(root: Path, n_train: int = 10_600, n_test: int = 200) -> Path:
    """Write tiny MNIST and FashionMNIST folders under ``root`` and return the checksum JSON
    path."""
    table = {}
    for dataset, folder in FOLDERS.items():
        raw = root / folder / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        table[dataset] = {}
        for split, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
            images, labels = digits(n, seed)
            for name, array in zip(FILES[split], (images, labels)):
                data = idx_bytes(array)
                (raw / name).write_bytes(data)
                table[dataset][name] = hashlib.sha256(data).hexdigest()
    checksums = root / "checksums.json"
    checksums.write_text(json.dumps(table))
    return checksums
